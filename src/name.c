/*
 * Names: which names a user may choose, and when two names are the same.
 *
 * text_name_error() (text.c) checks the bytes: length, UTF-8, no space,
 * control character or '|'.  This file adds the rules that keep a name
 * from passing for the server or for another user:
 *
 *   - no other space character (NO-BREAK SPACE and the like), no invisible
 *     character (Unicode format characters such as zero-width joiners and
 *     bidi overrides, and other default-ignorable code points except the
 *     variation selectors of emoji), no unassigned or private-use code
 *     point, and no combining mark as the first character;
 *   - after folding: no '*' or '!' first (notices and errors start so), no
 *     ':' (chat is "[name]: text", and every default name, an address, has
 *     one, so a chosen name never looks like a default one) and no bracket
 *     of any kind (ASCII ()[]{}<> and every Unicode opening or closing
 *     punctuation, e.g. the CJK 【】).
 *
 * Two names are the same name when their folded forms are equal: NFKC with
 * full case folding, default-ignorable code points removed, as the
 * distribution's utf8proc computes it ("Duke", "duke" and the fullwidth
 * "Ｄｕｋｅ" are one name).  The rules on the folded form catch the
 * compatibility forms of '*', '!', ':', '|' and brackets ("＊", "：", "［",
 * "⑴").
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "chatd.h"

#define NAME_FOLD_OPTIONS (UTF8PROC_STABLE | UTF8PROC_COMPAT | \
	UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Code points held on the stack while folding; longer input is rare. */
#define NAME_FOLD_STACK	256
/* Longer input is no name (default names, addresses, are below 100). */
#define NAME_FOLD_MAX	1024

/* Whether a code point is a variation selector (it picks a glyph style). */
static int
is_variation_selector(utf8proc_int32_t cp)
{
	return ((cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef) ||
	    (cp >= 0x180b && cp <= 0x180d) || cp == 0x180f);
}

/*
 * Fold s[0..len) into the key two names are compared by.  Returns the key
 * (NUL-terminated, from xmalloc) and its length in *keylen, or NULL if s
 * is not valid UTF-8 or longer than any name.
 */
char *
name_fold(const char *s, size_t len, size_t *keylen)
{
	utf8proc_int32_t	 stackbuf[NAME_FOLD_STACK], *buf = stackbuf;
	utf8proc_ssize_t	 n, cap = NAME_FOLD_STACK;
	char			*key;

	if (len > NAME_FOLD_MAX)
		return (NULL);
	/* One element is kept for the NUL utf8proc_reencode() writes. */
	n = utf8proc_decompose((const utf8proc_uint8_t *)s,
	    (utf8proc_ssize_t)len, buf, cap - 1, NAME_FOLD_OPTIONS);
	if (n >= cap) {
		cap = n + 1;
		buf = xcalloc((size_t)cap, sizeof *buf);
		n = utf8proc_decompose((const utf8proc_uint8_t *)s,
		    (utf8proc_ssize_t)len, buf, cap - 1, NAME_FOLD_OPTIONS);
	}
	if (n >= 0 && n < cap)
		n = utf8proc_reencode(buf, n, NAME_FOLD_OPTIONS);
	else if (n >= 0)
		n = UTF8PROC_ERROR_OVERFLOW;	/* input changed: impossible */
	if (n < 0) {
		if (buf != stackbuf)
			free(buf);
		return (NULL);
	}
	key = xmalloc((size_t)n + 1);
	memcpy(key, buf, (size_t)n);
	key[n] = '\0';
	if (buf != stackbuf)
		free(buf);
	*keylen = (size_t)n;
	return (key);
}

/* The rules on each code point of the name as typed. */
static const char *
name_error_chars(const char *s, size_t len)
{
	const utf8proc_uint8_t	*u = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t	 i = 0, n;
	utf8proc_int32_t	 cp;
	const utf8proc_property_t *p;

	while ((size_t)i < len) {
		n = utf8proc_iterate(u + i, (utf8proc_ssize_t)len - i, &cp);
		if (n <= 0)
			return ("name is not valid UTF-8");
		p = utf8proc_get_property(cp);
		switch (p->category) {
		case UTF8PROC_CATEGORY_ZS:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return ("name contains a space");
		case UTF8PROC_CATEGORY_CF:
			return ("name contains an invisible character");
		case UTF8PROC_CATEGORY_CN:
		case UTF8PROC_CATEGORY_CO:
			return ("name contains an unassigned or private-use "
			    "character");
		case UTF8PROC_CATEGORY_MN:
		case UTF8PROC_CATEGORY_MC:
		case UTF8PROC_CATEGORY_ME:
			if (i == 0)
				return ("name starts with a combining mark");
			break;
		default:
			break;
		}
		if (p->ignorable && !is_variation_selector(cp))
			return ("name contains an invisible character");
		i += n;
	}
	return (NULL);
}

/* The rules on the folded name. */
static const char *
name_error_key(const char *key, size_t keylen)
{
	const utf8proc_uint8_t	*u = (const utf8proc_uint8_t *)key;
	utf8proc_ssize_t	 i = 0, n;
	utf8proc_int32_t	 cp;
	utf8proc_category_t	 cat;

	if (keylen == 0)
		return ("name is empty");
	if (key[0] == '*')
		return ("name starts with '*'");
	if (key[0] == '!')
		return ("name starts with '!'");
	while ((size_t)i < keylen) {
		n = utf8proc_iterate(u + i, (utf8proc_ssize_t)keylen - i, &cp);
		if (n <= 0)
			return ("name is not valid UTF-8");
		if (cp == ':')
			return ("name contains ':'");
		cat = utf8proc_category(cp);
		if (cp == '<' || cp == '>' || cat == UTF8PROC_CATEGORY_PS ||
		    cat == UTF8PROC_CATEGORY_PE)
			return ("name contains a bracket");
		if (cp == '|')	/* the fullwidth one */
			return ("name contains '|'");
		i += n;
	}
	return (NULL);
}

/*
 * Check a name a user asked for.  Returns NULL if it may be used (whether
 * another user holds it is the registry's question) and, if keyp is not
 * NULL, its folded key in *keyp (from xmalloc) and *keylenp; otherwise
 * returns the reason why not, worded for the user.
 */
const char *
name_check(const char *s, size_t len, char **keyp, size_t *keylenp)
{
	const char	*why;
	char		*key;
	size_t		 keylen;

	if ((why = text_name_error(s, len)) != NULL ||
	    (why = name_error_chars(s, len)) != NULL)
		return (why);
	if ((key = name_fold(s, len, &keylen)) == NULL)
		return ("name is not valid UTF-8");
	if ((why = name_error_key(key, keylen)) != NULL) {
		free(key);
		return (why);
	}
	if (keyp != NULL) {
		*keyp = key;
		*keylenp = keylen;
	} else
		free(key);
	return (NULL);
}
