/*
 * fuzz_telnet.c - libFuzzer target for telnet.c.
 *
 * The first byte of the input chooses where the rest is cut into reads;
 * the rest is a byte stream.  telnet_filter() must give the same text
 * whatever the cuts (whole, at the chosen points, a byte at a time), never
 * more bytes than it was given, and agree with a model written here from
 * the rules: a reference decoder that sees the whole stream at once.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The text of a whole stream, by the rules of telnet.c's comment. */
static size_t
model(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t	i = 0, o = 0;
	int	cr = 0, sb = 0;
	uint8_t	b;

	while (i < len) {
		b = in[i++];
		if (sb) {		/* inside IAC SB ... */
			if (b != 0xFF)
				continue;
			if (i == len)
				break;
			if ((b = in[i++]) == 0xFF)
				continue;	/* IAC IAC: data of the SB */
			sb = 0;		/* IAC x ends it, x a command */
			goto command;
		}
		if (b != 0xFF) {
			if (b == 0 && cr)
				b = '\n';
			cr = b == '\r';
			out[o++] = b;
			continue;
		}
		if (i == len)
			break;		/* IAC at the end: waits for more */
		b = in[i++];
command:
		if (b == 0xFF) {
			out[o++] = 0xFF;
			cr = 0;
		} else if (b >= 251)
			i++;		/* the option byte, if any */
		else if (b == 250)
			sb = 1;
		else if (b < 240) {
			if (b == 0 && cr)
				b = '\n';
			cr = b == '\r';
			out[o++] = b;
		}
	}
	return (o);
}

/* Filter in[0..len) cut at the marked positions; returns the text length. */
static size_t
run(const uint8_t *in, size_t len, const uint8_t *cut, uint8_t *out)
{
	struct telnet	 t;
	size_t		 from = 0, to, o = 0, n;
	char		*piece;

	telnet_init(&t);
	while (from < len) {
		to = from + 1;
		while (to < len && !cut[to])
			to++;
		if ((piece = malloc(to - from)) == NULL)
			abort();
		memcpy(piece, in + from, to - from);
		n = telnet_filter(&t, piece, to - from);
		if (n > to - from)
			abort();
		memcpy(out + o, piece, n);
		o += n;
		free(piece);
		from = to;
	}
	return (o);
}

/* Filter in[0..len) one byte per call; returns the text length. */
static size_t
bytewise(const uint8_t *in, size_t len, uint8_t *out)
{
	struct telnet	 t;
	size_t		 i, o = 0, n;
	char		*b;

	if ((b = malloc(1)) == NULL)
		abort();
	telnet_init(&t);
	for (i = 0; i < len; i++) {
		b[0] = (char)in[i];
		if ((n = telnet_filter(&t, b, 1)) > 1)
			abort();
		if (n == 1)
			out[o++] = (uint8_t)b[0];
	}
	free(b);
	return (o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*in;
	uint8_t		*cut, *want, *got;
	size_t		 len, wn, n, i;
	unsigned	 seed;

	if (size == 0)
		return (0);
	seed = data[0];
	in = data + 1;
	len = size - 1;
	cut = calloc(len + 1, 1);
	want = malloc(len + 1);
	got = malloc(len + 1);
	if (cut == NULL || want == NULL || got == NULL)
		abort();

	wn = model(in, len, want);

	/* whole */
	n = run(in, len, cut, got);
	if (n != wn || memcmp(got, want, n) != 0)
		abort();
	/* cut where a cheap generator seeded by the first byte says */
	for (i = 1; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		cut[i] = (seed >> 16) % 4 == 0;
	}
	n = run(in, len, cut, got);
	if (n != wn || memcmp(got, want, n) != 0)
		abort();
	/* a byte at a time, through one block of one byte */
	if (bytewise(in, len, got) != wn || memcmp(got, want, wn) != 0)
		abort();

	free(cut);
	free(want);
	free(got);
	return (0);
}
