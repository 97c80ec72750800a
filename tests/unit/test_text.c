/*
 * test_text.c - UTF-8 repair, control stripping, blank lines, name rules.
 *
 * The hand-written cases pin down the contract; then text_clean(),
 * text_utf8_valid() and text_name_error() are compared exhaustively on all
 * short inputs, and on random longer ones, against an independent model
 * written from the Unicode "maximal subpart" rule (the WHATWG decoder).
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FFFD "\xEF\xBF\xBD"

/* ---- the model ---------------------------------------------------------- */

/*
 * Decode one code point or one maximal subpart at s[0..len).  Sets *used
 * to the bytes consumed (>= 1) and returns the code point, or -1 for an
 * ill-formed subpart (to be replaced by exactly one U+FFFD).
 */
static long
model_decode(const unsigned char *s, size_t len, size_t *used)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	long cp;

	*used = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return -1;
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*used = i;
			return -1;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*used = need + 1;
	return cp;
}

static int
model_is_control(long cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7F ||
	    (cp >= 0x80 && cp <= 0x9F);
}

/* Write a BMP code point from U+0800 as three bytes. */
static size_t
model_put3(unsigned char *out, long cp)
{
	out[0] = (unsigned char)(0xE0 | (cp >> 12));
	out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (unsigned char)(0x80 | (cp & 0x3F));
	return 3;
}

/*
 * Line and paragraph separators as spaces; bidi controls balanced: the
 * stack holds 'E' (embedding or override, closed by U+202C) and 'I'
 * (isolate, closed by U+2069, which also closes what is open inside it),
 * at most 125 deep; what is open at the end is closed there.
 */
static size_t
model_clean(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t i = 0, o = 0, used, top = 0, k;
	char stack[125];
	long cp;

	while (i < len) {
		cp = model_decode(in + i, len - i, &used);
		if (cp < 0) {
			memcpy(out + o, FFFD, 3);
			o += 3;
		} else if (cp == 0x2028 || cp == 0x2029) {
			out[o++] = ' ';
		} else if (cp == 0x202A || cp == 0x202B || cp == 0x202D ||
		    cp == 0x202E || (cp >= 0x2066 && cp <= 0x2068)) {
			if (top < sizeof(stack)) {
				stack[top++] = cp >= 0x2066 ? 'I' : 'E';
				o += model_put3(out + o, cp);
			}
		} else if (cp == 0x202C) {
			if (top > 0 && stack[top - 1] == 'E') {
				top--;
				o += model_put3(out + o, cp);
			}
		} else if (cp == 0x2069) {
			for (k = top; k > 0 && stack[k - 1] != 'I'; k--)
				;
			if (k > 0) {
				top = k - 1;
				o += model_put3(out + o, cp);
			}
		} else if (!model_is_control(cp)) {
			memcpy(out + o, in + i, used);
			o += used;
		}
		i += used;
	}
	while (top > 0)
		o += model_put3(out + o, stack[--top] == 'I' ? 0x2069 : 0x202C);
	return o;
}

static int
model_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, used;

	while (i < len) {
		if (model_decode(s + i, len - i, &used) < 0)
			return 0;
		i += used;
	}
	return 1;
}

static const char *
model_name_error(const unsigned char *s, size_t len)
{
	size_t i = 0, used;
	long cp;

	if (len == 0)
		return "name is empty";
	if (len > CHATD_NAME_MAX)
		return "name is longer than 32 bytes";
	if (!model_valid(s, len))
		return "name is not valid UTF-8";
	while (i < len) {
		cp = model_decode(s + i, len - i, &used);
		if (cp == ' ')
			return "name contains a space";
		if (cp == '\t' || model_is_control(cp))
			return "name contains a control character";
		if (cp == '|')
			return "name contains '|'";
		i += used;
	}
	return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

/*
 * Run text_clean() with an output buffer of exactly TEXT_CLEAN_MAX(len)
 * bytes followed by guard bytes; complain if the guard is touched.  The
 * input is copied to its own heap block so ASan sees reads past its end.
 */
static size_t
clean(const char *in, size_t len, char **outp)
{
	size_t cap = TEXT_CLEAN_MAX(len), n, i;
	char *copy, *out;
	int guard_ok = 1;

	copy = malloc(len ? len : 1);
	out = malloc(cap + 16);
	if (copy == NULL || out == NULL)
		abort();
	memcpy(copy, in, len);
	memset(out, 0xA5, cap + 16);
	n = text_clean(copy, len, out);
	for (i = cap; i < cap + 16; i++)
		if ((unsigned char)out[i] != 0xA5)
			guard_ok = 0;
	if (!guard_ok || n > cap)
		fail("text_clean wrote past 3*len (len %zu, returned %zu)",
		    len, n);
	free(copy);
	*outp = out;
	return n;
}

#define CLEAN(in, want, name) do {					\
	char *out_;							\
	size_t n_ = clean((in), sizeof(in) - 1, &out_);			\
	is_mem(out_, n_, (want), sizeof(want) - 1, "clean: %s", (name)); \
	free(out_);							\
} while (0)

#define VALID(s, want, name) \
	is_int(text_utf8_valid((s), sizeof(s) - 1), (want), "valid: %s", (name))

#define NAME(s, want, name) \
	is_str(text_name_error((s), sizeof(s) - 1), (want), "name: %s", (name))

/* ---- text_clean: the examples of the contract ---------------------------- */

static void
test_clean_examples(void)
{
	CLEAN("", "", "empty input");
	CLEAN("hello, world", "hello, world", "plain ASCII unchanged");
	CLEAN("a\xFF" "b", "a" FFFD "b", "a FF b");
	CLEAN("\xE2\x82x", FFFD "x", "truncated 3-byte sequence is one subpart");
	CLEAN("\xC0\xAF", FFFD FFFD, "C0 AF: C0 is never a lead byte");
	CLEAN("\xC1\xBF", FFFD FFFD, "C1 BF: overlong 2-byte");
	CLEAN("\xED\xA0\x80", FFFD FFFD FFFD, "surrogate D800 is three subparts");
	CLEAN("\xED\xBF\xBF", FFFD FFFD FFFD, "surrogate DFFF is three subparts");
	CLEAN("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, "F4 90 80 80 > U+10FFFF");
	CLEAN("\xE0\x80\x80", FFFD FFFD FFFD, "overlong 3-byte NUL");
	CLEAN("\xE0\x9F\xBF", FFFD FFFD FFFD, "overlong 3-byte U+07FF");
	CLEAN("\xF0\x8F\xBF\xBF", FFFD FFFD FFFD FFFD, "overlong 4-byte U+FFFF");
	CLEAN("\xF0\x9F\x98", FFFD, "truncated emoji at end is one U+FFFD");
	CLEAN("\xF0\x9F\x98" "a", FFFD "a", "truncated emoji before ASCII");
	CLEAN("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", "valid emoji kept");
	CLEAN("x\xF0\x9F\x98\x80y", "x\xF0\x9F\x98\x80y", "emoji inside text");
	CLEAN("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", "U+10FFFF kept");
	CLEAN("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD, "F5 is never a lead byte");
	CLEAN("\xF8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD,
	    "5-byte form: five U+FFFD");
	CLEAN("\xFE\xFF", FFFD FFFD, "FE FF");
	CLEAN("\x80", FFFD, "lone continuation byte");
	CLEAN("\x80\x80\x80", FFFD FFFD FFFD, "three lone continuation bytes");
	CLEAN("\xC3", FFFD, "lone 2-byte lead at end");
	CLEAN("\xC3" "a", FFFD "a", "2-byte lead before ASCII");
	CLEAN("\xC3\xC3\xA9", FFFD "\xC3\xA9", "lead, then valid pair");
	CLEAN("\xE2\x82\xAC", "\xE2\x82\xAC", "euro sign kept");
	CLEAN("\xE2\x82\xE2\x82\xAC", FFFD "\xE2\x82\xAC",
	    "truncated 3-byte then valid 3-byte");
	CLEAN("\xE2\x82", FFFD, "truncated 3-byte at end");
	CLEAN("\xF1\x80\x80", FFFD, "truncated 4-byte (F1) at end");
	CLEAN("\xF1\x80\x80\x41", FFFD "A", "truncated 4-byte before ASCII");
	CLEAN("\xED\x9F\xBF", "\xED\x9F\xBF", "U+D7FF kept");
	CLEAN("\xEE\x80\x80", "\xEE\x80\x80", "U+E000 kept");
	CLEAN("\xEF\xBF\xBD", FFFD, "U+FFFD in input kept as is");
	CLEAN("\xEF\xBF\xBF", "\xEF\xBF\xBF", "noncharacter U+FFFF is not removed");
	CLEAN("\xDF\xBF", "\xDF\xBF", "U+07FF kept");
	CLEAN("\xC2\xA0", "\xC2\xA0", "U+00A0 (first after C1) kept");
	/* the W3C/Unicode table 3-8 example */
	CLEAN("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	    "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d",
	    "Unicode Table 3-8 example");
}

static void
test_clean_controls(void)
{
	CLEAN("a\tb", "a\tb", "TAB kept");
	CLEAN("a\rb", "ab", "CR removed");
	CLEAN("a\nb", "ab", "LF removed");
	CLEAN("a\0b", "ab", "NUL removed");
	CLEAN("\x01\x02\x1B[31mred\x1B[0m", "[31mred[0m", "ESC removed");
	CLEAN("\x1F", "", "0x1F removed");
	CLEAN(" ", " ", "space kept");
	CLEAN("~\x7F~", "~~", "DEL removed");
	CLEAN("a\xC2\x80" "b", "ab", "U+0080 removed");
	CLEAN("a\xC2\x85" "b", "ab", "NEL U+0085 removed");
	CLEAN("a\xC2\x9F" "b", "ab", "U+009F removed");
	CLEAN("\xC2\x9B" "31m", "31m", "C1 CSI removed");
	CLEAN("\x01\x02\x03", "", "only controls: empty result");
	CLEAN("\xC2", FFFD, "C2 at end is invalid, not a control");
	CLEAN("\xC2\x7F", FFFD, "C2 then DEL: U+FFFD, DEL removed");
	CLEAN("\xE2\x82\n", FFFD, "truncated sequence then LF");
	CLEAN("\xC0\x80", FFFD FFFD, "overlong NUL is not a NUL");
	CLEAN("\xC1\x81", FFFD FFFD, "overlong 'A' is not an A");
}

/* Every byte value alone, and every pair, against the model. */
static void
test_clean_exhaustive_short(void)
{
	unsigned char in[4], want[16], got[16];
	size_t n, wn;
	unsigned a, b, c;
	long bad = 0, badvalid = 0;

	for (a = 0; a < 256; a++) {
		in[0] = a;
		wn = model_clean(in, 1, want);
		n = text_clean((char *)in, 1, (char *)got);
		if (n != wn || memcmp(got, want, n) != 0) {
			if (bad++ < 5)
				is_mem(got, n, want, wn, "clean of byte %02X", a);
		}
		if (text_utf8_valid((char *)in, 1) != model_valid(in, 1) &&
		    badvalid++ < 5)
			fail("text_utf8_valid of byte %02X", a);
	}
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			in[0] = a;
			in[1] = b;
			wn = model_clean(in, 2, want);
			n = text_clean((char *)in, 2, (char *)got);
			if ((n != wn || memcmp(got, want, n) != 0) &&
			    bad++ < 5)
				is_mem(got, n, want, wn,
				    "clean of bytes %02X %02X", a, b);
			if (text_utf8_valid((char *)in, 2) !=
			    model_valid(in, 2) && badvalid++ < 5)
				fail("text_utf8_valid of %02X %02X", a, b);
		}
	/* all lead bytes E0..F4 with every second byte and a few thirds */
	for (a = 0xE0; a <= 0xF4; a++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < 256; c += 1) {
				static const unsigned char last[] =
				    { 0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF,
				      0xC0, 0xC2, 0xE0, 0xF0, 0xFF };
				size_t k;

				in[0] = a;
				in[1] = b;
				in[2] = c;
				for (k = 0; k <= sizeof(last); k++) {
					size_t len = k == sizeof(last) ? 3 : 4;

					if (k < sizeof(last))
						in[3] = last[k];
					wn = model_clean(in, len, want);
					n = text_clean((char *)in, len,
					    (char *)got);
					if ((n != wn ||
					    memcmp(got, want, n) != 0) &&
					    bad++ < 5)
						is_mem(got, n, want, wn,
						    "clean of %02X %02X %02X "
						    "(+%zu)", a, b, c, len - 3);
					if (text_utf8_valid((char *)in, len) !=
					    model_valid(in, len) &&
					    badvalid++ < 5)
						fail("text_utf8_valid of %02X "
						    "%02X %02X (+%zu)", a, b,
						    c, len - 3);
				}
			}
	is_int(bad, 0, "text_clean matches the maximal-subpart model on "
	    "all 1- and 2-byte inputs and 3/4-byte inputs with leads E0..F4");
	is_int(badvalid, 0, "text_utf8_valid matches the model on the same");
}

/* Random strings biased toward interesting bytes, against the model. */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static unsigned char
rng_byte(void)
{
	static const unsigned char pick[] = {
		0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x41, 0x7C, 0x7F,
		0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
		0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF4,
		0xF5, 0xFF
	};

	if (rng() % 3 == 0)
		return (unsigned char)rng();
	return pick[rng() % sizeof(pick)];
}

static void
test_clean_random(void)
{
	unsigned char in[64], want[3 * 64], *got;
	size_t len, wn, n, i;
	long iter, bad = 0, badvalid = 0, badname = 0;

	got = malloc(3 * 64);
	for (iter = 0; iter < 300000; iter++) {
		len = rng() % 40;
		for (i = 0; i < len; i++)
			in[i] = rng_byte();
		wn = model_clean(in, len, want);
		n = text_clean((char *)in, len, (char *)got);
		if ((n != wn || memcmp(got, want, n) != 0) && bad++ < 5)
			is_mem(got, n, want, wn, "random clean #%ld", iter);
		if (n <= 3 * len && !model_valid(got, n) && bad++ < 5)
			fail("random clean #%ld: output is not valid UTF-8",
			    iter);
		if (text_utf8_valid((char *)in, len) != model_valid(in, len) &&
		    badvalid++ < 5)
		{
			fail("random valid #%ld: got %d", iter,
			    text_utf8_valid((char *)in, len));
			tap_print_mem("input", in, len);
		}
		{
			const char *g = text_name_error((char *)in, len);
			const char *w = model_name_error(in, len);

			if ((g == NULL) != (w == NULL) ||
			    (g != NULL && strcmp(g, w) != 0)) {
				if (badname++ < 5) {
					is_str(g, w, "random name #%ld", iter);
					tap_print_mem("name", in, len);
				}
			}
		}
	}
	free(got);
	is_int(bad, 0, "text_clean matches the model on 300000 random inputs");
	is_int(badvalid, 0, "text_utf8_valid matches the model on them");
	is_int(badname, 0, "text_name_error matches the model on them");
}

/* Cleaning is idempotent, and a clean, valid input comes back as is. */
static void
test_clean_properties(void)
{
	unsigned char in[200], *a, *b;
	size_t len, n1, n2, i;
	long iter, bad = 0;

	a = malloc(3 * sizeof(in));
	b = malloc(9 * sizeof(in));
	for (iter = 0; iter < 20000; iter++) {
		len = rng() % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = rng_byte();
		n1 = text_clean((char *)in, len, (char *)a);
		n2 = text_clean((char *)a, n1, (char *)b);
		if ((n1 != n2 || memcmp(a, b, n1) != 0) && bad++ < 3)
			is_mem(b, n2, a, n1, "clean(clean(x)) == clean(x)");
	}
	is_int(bad, 0, "text_clean is idempotent on 20000 random inputs");

	{
		static const char big[] =
		    "Grüße, 世界! \xF0\x9F\x8E\x89 tab\there | pipe ~ "
		    "\xE2\x80\x8B zero-width \xEF\xBB\xBF bom";
		CLEAN(big, big, "valid mixed text without controls unchanged");
	}

	/* a long input: the worst case, all invalid bytes */
	{
		size_t L = 100000;
		char *in2 = malloc(L), *out;

		memset(in2, 0xFF, L);
		n1 = clean(in2, L, &out);
		is_int(n1, 3 * L, "100000 x FF -> 100000 x U+FFFD (3*len)");
		bad = 0;
		for (i = 0; i + 3 <= n1; i += 3)
			if (memcmp(out + i, FFFD, 3) != 0)
				bad++;
		is_int(bad, 0, "... all of them U+FFFD");
		free(out);
		memset(in2, 0x01, L);
		n1 = clean(in2, L, &out);
		is_int(n1, 0, "100000 x 0x01 -> nothing");
		free(out);
		free(in2);
	}
	free(a);
	free(b);
}

/* ---- text_utf8_valid ---------------------------------------------------- */

static void
test_valid(void)
{
	VALID("", 1, "empty string");
	VALID("plain", 1, "ASCII");
	VALID("\0", 1, "NUL is valid UTF-8");
	VALID("\x7F", 1, "DEL is valid UTF-8");
	VALID("\xC2\x80", 1, "U+0080 is valid UTF-8 (a control, but valid)");
	VALID("\xC3\xA9", 1, "e acute");
	VALID("\xE6\x9D\x9C\xE5\x85\x8B", 1, "CJK");
	VALID("\xF0\x9F\x98\x80", 1, "emoji");
	VALID("\xF4\x8F\xBF\xBF", 1, "U+10FFFF");
	VALID("\xEF\xBF\xBF", 1, "U+FFFF");
	VALID("\xED\x9F\xBF", 1, "U+D7FF");
	VALID("\xEE\x80\x80", 1, "U+E000");
	VALID("\x80", 0, "lone continuation");
	VALID("\xC0\x80", 0, "overlong NUL");
	VALID("\xC1\xBF", 0, "overlong U+007F");
	VALID("\xE0\x80\xAF", 0, "overlong '/' in 3 bytes");
	VALID("\xE0\x9F\xBF", 0, "overlong U+07FF in 3 bytes");
	VALID("\xF0\x80\x80\xAF", 0, "overlong '/' in 4 bytes");
	VALID("\xF0\x8F\xBF\xBF", 0, "overlong U+FFFF in 4 bytes");
	VALID("\xED\xA0\x80", 0, "surrogate U+D800");
	VALID("\xED\xBF\xBF", 0, "surrogate U+DFFF");
	VALID("\xED\xA0\xBD\xED\xB8\x80", 0, "CESU-8 surrogate pair");
	VALID("\xF4\x90\x80\x80", 0, "U+110000");
	VALID("\xF5\x80\x80\x80", 0, "F5 lead");
	VALID("\xFF", 0, "FF");
	VALID("\xFE", 0, "FE");
	VALID("\xC3", 0, "truncated at end");
	VALID("abc\xE2\x82", 0, "truncated 3-byte at end");
	VALID("\xF0\x9F\x98", 0, "truncated 4-byte at end");
	VALID("\xC3\xA9\xC3", 0, "valid then truncated");
	VALID("\xC3" "a", 0, "lead followed by ASCII");
	VALID("\xE2\x82\xAC\x80", 0, "valid then stray continuation");
	VALID("a\0\xFF", 0, "invalid byte after a NUL is still seen");
}

/* ---- text_is_blank ------------------------------------------------------ */

static void
test_blank(void)
{
	is_int(text_is_blank("", 0), 1, "blank: empty");
	is_int(text_is_blank("xyz", 0), 1, "blank: len 0 of a nonempty buffer");
	is_int(text_is_blank(" ", 1), 1, "blank: one space");
	is_int(text_is_blank("\t", 1), 1, "blank: one tab");
	is_int(text_is_blank(" \t  \t\t ", 7), 1, "blank: spaces and tabs");
	is_int(text_is_blank("a", 1), 0, "blank: a letter");
	is_int(text_is_blank("   a", 4), 0, "blank: letter after spaces");
	is_int(text_is_blank("a   ", 4), 0, "blank: letter before spaces");
	is_int(text_is_blank("  .  ", 5), 0, "blank: a dot inside");
	is_int(text_is_blank("   x", 3), 1, "blank: only the first len bytes");
	is_int(text_is_blank("\xC2\xA0", 2), 1,
	    "blank: U+00A0 is white space too");
	is_int(text_is_blank(FFFD, 3), 0, "blank: U+FFFD is content");
	is_int(text_is_blank(" \0 ", 3), 0, "blank: NUL is not space or tab");
	is_int(text_is_blank("\n", 1), 1, "blank: LF is white space");
}

/* ---- text_name_error ---------------------------------------------------- */

static void
test_names(void)
{
	char buf[64];

	NAME("alice", NULL, "plain ASCII name");
	NAME("a", NULL, "one character");
	NAME("Bob_the-2nd.", NULL, "punctuation");
	NAME("\xE6\x9D\x9C\xE5\x85\x8B", NULL, "CJK name (6 bytes)");
	NAME("J\xC3\xBCrgen", NULL, "Latin-1 letter");
	NAME("\xF0\x9F\x98\x80", NULL, "emoji name");
	NAME("[]{}()<>#@!", NULL, "brackets and symbols");
	NAME("", "name is empty", "empty");
	is_str(text_name_error("x", 0), "name is empty",
	    "name: len 0 of a nonempty buffer");

	memset(buf, 'n', sizeof(buf));
	is_str(text_name_error(buf, 32), NULL, "name: 32 bytes is allowed");
	is_str(text_name_error(buf, 33), "name is longer than 32 bytes",
	    "name: 33 bytes is too long");
	is_str(text_name_error(buf, 64), "name is longer than 32 bytes",
	    "name: 64 bytes is too long");
	/* 10 x 3-byte chars = 30 bytes ok; 11 = 33 bytes too long */
	for (int i = 0; i < 11; i++)
		memcpy(buf + 3 * i, "\xE6\x9D\x9C", 3);
	is_str(text_name_error(buf, 30), NULL,
	    "name: 10 CJK characters (30 bytes) ok");
	is_str(text_name_error(buf, 33), "name is longer than 32 bytes",
	    "name: 11 CJK characters (33 bytes) too long, bytes not chars");
	/* 8 emoji = 32 bytes */
	for (int i = 0; i < 8; i++)
		memcpy(buf + 4 * i, "\xF0\x9F\x98\x80", 4);
	is_str(text_name_error(buf, 32), NULL, "name: 8 emoji (32 bytes) ok");

	NAME("\xFF", "name is not valid UTF-8", "FF");
	NAME("ab\xC3", "name is not valid UTF-8", "truncated sequence");
	NAME("\xC0\xAF", "name is not valid UTF-8", "overlong");
	NAME("\xED\xA0\x80", "name is not valid UTF-8", "surrogate");
	NAME("\xF4\x90\x80\x80", "name is not valid UTF-8", "above U+10FFFF");

	NAME("a b", "name contains a space", "space inside");
	NAME(" ab", "name contains a space", "leading space");
	NAME("ab ", "name contains a space", "trailing space");
	NAME(" ", "name contains a space", "only a space");
	NAME("a\tb", "name contains a control character", "TAB");
	NAME("a\nb", "name contains a control character", "LF");
	NAME("a\rb", "name contains a control character", "CR");
	NAME("a\0b", "name contains a control character", "NUL");
	NAME("\x1B[1m", "name contains a control character", "ESC");
	NAME("a\x7F", "name contains a control character", "DEL");
	NAME("a\xC2\x80", "name contains a control character", "U+0080");
	NAME("a\xC2\x85", "name contains a control character", "U+0085");
	NAME("a\xC2\x9F", "name contains a control character", "U+009F");
	NAME("a|b", "name contains '|'", "pipe");
	NAME("|", "name contains '|'", "only a pipe");

	/* order: empty, long, UTF-8, then the first offending character */
	memset(buf, ' ', 40);
	is_str(text_name_error(buf, 40), "name is longer than 32 bytes",
	    "name: too long wins over space");
	memset(buf, 0xFF, 40);
	is_str(text_name_error(buf, 40), "name is longer than 32 bytes",
	    "name: too long wins over invalid UTF-8");
	NAME("a b\xFF", "name is not valid UTF-8", "invalid UTF-8 wins over "
	    "an earlier space");
	NAME("|\t\xC0", "name is not valid UTF-8", "invalid UTF-8 wins over "
	    "an earlier pipe and TAB");
	NAME("a b|c\t", "name contains a space", "space first");
	NAME("a|b c\t", "name contains '|'", "pipe first");
	NAME("a\tb c|", "name contains a control character", "TAB first");
	NAME("a\xC2\x85|", "name contains a control character",
	    "C1 before pipe");
	NAME("|\xC2\x85", "name contains '|'", "pipe before C1");
	NAME("\x7F ", "name contains a control character", "DEL before space");
	NAME(" \x7F", "name contains a space", "space before DEL");
}

/* Every name of one or two bytes, against the model. */
static void
test_names_exhaustive(void)
{
	unsigned char in[2];
	unsigned a, b;
	long bad = 0;
	const char *g, *w;

	for (a = 0; a < 256; a++)
		for (b = 0; b < 257; b++) {
			size_t len = b == 256 ? 1 : 2;

			in[0] = a;
			in[1] = b & 0xFF;
			g = text_name_error((char *)in, len);
			w = model_name_error(in, len);
			if (((g == NULL) != (w == NULL) ||
			    (g != NULL && strcmp(g, w) != 0)) && bad++ < 5)
				is_str(g, w, "name of bytes %02X %02X (len %zu)",
				    a, b & 0xFF, len);
		}
	is_int(bad, 0, "text_name_error matches the model on all 1- and "
	    "2-byte names");
}

/* Separators, bidi controls and blank-looking lines (issue: forged lines). */
static void
test_clean_forgery(void)
{
#define LS "\xE2\x80\xA8"
#define PS "\xE2\x80\xA9"
#define RLO "\xE2\x80\xAE"
#define LRE "\xE2\x80\xAA"
#define PDF "\xE2\x80\xAC"
#define RLI "\xE2\x81\xA7"
#define PDI "\xE2\x81\xA9"
	CLEAN("hello" LS "* admin joined", "hello * admin joined",
	    "line separator becomes a space");
	CLEAN("a" PS "b", "a b", "paragraph separator becomes a space");
	CLEAN(RLO "olleh", RLO "olleh" PDF, "an open override is closed");
	CLEAN(RLI "abc", RLI "abc" PDI, "an open isolate is closed");
	CLEAN(RLO "a" PDF "b", RLO "a" PDF "b", "a balanced override is kept");
	CLEAN("a" PDF PDI "b", "ab", "closers without openers are dropped");
	CLEAN(RLI RLO "x" PDI "y", RLI RLO "x" PDI "y",
	    "PDI closes the override inside its isolate");
	CLEAN(LRE RLI "x" PDF "y", LRE RLI "xy" PDI PDF,
	    "PDF does not close an isolate");
	CLEAN(LRE "x" PDI "y" PDF, LRE "xy" PDF,
	    "a PDI with no isolate open closes nothing");
	ok(text_is_blank("\xE2\x80\x8B\xE2\x80\x8B", 6),
	    "blank: zero-width spaces only");
	ok(text_is_blank(" \xE2\xA0\x80\xE3\x85\xA4\xC2\xA0", 9),
	    "blank: braille blank, Hangul filler, no-break space");
	ok(text_is_blank(RLO PDF, 6), "blank: bidi controls only");
	ok(!text_is_blank("\xE2\x80\x8B" "x", 4), "not blank: x");
#undef LS
#undef PS
#undef RLO
#undef LRE
#undef PDF
#undef RLI
#undef PDI
}

int
main(void)
{
	test_clean_examples();
	test_clean_forgery();
	test_clean_controls();
	test_clean_exhaustive_short();
	test_clean_random();
	test_clean_properties();
	test_valid();
	test_blank();
	test_names();
	test_names_exhaustive();
	return done_testing();
}
