/*
 * test_telnet.c - telnet commands and CR NUL taken out of the input.
 *
 * Every case is run whole, split in two at every position, split in three
 * at every pair of positions, and one byte at a time: the state carried
 * between reads must give the same text whatever the segmentation.  Then
 * random streams of commands and text are checked the same way.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IAC	"\xFF"
#define SB	"\xFA"
#define SE	"\xF0"
#define WILL	"\xFB"
#define WONT	"\xFC"
#define DO	"\xFD"
#define DONT	"\xFE"

/*
 * Feed in[0..len) in pieces cut at cuts[0..ncuts), each read into its own
 * heap block (so ASan sees any overrun) and filtered there; out gets the
 * text.  Returns its length.
 */
static size_t
feed(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    char *out)
{
	struct telnet t;
	size_t from = 0, to, o = 0, k, n;
	char *piece;

	telnet_init(&t);
	for (k = 0; k <= ncuts; k++) {
		to = k < ncuts ? cuts[k] : len;
		piece = malloc(to - from ? to - from : 1);
		if (piece == NULL)
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
	return o;
}

/* Every segmentation of one case must give want. */
static void
check(const char *in, size_t len, const char *want, size_t wantlen,
    const char *what)
{
	char *out = malloc(len + 1);
	size_t cuts[2], n, i, j, bad = 0, *all;

	if (out == NULL)
		abort();
	n = feed(in, len, NULL, 0, out);
	is_mem(out, n, want, wantlen, "%s: whole", what);
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		n = feed(in, len, cuts, 1, out);
		if ((n != wantlen || memcmp(out, want, n) != 0) && bad++ == 0)
			is_mem(out, n, want, wantlen, "%s: split at %zu", what,
			    i);
	}
	for (i = 0; i <= len; i++)
		for (j = i; j <= len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			n = feed(in, len, cuts, 2, out);
			if ((n != wantlen || memcmp(out, want, n) != 0) &&
			    bad++ == 0)
				is_mem(out, n, want, wantlen,
				    "%s: split at %zu and %zu", what, i, j);
		}
	all = malloc((len ? len : 1) * sizeof *all);
	if (all == NULL)
		abort();
	for (i = 0; i < len; i++)
		all[i] = i;
	n = feed(in, len, all, len, out);
	if ((n != wantlen || memcmp(out, want, n) != 0) && bad++ == 0)
		is_mem(out, n, want, wantlen, "%s: a byte at a time", what);
	is_int((long long)bad, 0, "%s: every segmentation", what);
	free(all);
	free(out);
}

#define CASE(in, want, what) \
	check((in), sizeof(in) - 1, (want), sizeof(want) - 1, (what))

static void
test_cases(void)
{
	CASE("hello\r\n", "hello\r\n", "plain text");
	CASE("\xE6\x9D\x9C\xE5\x85\x8B\n", "\xE6\x9D\x9C\xE5\x85\x8B\n",
	    "UTF-8 text");
	CASE(IAC WILL "\x01" "hi\n", "hi\n", "IAC WILL ECHO");
	CASE(IAC DO "\x03" IAC WONT "\x18" IAC DONT "\x22" "x\n", "x\n",
	    "DO, WONT, DONT");
	CASE("a" IAC DO "\n" "b\n", "ab\n", "the option byte may be LF");
	CASE(IAC WILL IAC "x", "x", "the option byte may be 255");
	CASE(IAC SB "\x18\x01" IAC SE "x\n", "x\n", "TTYPE SEND");
	CASE(IAC SB "\x1F\x00\x50\x00\x18" IAC SE "ok\n", "ok\n", "NAWS");
	CASE(IAC SB "\x18\x00xterm" IAC IAC "y\n" IAC SE "ok\n", "ok\n",
	    "IAC IAC and LF inside a subnegotiation");
	CASE(IAC SB "\x18" "abc", "", "unfinished subnegotiation");
	CASE(IAC SB "\x18" IAC WILL "\x01" "q\n", "q\n",
	    "a command ends a subnegotiation");
	CASE(IAC SB "\x18" IAC "a\n", "a\n",
	    "IAC and text end a subnegotiation");
	CASE(IAC SB IAC SB "x" IAC SE "y", "y", "SB inside SB");
	CASE("a" IAC IAC "b\n", "a\xFF" "b\n", "IAC IAC is a 0xFF byte");
	CASE(IAC IAC IAC IAC, "\xFF\xFF", "two literal 0xFF");
	CASE(IAC "\xF1" IAC "\xF2" IAC "\xF3" IAC "\xF4" IAC "\xF5" IAC "\xF6"
	    IAC "\xF7" IAC "\xF8" IAC "\xF9" IAC SE "z\n", "z\n",
	    "NOP DM BRK IP AO AYT EC EL GA and a stray SE");
	CASE("x" IAC "a\n", "xa\n", "IAC before a non-command keeps the byte");
	CASE("x" IAC "\n", "x\n", "a stray IAC cannot eat an LF");
	CASE("abc\r\0", "abc\r\n", "CR NUL ends a line");
	CASE("\r\0\r\0", "\r\n\r\n", "two CR NUL");
	CASE("a\r\nb\r\0c\n", "a\r\nb\r\nc\n", "CR LF, CR NUL, LF");
	CASE("a\0b\0\n", "a\0b\0\n", "NUL not after CR is kept");
	CASE("\0\r\0", "\0\r\n", "NUL first, then CR NUL");
	CASE("a\rb\n", "a\rb\n", "a bare CR is kept");
	CASE("\r\r\0", "\r\r\n", "CR CR NUL");
	CASE("\r" IAC "\xF1" "\0", "\r\n", "a command between CR and NUL");
	CASE("\r" IAC IAC "\0", "\r\xFF\0", "0xFF between CR and NUL");
	CASE("hi" IAC DO "\x01" IAC SB "\x1F\x00\x50\x00\x18" IAC SE
	    "there\r\0", "hithere\r\n", "text around negotiation");
	CASE("", "", "nothing");
	CASE(IAC, "", "a lone IAC");
}

/* ---- random streams ------------------------------------------------------ */

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/*
 * Build a random stream from well-formed pieces whose text is known, so
 * the expected output is built alongside.  Returns the input length.
 */
static size_t
build(char *in, char *want, size_t *wantlen)
{
#define PIECE(s)	{ (s), sizeof(s) - 1 }
	static const struct {
		const char *s;
		size_t n;
	} cmds[] = {
		PIECE(IAC WILL "\x01"), PIECE(IAC WONT "\x03"),
		PIECE(IAC DO "\x18"), PIECE(IAC DONT "\x1F"),
		PIECE(IAC "\xF1"), PIECE(IAC "\xF6"), PIECE(IAC "\xF4"),
		PIECE(IAC SB "\x1F\x00\x50\x00\x18" IAC SE),
		PIECE(IAC SB "\x18\x00" "ab" IAC IAC "\r\n" IAC SE),
		PIECE(IAC DO IAC),
	};
	static const char text[] = "ab \t\xC3\xA9\n\r\x01";
	size_t n = 0, w = 0, k, k2, pieces = rng() % 24;
	int cr = 0;

	for (k = 0; k < pieces; k++) {
		switch (rng() % 5) {
		case 0:
		case 1:
			in[n++] = text[rng() % (sizeof text - 1)];
			want[w] = in[n - 1];
			cr = want[w++] == '\r';
			break;
		case 2:
			if (cr) {	/* CR NUL */
				in[n++] = '\0';
				want[w++] = '\n';
				cr = 0;
			} else {
				in[n++] = '\r';
				want[w++] = '\r';
				cr = 1;
			}
			break;
		case 3:
			k2 = rng() % (sizeof cmds / sizeof cmds[0]);
			memcpy(in + n, cmds[k2].s, cmds[k2].n);
			n += cmds[k2].n;
			break;
		case 4:
			in[n++] = '\xFF';
			in[n++] = '\xFF';
			want[w++] = '\xFF';
			cr = 0;
			break;
		}
	}
	*wantlen = w;
	return n;
}

static void
test_random(void)
{
	char in[512], want[512], out[512];
	size_t len, wantlen, cuts[8], ncuts, i, n;
	long iter, bad = 0;

	for (iter = 0; iter < 100000; iter++) {
		len = build(in, want, &wantlen);
		ncuts = len ? rng() % 8 : 0;
		for (i = 0; i < ncuts; i++)
			cuts[i] = rng() % (len + 1);
		/* cuts in order */
		for (i = 1; i < ncuts; i++) {
			size_t j = i, v = cuts[i];

			while (j > 0 && cuts[j - 1] > v) {
				cuts[j] = cuts[j - 1];
				j--;
			}
			cuts[j] = v;
		}
		n = feed(in, len, cuts, ncuts, out);
		if ((n != wantlen || memcmp(out, want, n) != 0) && bad++ < 5) {
			is_mem(out, n, want, wantlen, "random #%ld", iter);
			tap_print_mem("input", in, len);
		}
	}
	is_int(bad, 0, "100000 random streams, randomly split");
}

int
main(void)
{
	test_cases();
	test_random();
	return done_testing();
}
