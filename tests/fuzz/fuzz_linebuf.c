/*
 * fuzz_linebuf.c - libFuzzer target for linebuf.c.
 *
 * Input: 2 bytes of max_line (0..1023), 8 bytes seeding the segmentation,
 * then the stream.  The stream is fed to one linebuf in chunks whose sizes
 * come from the seed, and to another one byte at a time.  Both must give
 * exactly the events of a simple model of the stream: each line, LF
 * removed and one CR right before it removed, as LB_LINE if it is at most
 * max_line bytes, else one LB_TOOLONG.  Every LB_LINE must be at most
 * max_line bytes and hold no LF; it ends in CR only if the raw line ended
 * in CR CR LF.  linebuf_space() must always offer room once the lines
 * are taken.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct ev {
	int		 type;
	size_t		 off;	/* LB_LINE: content offset in the stream */
	size_t		 len;
};

struct evs {
	struct ev	*v;
	size_t		 n, cap;
};

static void
add(struct evs *e, int type, size_t off, size_t len)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		if ((e->v = realloc(e->v, e->cap * sizeof *e->v)) == NULL)
			abort();
	}
	e->v[e->n].type = type;
	e->v[e->n].off = off;
	e->v[e->n].len = len;
	e->n++;
}

/*
 * Model events; *maybe is set when the last, unterminated line is exactly
 * max+1 bytes not ending in CR: already too long, and the implementation
 * may report it now or when the next byte comes.
 */
static void
model(const uint8_t *s, size_t len, size_t max, struct evs *e, int *maybe)
{
	size_t i = 0, j, n;

	*maybe = 0;
	while (i < len) {
		for (j = i; j < len && s[j] != '\n'; j++)
			;
		if (j == len) {
			n = len - i;
			if (n >= max + 2)
				add(e, LB_TOOLONG, 0, 0);
			else if (n == max + 1 && s[len - 1] != '\r')
				*maybe = 1;
			return;
		}
		n = j - i;
		if (n > 0 && s[j - 1] == '\r')
			n--;
		if (n > max)
			add(e, LB_TOOLONG, 0, 0);
		else
			add(e, LB_LINE, i, n);
		i = j + 1;
	}
}

static uint64_t
next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Feed the stream; record events, checking each line against the model. */
static void
feed(const uint8_t *s, size_t len, size_t max, uint64_t seed, int bytewise,
    const struct evs *want, int maybe)
{
	struct linebuf lb;
	const char *line;
	size_t off = 0, avail, take, len2, got = 0;
	char *p;
	int r;

	linebuf_init(&lb, max);
	while (off < len) {
		p = linebuf_space(&lb, &avail);
		if (p == NULL || avail == 0)
			abort();	/* no room after taking the lines */
		if (bytewise)
			take = 1;
		else {
			switch (next(&seed) % 4) {
			case 0:
				take = 1 + next(&seed) % 3;
				break;
			case 1:
				take = 1 + next(&seed) % (max + 3);
				break;
			default:
				take = avail;
			}
		}
		if (take > avail)
			take = avail;
		if (take > len - off)
			take = len - off;
		memcpy(p, s + off, take);
		linebuf_commit(&lb, take);
		off += take;
		while ((r = linebuf_next(&lb, &line, &len2)) != LB_NONE) {
			if (r == LB_LINE) {
				if (len2 > max)
					abort();	/* over max_line */
				if (memchr(line, '\n', len2) != NULL)
					abort();	/* LF inside */
			} else if (r != LB_TOOLONG)
				abort();
			if (got == want->n) {
				/* only the one allowed early TOOLONG */
				if (!(maybe && r == LB_TOOLONG))
					abort();
				got++;
				continue;
			}
			if (got > want->n || want->v[got].type != r)
				abort();
			if (r == LB_LINE) {
				const struct ev *w = &want->v[got];

				if (len2 != w->len ||
				    memcmp(line, s + w->off, len2) != 0)
					abort();
				/* a trailing CR only from CR CR LF */
				if (len2 > 0 && line[len2 - 1] == '\r' &&
				    !(w->off + len2 + 1 < len &&
				    s[w->off + len2] == '\r' &&
				    s[w->off + len2 + 1] == '\n'))
					abort();
			}
			got++;
		}
	}
	if (got != want->n && !(maybe && got == want->n + 1))
		abort();	/* events missing */
	p = linebuf_space(&lb, &avail);
	if (avail == 0)
		abort();
	linebuf_free(&lb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evs want = { NULL, 0, 0 };
	size_t max;
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	int maybe;

	if (size < 10)
		return 0;
	max = ((size_t)data[0] << 8 | data[1]) % 1024;
	/* mostly small limits, so the fuzzer meets them often */
	if (data[0] & 0x80)
		max %= 16;
	memcpy(&seed, data + 2, 8);
	seed |= 1;
	data += 10;
	size -= 10;

	model(data, size, max, &want, &maybe);
	feed(data, size, max, seed, 0, &want, maybe);
	feed(data, size, max, seed, 1, &want, maybe);
	free(want.v);
	return 0;
}
