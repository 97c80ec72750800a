/*
 * test_linebuf.c - framing a byte stream into lines.
 *
 * A model turns a whole stream into the events it must produce (LB_LINE
 * with its content, LB_TOOLONG once per over-long line); the real linebuf
 * is then fed that stream in every way we can think of: whole, one byte
 * at a time (checking after each byte that nothing is held back), split
 * at every position, in random chunks, and exhaustively for all short
 * streams over a tiny alphabet.  The event sequences must all agree.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- event lists -------------------------------------------------------- */

struct ev {
	int		 type;
	char		*data;
	size_t		 len;
};

struct evlist {
	struct ev	*v;
	size_t		 n;
	size_t		 cap;
	int		 tail_maybe;	/* model: one more TOOLONG allowed */
	int		 broken;	/* feed: an invariant failed */
	char		 why[160];
};

static void
ev_add(struct evlist *l, int type, const char *data, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (l->v == NULL)
			abort();
	}
	l->v[l->n].type = type;
	l->v[l->n].len = len;
	l->v[l->n].data = NULL;
	if (type == LB_LINE) {
		l->v[l->n].data = malloc(len + 1);
		if (l->v[l->n].data == NULL)
			abort();
		memcpy(l->v[l->n].data, data, len);
	}
	l->n++;
}

static void
ev_clear(struct evlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Compare what the linebuf did with what the model says; 1 if equal. */
static int
ev_match(const struct evlist *got, const struct evlist *want, char *why,
    size_t whylen)
{
	size_t i;

	if (got->broken) {
		snprintf(why, whylen, "%s", got->why);
		return 0;
	}
	if (got->n != want->n &&
	    !(want->tail_maybe && got->n == want->n + 1 &&
	    got->v[want->n].type == LB_TOOLONG)) {
		snprintf(why, whylen, "%zu events, expected %zu%s", got->n,
		    want->n, want->tail_maybe ? " (or one more TOOLONG)" : "");
		return 0;
	}
	for (i = 0; i < want->n; i++) {
		if (got->v[i].type != want->v[i].type) {
			snprintf(why, whylen, "event %zu is %s, expected %s", i,
			    got->v[i].type == LB_LINE ? "LINE" : "TOOLONG",
			    want->v[i].type == LB_LINE ? "LINE" : "TOOLONG");
			return 0;
		}
		if (want->v[i].type == LB_LINE &&
		    (got->v[i].len != want->v[i].len ||
		    memcmp(got->v[i].data, want->v[i].data, want->v[i].len))) {
			snprintf(why, whylen, "line %zu has %zu bytes, expected "
			    "%zu, or differs", i, got->v[i].len,
			    want->v[i].len);
			return 0;
		}
	}
	return 1;
}

static void
print_stream(const char *s, size_t len)
{
	tap_print_mem("stream", s, len);
}

/* ---- the model ---------------------------------------------------------- */

/*
 * Events for a whole stream.  A final line without its LF gives TOOLONG
 * if max+2 bytes of it arrived (it cannot be max bytes and CR LF); with
 * exactly max+1 bytes not ending in CR it is already known too long, and
 * an implementation may say so then or wait for the next byte.
 */
static void
model(const char *s, size_t len, size_t max, struct evlist *out)
{
	size_t i = 0, j, n;

	memset(out, 0, sizeof *out);
	while (i < len) {
		for (j = i; j < len && s[j] != '\n'; j++)
			;
		if (j == len) {
			n = len - i;
			if (n >= max + 2)
				ev_add(out, LB_TOOLONG, NULL, 0);
			else if (n == max + 1 && s[len - 1] != '\r')
				out->tail_maybe = 1;
			break;
		}
		n = j - i;
		if (n > 0 && s[j - 1] == '\r')
			n--;
		if (n > max)
			ev_add(out, LB_TOOLONG, NULL, 0);
		else
			ev_add(out, LB_LINE, s + i, n);
		i = j + 1;
	}
}

/* ---- feeding ------------------------------------------------------------ */

/* Take every event available now; check the per-line invariants. */
static void
drain(struct linebuf *lb, struct evlist *got)
{
	const char *line;
	size_t len, guard = 0;
	int r;

	for (;;) {
		line = NULL;
		len = (size_t)-1;
		r = linebuf_next(lb, &line, &len);
		if (r == LB_NONE)
			return;
		if (r == LB_LINE) {
			if (line == NULL || len > lb->max_line) {
				got->broken = 1;
				snprintf(got->why, sizeof got->why,
				    "LB_LINE with %s, length %zu > max %zu",
				    line ? "a pointer" : "NULL", len,
				    lb->max_line);
				return;
			}
			if (memchr(line, '\n', len) != NULL) {
				got->broken = 1;
				snprintf(got->why, sizeof got->why,
				    "LB_LINE contains a LF");
				return;
			}
		} else if (r != LB_TOOLONG) {
			got->broken = 1;
			snprintf(got->why, sizeof got->why,
			    "linebuf_next returned %d", r);
			return;
		}
		ev_add(got, r, line, len);
		if (++guard > 10000000) {
			got->broken = 1;
			snprintf(got->why, sizeof got->why, "endless events");
			return;
		}
	}
}

/*
 * Feed s in chunks of the sizes in chunks[] (cycled; 0 ends the list),
 * reading at most what linebuf_space() offers each time.  With
 * check_prefix, after every commit the events so far must be exactly
 * those the model gives for the bytes fed so far.
 */
static void
feed(struct linebuf *lb, const char *s, size_t len, const size_t *chunks,
    size_t nchunks, int check_prefix, struct evlist *got)
{
	size_t off = 0, ci = 0, want, avail, take;
	char *p;

	memset(got, 0, sizeof *got);
	while (off < len) {
		want = chunks[ci++ % nchunks];
		if (want > len - off)
			want = len - off;
		while (want > 0) {
			avail = 0;
			p = linebuf_space(lb, &avail);
			if (avail == 0 || p == NULL) {
				got->broken = 1;
				snprintf(got->why, sizeof got->why,
				    "linebuf_space offered no room after %zu "
				    "bytes", off);
				return;
			}
			take = want < avail ? want : avail;
			memcpy(p, s + off, take);
			linebuf_commit(lb, take);
			off += take;
			want -= take;
			drain(lb, got);
			if (got->broken)
				return;
			if (check_prefix) {
				struct evlist m;
				size_t n = got->n;

				model(s, off, lb->max_line, &m);
				if (n != m.n && !(m.tail_maybe && n == m.n + 1)) {
					got->broken = 1;
					snprintf(got->why, sizeof got->why,
					    "after %zu bytes: %zu events, model "
					    "says %zu%s", off, n, m.n,
					    m.tail_maybe ? " (or +1)" : "");
				}
				ev_clear(&m);
				if (got->broken)
					return;
			}
		}
	}
	/* after all lines are consumed there is always room */
	p = linebuf_space(lb, &avail);
	if (avail == 0) {
		got->broken = 1;
		snprintf(got->why, sizeof got->why,
		    "no room after consuming everything");
	}
}

/* Fresh linebuf, feed, compare with the model; returns 1 if equal. */
static int
run(const char *s, size_t len, size_t max, const size_t *chunks,
    size_t nchunks, int check_prefix, char *why, size_t whylen)
{
	struct linebuf lb;
	struct evlist got, want;
	int r;

	linebuf_init(&lb, max);
	feed(&lb, s, len, chunks, nchunks, check_prefix, &got);
	model(s, len, max, &want);
	r = ev_match(&got, &want, why, whylen);
	linebuf_free(&lb);
	ev_clear(&got);
	ev_clear(&want);
	return r;
}

static const size_t one[] = { 1 };
#define READ_CHUNK	16384	/* what the server reads at most at once */

/* ---- random numbers ----------------------------------------------------- */

static unsigned long long rng_state = 0x2545F4914F6CDD1DULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* ---- hand-written cases ------------------------------------------------- */

struct expect {
	int		 type;
	const char	*data;
	size_t		 len;
};
#define L(s)	{ LB_LINE, (s), sizeof(s) - 1 }
#define T	{ LB_TOOLONG, NULL, 0 }
#define END	{ -1, NULL, 0 }

/*
 * Feed s whole, one byte at a time, and split at every position; each
 * time the events must be exactly exp[].
 */
static void
check(const char *name, const char *s, size_t len, size_t max,
    const struct expect *exp)
{
	struct evlist want, got;
	struct linebuf lb;
	size_t i, split, bad = 0;
	char why[200];

	memset(&want, 0, sizeof want);
	for (i = 0; exp[i].type != -1; i++)
		ev_add(&want, exp[i].type, exp[i].data, exp[i].len);

	for (split = 0; split <= len + 1; split++) {
		size_t two[2];
		const size_t *chunks;
		size_t nchunks;

		if (split == len + 1) {
			chunks = one;
			nchunks = 1;
		} else {
			two[0] = split ? split : SIZE_MAX;
			two[1] = SIZE_MAX;
			chunks = two;
			nchunks = 2;
		}
		linebuf_init(&lb, max);
		feed(&lb, s, len, chunks, nchunks, 0, &got);
		if (!ev_match(&got, &want, why, sizeof why)) {
			if (bad++ == 0) {
				fail("%s (split %zu): %s", name, split, why);
				print_stream(s, len);
			}
		}
		linebuf_free(&lb);
		ev_clear(&got);
	}
	if (bad == 0)
		pass("%s (whole, bytewise, every split)", name);
	ev_clear(&want);
}
#define CHECK(name, s, max, ...) do {					\
	static const struct expect e_[] = { __VA_ARGS__, END };		\
	check((name), (s), sizeof(s) - 1, (max), e_);			\
} while (0)
#define CHECK_NONE(name, s, max) do {					\
	static const struct expect e_[] = { END };			\
	check((name), (s), sizeof(s) - 1, (max), e_);			\
} while (0)

static void
test_basic(void)
{
	struct linebuf lb;
	const char *line = NULL;
	size_t len = 0, avail = 0;
	char *p;

	linebuf_init(&lb, 16);
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "empty: LB_NONE");
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "empty: LB_NONE again");
	p = linebuf_space(&lb, &avail);
	ok(p != NULL && avail > 0, "fresh buffer offers room (%zu)", avail);
	ok(avail >= 18, "room for a whole max line plus CRLF (%zu >= 18)",
	    avail);
	memcpy(p, "hello", 5);
	linebuf_commit(&lb, 5);
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "partial: LB_NONE");
	p = linebuf_space(&lb, &avail);
	memcpy(p, "\r\n", 2);
	linebuf_commit(&lb, 2);
	if (is_int(linebuf_next(&lb, &line, &len), LB_LINE, "CRLF: LB_LINE"))
		is_mem(line, len, "hello", 5, "CRLF: content without CRLF");
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "then LB_NONE");
	linebuf_free(&lb);

	CHECK_NONE("nothing", "", 8);
	CHECK_NONE("no LF yet", "abc", 8);
	CHECK_NONE("CR but no LF", "abc\r", 8);
	CHECK("one LF line", "abc\n", 8, L("abc"));
	CHECK("one CRLF line", "abc\r\n", 8, L("abc"));
	CHECK("empty LF line", "\n", 8, L(""));
	CHECK("empty CRLF line", "\r\n", 8, L(""));
	CHECK("many empty lines", "\n\r\n\n", 8, L(""), L(""), L(""));
	CHECK("two lines and a partial", "a\nbc\r\nde", 8, L("a"), L("bc"));
	CHECK("CR inside the line is content", "a\rb\n", 8, L("a\rb"));
	CHECK("leading CR is content", "\rab\n", 8, L("\rab"));
	CHECK("only one CR removed", "ab\r\r\n", 8, L("ab\r"));
	CHECK("lone CR line", "\r\r\n", 8, L("\r"));
	CHECK("CR LF CR LF", "\r\n\r\n", 8, L(""), L(""));
	CHECK("LF CR LF", "\n\r\n", 8, L(""), L(""));
	CHECK("CR then data on the next line", "a\r\n\rb\n", 8, L("a"),
	    L("\rb"));
	CHECK("NUL bytes are content", "a\0b\n\0\n", 8, L("a\0b"), L("\0"));
	CHECK("high bytes are content", "\xFF\xFE\r\n", 8, L("\xFF\xFE"));
	CHECK("trailing spaces kept", "  x  \n", 8, L("  x  "));
}

static void
test_limits(void)
{
	/* max 4: "abcd" is the longest line */
	CHECK("exactly max with LF", "abcd\n", 4, L("abcd"));
	CHECK("exactly max with CRLF", "abcd\r\n", 4, L("abcd"));
	CHECK("max+1 with LF", "abcde\n", 4, T);
	CHECK("max+1 with CRLF", "abcde\r\n", 4, T);
	CHECK("max + CR + CRLF: CR is content, too long", "abcd\r\r\n", 4, T);
	CHECK("max-1 + CR content + LF", "abc\r\n", 4, L("abc"));
	CHECK("max-1 + CR + CRLF", "abc\r\r\n", 4, L("abc\r"));
	CHECK("too long, then a good line", "abcdef\nxy\n", 4, T, L("xy"));
	CHECK("good, too long, good", "ab\nabcdefghij\ncd\n", 4, L("ab"), T,
	    L("cd"));
	CHECK("very long line: one TOOLONG", "abcdefghijklmnopqrstuvwxyz\nok\n",
	    4, T, L("ok"));
	CHECK("two long lines in a row", "abcdefgh\nijklmnop\nq\n", 4, T, T,
	    L("q"));
	CHECK("long line of CRs", "\r\r\r\r\r\r\r\r\r\r\n\r\n", 4, T, L(""));
	CHECK("long line ending CRLF, then empty", "abcdefgh\r\n\n", 4, T,
	    L(""));
	CHECK("max+2 without LF: TOOLONG before the LF", "abcdef", 4, T);
	CHECK("max+2 incl. CR without LF", "abcde\r", 4, T);
}

static void
test_limits_pending(void)
{
	CHECK_NONE("max + CR without LF: nothing yet", "abcd\r", 4);
	CHECK_NONE("max bytes without LF: nothing yet", "abcd", 4);
	CHECK("max + CR, then LF", "abcd\r\n", 4, L("abcd"));
	CHECK("max 1: one byte", "a\nb\r\n\r\n", 1, L("a"), L("b"), L(""));
	CHECK("max 1: two bytes", "ab\n", 1, T);
	CHECK("max 1: CR CR LF", "\r\r\n", 1, L("\r"));
	CHECK("max 0: only empty lines", "\n\r\na\n\r\r\n\n", 0, L(""),
	    L(""), T, T, L(""));
}

/* The TOOLONG comes exactly when max+2 bytes are in, not at the LF. */
static void
test_toolong_timing(void)
{
	struct linebuf lb;
	const char *line;
	size_t len, avail, i, max = 10;
	char *p;
	int r, events = 0;

	linebuf_init(&lb, max);
	for (i = 0; i < max + 1; i++) {
		p = linebuf_space(&lb, &avail);
		*p = (i == max) ? '\r' : 'x';
		linebuf_commit(&lb, 1);
		while (linebuf_next(&lb, &line, &len) != LB_NONE)
			events++;
	}
	is_int(events, 0, "max bytes + CR, no LF: no event");
	p = linebuf_space(&lb, &avail);
	ok(avail > 0, "room for the LF after max+CR (%zu)", avail);
	*p = 'y';
	linebuf_commit(&lb, 1);
	is_int(linebuf_next(&lb, &line, &len), LB_TOOLONG,
	    "byte max+2 without LF: LB_TOOLONG at once");
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "then LB_NONE");
	/* the rest of the line is discarded as it arrives, without events */
	for (i = 0; i < 100000; i++) {
		p = linebuf_space(&lb, &avail);
		if (avail == 0) {
			fail("room while discarding");
			break;
		}
		memset(p, 'z', avail);
		linebuf_commit(&lb, avail);
		r = linebuf_next(&lb, &line, &len);
		if (r != LB_NONE) {
			is_int(r, LB_NONE, "no event while discarding");
			break;
		}
		if (i == 99999)
			pass("100000 refills of the same line: no event");
	}
	ok(lb.cap <= 64 * 1024, "memory stays bounded while discarding "
	    "(cap %zu)", lb.cap);
	p = linebuf_space(&lb, &avail);
	memcpy(p, "zz\r", 3);
	linebuf_commit(&lb, 3);
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "CR: nothing");
	p = linebuf_space(&lb, &avail);
	memcpy(p, "\nnext\r\n", 7);
	linebuf_commit(&lb, 7);
	if (is_int(linebuf_next(&lb, &line, &len), LB_LINE,
	    "LF ends the discarded line silently, the next one is a line"))
		is_mem(line, len, "next", 4, "... and it is intact");
	is_int(linebuf_next(&lb, &line, &len), LB_NONE, "then LB_NONE");
	linebuf_free(&lb);
}

/* Several lines from one read are all valid until the next space/commit. */
static void
test_pointer_lifetime(void)
{
	struct linebuf lb;
	const char *l[4];
	size_t n[4], avail;
	char *p;
	static const char in[] = "first\nsecond\r\n\nfourth\npart";

	linebuf_init(&lb, 64);
	p = linebuf_space(&lb, &avail);
	ok(avail >= sizeof(in) - 1, "one read holds all of it");
	memcpy(p, in, sizeof(in) - 1);
	linebuf_commit(&lb, sizeof(in) - 1);
	is_int(linebuf_next(&lb, &l[0], &n[0]), LB_LINE, "line 1");
	is_int(linebuf_next(&lb, &l[1], &n[1]), LB_LINE, "line 2");
	is_int(linebuf_next(&lb, &l[2], &n[2]), LB_LINE, "line 3");
	is_int(linebuf_next(&lb, &l[3], &n[3]), LB_LINE, "line 4");
	is_mem(l[0], n[0], "first", 5, "line 1 still intact after line 4");
	is_mem(l[1], n[1], "second", 6, "line 2 still intact after line 4");
	is_mem(l[2], n[2], "", 0, "line 3 still intact after line 4");
	is_mem(l[3], n[3], "fourth", 6, "line 4 intact");
	is_int(linebuf_next(&lb, &l[0], &n[0]), LB_NONE, "partial: none");
	p = linebuf_space(&lb, &avail);
	ok(avail > 0, "room after consuming");
	memcpy(p, "\n", 1);
	linebuf_commit(&lb, 1);
	if (is_int(linebuf_next(&lb, &l[0], &n[0]), LB_LINE, "partial ends"))
		is_mem(l[0], n[0], "part", 4, "partial line kept across reads");
	linebuf_free(&lb);
}

/*
 * Feed s (in pieces as the buffer allows, taking events as they come) into
 * an existing linebuf and compare the events with exp[].
 */
static void
put(struct linebuf *lb, const char *name, const char *s, size_t len,
    const struct expect *exp)
{
	struct evlist want, got;
	char why[200];
	size_t i;

	memset(&want, 0, sizeof want);
	for (i = 0; exp[i].type != -1; i++)
		ev_add(&want, exp[i].type, exp[i].data, exp[i].len);
	feed(lb, s, len, one, 1, 0, &got);
	if (!ev_match(&got, &want, why, sizeof why)) {
		fail("%s: %s", name, why);
		print_stream(s, len);
	} else
		pass("%s", name);
	ev_clear(&want);
	ev_clear(&got);
}
#define PUT(lb, name, s, ...) do {					\
	static const struct expect e_[] = { __VA_ARGS__ END };		\
	put((lb), (name), (s), sizeof(s) - 1, e_);			\
} while (0)

static void
test_set_max(void)
{
	struct linebuf lb;
	const char *line;
	size_t len, avail;
	char *p, big[300];
	int r;

	linebuf_init(&lb, 10);
	PUT(&lb, "max 10: 10 bytes ok", "0123456789\n", L("0123456789"),);
	linebuf_set_max(&lb, 5);
	PUT(&lb, "shrunk to 5: 10 bytes too long", "0123456789\n", T,);
	PUT(&lb, "shrunk to 5: 5 bytes + CRLF ok", "01234\r\n", L("01234"),);
	PUT(&lb, "shrunk to 5: 6 bytes + CRLF too long", "012345\r\n", T,);
	PUT(&lb, "shrunk to 5: 7 bytes without LF too long at once",
	    "0123456", T,);
	PUT(&lb, "shrunk to 5: rest discarded, next line ok", "89\nok\n",
	    L("ok"),);

	linebuf_set_max(&lb, 200);
	memset(big, 'g', sizeof(big));
	p = linebuf_space(&lb, &avail);
	ok(avail >= 202, "grown to 200: room for 200 + CRLF at once (%zu)",
	    avail);
	if (avail >= 202) {
		memcpy(p, big, 200);
		memcpy(p + 200, "\r\n", 2);
		linebuf_commit(&lb, 202);
		if (is_int(linebuf_next(&lb, &line, &len), LB_LINE,
		    "grown to 200: 200 bytes ok"))
			is_mem(line, len, big, 200, "... content");
		is_int(linebuf_next(&lb, &line, &len), LB_NONE,
		    "then LB_NONE");
	}
	{
		struct evlist got;

		big[201] = '\n';
		feed(&lb, big, 202, one, 1, 0, &got);
		ok(!got.broken && got.n == 1 && got.v[0].type == LB_TOOLONG,
		    "grown to 200: 201 bytes + LF too long (%zu events)",
		    got.n);
		ev_clear(&got);
	}
	PUT(&lb, "grown to 200: then a short line", "s\n", L("s"),);
	linebuf_set_max(&lb, 3);
	PUT(&lb, "shrunk again to 3", "abc\nabcd\r\nab\r\n", L("abc"), T,
	    L("ab"),);
	linebuf_free(&lb);

	/* a change applies to a line already read but not yet taken */
	linebuf_init(&lb, 10);
	p = linebuf_space(&lb, &avail);
	if (ok(avail >= 11, "room for 11 bytes (%zu)", avail)) {
		memcpy(p, "ab\n0123456\n", 11);
		linebuf_commit(&lb, 11);
		r = linebuf_next(&lb, &line, &len);
		if (is_int(r, LB_LINE, "buffered: first line"))
			is_mem(line, len, "ab", 2, "... content");
		linebuf_set_max(&lb, 5);
		is_int(linebuf_next(&lb, &line, &len), LB_TOOLONG,
		    "a buffered 7-byte line is judged by the new max 5");
		is_int(linebuf_next(&lb, &line, &len), LB_NONE, "then none");
		PUT(&lb, "and lines after it are fine", "xyz\n", L("xyz"),);
	}
	linebuf_free(&lb);

	/* shrinking with a partial line already longer than the new max */
	linebuf_init(&lb, 20);
	PUT(&lb, "partial of 10 bytes under max 20", "0123456789",);
	linebuf_set_max(&lb, 4);
	r = linebuf_next(&lb, &line, &len);
	is_int(r, LB_TOOLONG, "shrunk to 4 below a pending partial of 10: "
	    "TOOLONG at once");
	PUT(&lb, "its end is discarded, the next line is kept", "zz\nend\n",
	    L("end"),);
	linebuf_free(&lb);

	/* growing with a pending partial: it may now fit */
	linebuf_init(&lb, 4);
	PUT(&lb, "partial of 4 under max 4", "abcd",);
	linebuf_set_max(&lb, 8);
	PUT(&lb, "grown to 8: the partial completes as a line", "efgh\n",
	    L("abcdefgh"),);
	linebuf_free(&lb);
}

/* All short streams over {a, CR, LF} and {a, b, CR, LF}, max 0..4. */
static void
test_exhaustive(void)
{
	char s[16], why[200];
	size_t len, max, i, split;
	unsigned long code, ncodes;
	long bad = 0, runs = 0;
	static const char abc3[] = "a\r\n", abc4[] = "ab\r\n";
	const char *alpha;
	size_t nalpha, maxlen;
	int pass_no;

	for (pass_no = 0; pass_no < 2; pass_no++) {
		alpha = pass_no ? abc4 : abc3;
		nalpha = pass_no ? 4 : 3;
		maxlen = pass_no ? 7 : 9;
		for (len = 0; len <= maxlen; len++) {
			ncodes = 1;
			for (i = 0; i < len; i++)
				ncodes *= nalpha;
			for (code = 0; code < ncodes; code++) {
				unsigned long c = code;

				for (i = 0; i < len; i++) {
					s[i] = alpha[c % nalpha];
					c /= nalpha;
				}
				for (max = 0; max <= 4; max++) {
					/* bytewise, checking every prefix */
					runs++;
					if (!run(s, len, max, one, 1, 1, why,
					    sizeof why) && bad++ < 5) {
						fail("max %zu bytewise: %s",
						    max, why);
						print_stream(s, len);
					}
					for (split = 0; split < len;
					    split++) {
						size_t two[2] = {
						    split ? split : SIZE_MAX,
						    SIZE_MAX };

						if (len > 6 && split % 2)
							continue;
						runs++;
						if (!run(s, len, max, two, 2,
						    0, why, sizeof why) &&
						    bad++ < 5) {
							fail("max %zu split "
							    "%zu: %s", max,
							    split, why);
							print_stream(s, len);
						}
					}
				}
			}
		}
	}
	is_int(bad, 0, "%ld runs over all short streams agree with the model",
	    runs);
}

/* A stream of lines with lengths around max, with mixed terminators. */
static size_t
make_stream(char *s, size_t cap, size_t max)
{
	size_t off = 0, n, i;

	while (off < cap) {
		switch (rng() % 10) {
		case 0: n = 0; break;
		case 1: n = max; break;
		case 2: n = max + 1; break;
		case 3: n = max ? max - 1 : 0; break;
		case 4: n = max + 2; break;
		case 5: n = 3 * max + rng() % 7; break;
		default: n = rng() % (max + 3); break;
		}
		if (off + n + 3 > cap)
			break;
		for (i = 0; i < n; i++) {
			unsigned r = rng() % 40;

			s[off + i] = r == 0 ? '\r' : r == 1 ? '\0' :
			    (char)('A' + r);
		}
		off += n;
		switch (rng() % 4) {
		case 0:
			s[off++] = '\r';
			/* FALLTHROUGH */
		case 1:
			s[off++] = '\r';
			/* FALLTHROUGH */
		default:
			s[off++] = '\n';
		}
	}
	return off;
}

static void
test_random(void)
{
	size_t cap = 1 << 20, len, max, i, chunks[64], nchunks;
	char *s = malloc(cap), why[200];
	long iter, bad = 0;
	static const size_t maxes[] = { 1, 2, 3, 7, 64, 1024, 4000 };

	for (iter = 0; iter < 400; iter++) {
		max = maxes[iter % (sizeof(maxes) / sizeof(maxes[0]))];
		len = make_stream(s, max < 100 ? 4096 : cap / (iter % 3 + 1),
		    max);
		nchunks = 1 + rng() % 64;
		for (i = 0; i < nchunks; i++) {
			switch (rng() % 4) {
			case 0: chunks[i] = 1 + rng() % 4; break;
			case 1: chunks[i] = 1 + rng() % (max + 4); break;
			case 2: chunks[i] = READ_CHUNK; break;
			default: chunks[i] = 1 + rng() % 70000; break;
			}
		}
		if (!run(s, len, max, chunks, nchunks, 0, why, sizeof why) &&
		    bad++ < 5)
			fail("random stream %ld (max %zu, %zu bytes): %s",
			    iter, max, len, why);
		if (iter % 20 == 0 && max < 100 &&
		    !run(s, len, max, one, 1, 1, why, sizeof why) &&
		    bad++ < 5)
			fail("random stream %ld bytewise (max %zu): %s", iter,
			    max, why);
	}
	is_int(bad, 0, "400 random streams in random chunks agree with the "
	    "model");
	free(s);
}

/* 10 MB without a LF: one TOOLONG, bounded memory, then lines again. */
static void
test_flood(void)
{
	struct linebuf lb;
	const char *line;
	size_t len, avail, fed = 0, maxcap = 0;
	char *p;
	int toolong = 0, other = 0, r;

	linebuf_init(&lb, 1024);
	while (fed < 10 * 1024 * 1024) {
		p = linebuf_space(&lb, &avail);
		if (avail == 0) {
			fail("flood: no room after %zu bytes", fed);
			break;
		}
		if (avail > READ_CHUNK)
			avail = READ_CHUNK;
		memset(p, 'f', avail);
		linebuf_commit(&lb, avail);
		fed += avail;
		if (lb.cap > maxcap)
			maxcap = lb.cap;
		while ((r = linebuf_next(&lb, &line, &len)) != LB_NONE) {
			if (r == LB_TOOLONG)
				toolong++;
			else
				other++;
		}
	}
	is_int(toolong, 1, "flood of 10 MB without LF: exactly one TOOLONG");
	is_int(other, 0, "flood: no lines");
	ok(maxcap <= 1024 * 1024, "flood: buffer stayed small (max cap %zu)",
	    maxcap);
	p = linebuf_space(&lb, &avail);
	memcpy(p, "\nafter\n", 7);
	linebuf_commit(&lb, 7);
	r = linebuf_next(&lb, &line, &len);
	if (is_int(r, LB_LINE, "flood: the line after it arrives"))
		is_mem(line, len, "after", 5, "... intact");
	linebuf_free(&lb);
}

int
main(void)
{
	test_basic();
	test_limits();
	test_limits_pending();
	test_toolong_timing();
	test_pointer_lifetime();
	test_set_max();
	test_exhaustive();
	test_random();
	test_flood();
	return done_testing();
}
