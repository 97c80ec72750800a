/*
 * Text rules: what chatd lets through to other users.  UTF-8 is decoded by
 * hand (no locale), invalid input is replaced by U+FFFD once per maximal
 * subpart, the practice the Unicode Standard recommends (chapter 3, "U+FFFD
 * Substitution of Maximal Subparts") and browsers follow.
 */

#include "config.h"

#include <string.h>

#include "chatd.h"

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/*
 * Decode one character at s[0..len).  Returns the number of bytes it takes
 * and sets *cp, or, for an invalid sequence, returns the length of its
 * maximal subpart (at least 1) and sets *cp to -1.
 */
size_t
text_utf8_decode(const unsigned char *s, size_t len, long *cp)
{
	unsigned char	b = s[0], lo = 0x80, hi = 0xbf;
	size_t		need, i;
	long		c;

	if (b < 0x80) {
		*cp = b;
		return (1);
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;	/* no overlongs */
		else if (b == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;	/* no overlongs */
		else if (b == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else {
		*cp = -1;	/* 80..C1, F5..FF never start a character */
		return (1);
	}

	for (i = 1; i <= need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*cp = -1;
			return (i);
		}
		c = (c << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return (need + 1);
}

/* Whether a code point is one chatd strips: C0 but TAB, DEL, C1. */
static int
is_control(long cp)
{
	return ((cp < 0x20 && cp != '\t') || cp == 0x7f ||
	    (cp >= 0x80 && cp <= 0x9f));
}

/*
 * Copy in to out dropping control characters and replacing invalid UTF-8
 * with U+FFFD.  out must hold TEXT_CLEAN_MAX(len) bytes: every input byte
 * becomes at most one three-byte replacement.  Returns the bytes written.
 */
size_t
text_clean(const char *in, size_t len, char *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i = 0, o = 0, n;
	long			 cp;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {	/* the common case */
			out[o++] = (char)s[i++];
			continue;
		}
		n = text_utf8_decode(s + i, len - i, &cp);
		if (cp < 0) {
			memcpy(out + o, replacement, 3);
			o += 3;
		} else if (!is_control(cp)) {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	return (o);
}

/* Whether s holds nothing but spaces and tabs. */
int
text_is_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return (0);
	}
	return (1);
}

/* Whether s is valid UTF-8. */
int
text_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0;
	long			 cp;

	while (i < len) {
		i += text_utf8_decode(u + i, len - i, &cp);
		if (cp < 0)
			return (0);
	}
	return (1);
}

/*
 * Check a name a user asked for.  Returns NULL if it may be used (whether
 * another user holds it is the registry's question) or the reason why not,
 * worded for the user.
 */
const char *
text_name_error(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0;
	long			 cp;

	if (len == 0)
		return ("name is empty");
	if (len > CHATD_NAME_MAX)
		return ("name is longer than 32 bytes");
	if (!text_utf8_valid(s, len))
		return ("name is not valid UTF-8");
	while (i < len) {
		i += text_utf8_decode(u + i, len - i, &cp);
		if (cp == ' ')
			return ("name contains a space");
		if (cp == '\t' || is_control(cp))
			return ("name contains a control character");
		if (cp == '|')
			return ("name contains '|'");
	}
	return (NULL);
}
