/*
 * fuzz_text.c - libFuzzer target for text.c.
 *
 * text_clean() output must fit in 3*len, be valid UTF-8 (strictly: no
 * overlongs, surrogates or code points above U+10FFFF) and hold no C0
 * control but TAB, no DEL and no C1 control, no line or paragraph
 * separator, and balanced bidi controls (every opener closed, no closer
 * without its opener); cleaning it again must not change it; valid clean
 * input without those must come back unchanged.  text_utf8_valid() must
 * agree with the strict decoder here, text_name_error() must return NULL
 * or one of its six messages, consistently with the name rules, and
 * text_is_blank() must be true for spaces and tabs and false whenever an
 * ASCII character other than white space is present.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Length of the valid sequence at s, or 0 if it is ill-formed. */
static size_t
seq(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else
		return 0;
	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return need + 1;
}

static int
valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = seq(s + i, len - i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int
is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7F ||
	    (cp >= 0x80 && cp <= 0x9F);
}

/* A line or paragraph separator, or a bidi embedding, override or isolate. */
static int
is_forging(uint32_t cp)
{
	return cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/* Valid and without anything text_clean() removes or changes. */
static int
clean_already(const uint8_t *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = seq(s + i, len - i, &cp)) == 0 || is_control(cp) ||
		    is_forging(cp))
			return 0;
		i += n;
	}
	return 1;
}

/*
 * Whether the bidi controls of valid s are balanced: each PDF closes an
 * embedding or override on top, each PDI an isolate (and what is open
 * inside it), nothing is left open.
 */
static int
balanced(const uint8_t *s, size_t len)
{
	char stack[256];
	size_t i = 0, n, top = 0;
	uint32_t cp;

	while (i < len) {
		n = seq(s + i, len - i, &cp);
		i += n;
		if (cp == 0x2028 || cp == 0x2029)
			return 0;
		if ((cp >= 0x202A && cp <= 0x202E && cp != 0x202C) ||
		    (cp >= 0x2066 && cp <= 0x2068)) {
			if (top == sizeof stack)
				return 0;
			stack[top++] = cp >= 0x2066 ? 'I' : 'E';
		} else if (cp == 0x202C) {
			if (top == 0 || stack[top - 1] != 'E')
				return 0;
			top--;
		} else if (cp == 0x2069) {
			while (top > 0 && stack[top - 1] != 'I')
				top--;
			if (top == 0)
				return 0;
			top--;
		}
	}
	return top == 0;
}

static const char *
name_error(const uint8_t *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	if (len == 0)
		return "name is empty";
	if (len > CHATD_NAME_MAX)
		return "name is longer than 32 bytes";
	if (!valid(s, len))
		return "name is not valid UTF-8";
	while (i < len) {
		n = seq(s + i, len - i, &cp);
		if (cp == ' ')
			return "name contains a space";
		if (cp == '\t' || is_control(cp))
			return "name contains a control character";
		if (cp == '|')
			return "name contains '|'";
		i += n;
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in, *out, *again;
	size_t n, n2, i;
	const char *got, *want;
	uint32_t cp;
	int blank;

	/* private copies, exactly sized, so ASan sees any overrun */
	in = malloc(size ? size : 1);
	out = malloc(size > 0 ? TEXT_CLEAN_MAX(size) : 1);
	if (in == NULL || out == NULL)
		abort();
	memcpy(in, data, size);

	n = text_clean((const char *)in, size, (char *)out);
	if (n > TEXT_CLEAN_MAX(size))
		abort();
	for (i = 0; i < n; i += seq(out + i, n - i, &cp)) {
		if (seq(out + i, n - i, &cp) == 0)
			abort();	/* output is not valid UTF-8 */
		if (is_control(cp))
			abort();	/* a control survived */
	}
	if (!text_utf8_valid((const char *)out, n))
		abort();
	if (!balanced(out, n))
		abort();	/* a separator or an unbalanced bidi control */

	/* idempotent */
	again = malloc(n > 0 ? TEXT_CLEAN_MAX(n) : 1);
	if (again == NULL)
		abort();
	n2 = text_clean((const char *)out, n, (char *)again);
	if (n2 != n || memcmp(out, again, n) != 0)
		abort();
	free(again);

	/* clean input passes through untouched */
	if (clean_already(in, size) && (n != size || memcmp(in, out, n) != 0))
		abort();
	/* every byte accounted for: removals, U+FFFD changes, and one
	 * three-byte closer per three-byte opener at most */
	if (valid(in, size) && n > 2 * size)
		abort();

	if (text_utf8_valid((const char *)in, size) != valid(in, size))
		abort();

	got = text_name_error((const char *)in, size);
	want = name_error(in, size);
	if ((got == NULL) != (want == NULL) ||
	    (got != NULL && strcmp(got, want) != 0))
		abort();

	blank = 1;
	for (i = 0; i < size; i++)
		if (in[i] != ' ' && in[i] != '\t')
			blank = 0;
	if (blank && !text_is_blank((const char *)in, size))
		abort();
	for (i = 0; i < size; i++)
		if (in[i] > ' ' && in[i] < 0x7F &&
		    text_is_blank((const char *)in, size))
			abort();	/* visible ASCII is never blank */

	free(in);
	free(out);
	return 0;
}
