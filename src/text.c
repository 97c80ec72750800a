/*
 * Text rules: what chatd lets through to other users.  UTF-8 is decoded by
 * hand (no locale), invalid input is replaced by U+FFFD once per maximal
 * subpart, the practice the Unicode Standard recommends (chapter 3, "U+FFFD
 * Substitution of Maximal Subparts") and browsers follow.
 *
 * A line must stay one line, and what one user wrote must not change how
 * the rest of the line reads:
 *   - U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR become spaces
 *     (a client that honours them would show "[eve]: hi\u2028* admin
 *     joined" as a notice of its own);
 *   - bidi embeddings, overrides and isolates (U+202A..U+202E,
 *     U+2066..U+2069) are balanced: a closer without its opener is
 *     dropped, and what is still open at the end of the text is closed
 *     there, so a right-to-left override reaches no further than the
 *     text it was typed in (input is cleaned on its own before a plugin
 *     puts it into a line, and the whole line again on output).
 */

#include "config.h"

#include <string.h>

#include <unicode/uchar.h>

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

/* Bidi controls: the openers, and which closer each takes. */
#define BIDI_PDF	0x202c	/* closes an embedding or override */
#define BIDI_PDI	0x2069	/* closes an isolate */
#define BIDI_DEPTH	125	/* UAX #9's deepest nesting */

/* The closer an opener takes, or 0 if cp opens nothing. */
static long
bidi_closer(long cp)
{
	if ((cp >= 0x202a && cp <= 0x202b) || (cp >= 0x202d && cp <= 0x202e))
		return (BIDI_PDF);
	if (cp >= 0x2066 && cp <= 0x2068)
		return (BIDI_PDI);
	return (0);
}

/* Write a code point of the BMP as UTF-8 (three bytes: U+0800..). */
static size_t
put3(char *out, long cp)
{
	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return (3);
}

/*
 * Copy in to out dropping control characters, replacing invalid UTF-8
 * with U+FFFD and line and paragraph separators with spaces, balancing
 * bidi controls.  out must hold TEXT_CLEAN_MAX(len) bytes: every input
 * byte becomes at most one three-byte replacement, and a three-byte opener
 * at most itself and its three-byte closer.  Returns the bytes written.
 */
size_t
text_clean(const char *in, size_t len, char *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i = 0, o = 0, n, depth = 0;
	long			 cp, closer, open[BIDI_DEPTH];

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {	/* the common case */
			out[o++] = (char)s[i++];
			continue;
		}
		n = text_utf8_decode(s + i, len - i, &cp);
		i += n;
		if (cp < 0) {
			memcpy(out + o, replacement, 3);
			o += 3;
		} else if (is_control(cp))
			continue;
		else if (cp == 0x2028 || cp == 0x2029)
			out[o++] = ' ';
		else if ((closer = bidi_closer(cp)) != 0) {
			if (depth == BIDI_DEPTH)
				continue;	/* past UAX #9's limit */
			open[depth++] = closer;
			o += put3(out + o, cp);
		} else if (cp == BIDI_PDF) {
			if (depth > 0 && open[depth - 1] == BIDI_PDF) {
				depth--;
				o += put3(out + o, cp);
			}
		} else if (cp == BIDI_PDI) {
			/* It closes its isolate and what is open inside; with
			 * no isolate open it is dropped and closes nothing. */
			size_t	 d = depth;

			while (d > 0 && open[d - 1] != BIDI_PDI)
				d--;
			if (d > 0) {
				depth = d - 1;
				o += put3(out + o, cp);
			}
		} else {
			memcpy(out + o, s + i - n, n);
			o += n;
		}
	}
	while (depth > 0)
		o += put3(out + o, open[--depth]);
	return (o);
}

/*
 * Whether s holds nothing a reader would see: white space of any kind,
 * default-ignorable code points (zero-width spaces and joiners, bidi
 * controls, Hangul fillers) and U+2800 BRAILLE PATTERN BLANK, a symbol
 * drawn as a space.  s is valid UTF-8 (cleaned); other bytes count as
 * visible.
 */
int
text_is_blank(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0;
	long			 cp;

	while (i < len) {
		if (u[i] < 0x80) {
			if (strchr(" \t\n\v\f\r", u[i]) == NULL || u[i] == 0)
				return (0);
			i++;
			continue;
		}
		i += text_utf8_decode(u + i, len - i, &cp);
		if (cp < 0 || !(u_isUWhiteSpace((UChar32)cp) || cp == 0x2800 ||
		    u_hasBinaryProperty((UChar32)cp,
		    UCHAR_DEFAULT_IGNORABLE_CODE_POINT)))
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
