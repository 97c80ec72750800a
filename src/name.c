/*
 * Names: which names a user may choose, and when two names are the same.
 *
 * text_name_error() (text.c) checks the bytes: length, UTF-8, no space,
 * control character or '|'.  This file adds the rules that keep a name
 * from passing for the server, for an address or for another user, on
 * Unicode's security mechanisms (UTS #39) as ICU implements them (spoof.c):
 *
 *   - as typed: no other space character, no invisible character (format
 *     characters such as zero-width joiners and bidi controls, and every
 *     other default-ignorable code point but the variation selectors of
 *     emoji), no unassigned or private-use code point, no combining mark
 *     first;
 *   - on the skeleton (what the name looks like: U+2217 ∗ and U+204E ⁎
 *     are '*', U+01C3 ǃ is '!', U+A789 ꞉, U+2236 ∶ and U+0589 ։ are ':',
 *     U+1438 ᐸ is '<'): no '*' or '!' first (notices and errors start so),
 *     no ':' (chat is "[name]: text", and every default name, an address,
 *     has one: a chosen name never looks like an address), no '|' and no
 *     bracket of any kind;
 *   - every character of its NFKC form in the identifier profile
 *     (spoof_allowed(): UTS #39's Allowed characters, ASCII, emoji);
 *   - at most NAME_MARKS_MAX nonspacing marks in a row (UTS #39 5.4), and
 *     not one mark twice on a letter;
 *   - UTS #39's "highly restrictive" level: one script (Latin, Cyrillic,
 *     Greek, ...), or Latin with the scripts Chinese, Japanese or Korean
 *     are written in; digits of one numbering system.
 *
 * Two names are the same name when their keys are equal.  The NFKC case
 * fold stays (NFKC_Casefold, which also removes default-ignorable code
 * points): case and width do not make another name ("Duke", "duke" and
 * "Ｄｕｋｅ" are one, as before).  The confusable skeleton is added on top:
 * look-alikes are one name ("аlice" with a Cyrillic а, "a1ice").  The key
 * is the case fold, its skeleton with every 'i' written as 'l', again
 * until nothing changes (a skeleton may hold capitals: that of "0" is
 * "O").  The i as l: folding makes a capital I, which looks like l, an
 * i, so without it "aIice" would escape "alice" ("Ian", "ian" and "lan"
 * are one name).
 * A default name, an address, is its own key.  Some names that merely
 * look similar become one name (b0b, bob and BOB;
 * rn and m): refusing a name costs less than letting one pass for
 * another.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "chatd.h"
#include "spoof.h"

/* Longer input is no name (default names, addresses, are below 100). */
#define NAME_FOLD_MAX	1024
/* Nonspacing marks in a row, at most (the figure UTS #39 5.4 suggests). */
#define NAME_MARKS_MAX	4
/* Rounds of folding for a key; two or three reach the fixed point. */
#define NAME_KEY_ROUNDS	8

/* Whether a code point is a variation selector (it picks a glyph style). */
static int
is_variation_selector(UChar32 cp)
{
	return ((cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef) ||
	    (cp >= 0x180b && cp <= 0x180d) || cp == 0x180f);
}

/* Whether a code point is a combining mark of any kind. */
static int
is_mark(UChar32 cp)
{
	return ((U_GET_GC_MASK(cp) & U_GC_M_MASK) != 0);
}

/*
 * The key of a name, in *key: case fold, skeleton and i as l, again until
 * nothing changes (a skeleton may hold capitals: that of "0" is "O"), so
 * the key of a key is itself.  Returns -1 if ICU fails.
 */
static int
name_key(struct ustr *key, const struct ustr *nfkc)
{
	struct ustr		 a = { NULL, 0 }, b = { NULL, 0 };
	const struct ustr	*src = nfkc;
	int			 round, r = 0, same;
	int32_t			 i;

	for (round = 0; round < NAME_KEY_ROUNDS; round++) {
		if ((r = spoof_nfkc_casefold(&b, src)) == -1)
			break;
		spoof_free(&a);
		if ((r = spoof_skeleton(&a, &b)) == -1)
			break;
		for (i = 0; i < a.len; i++) {
			if (a.s[i] == 'i')
				a.s[i] = 'l';
		}
		same = a.len == b.len && u_memcmp(a.s, b.s, a.len) == 0;
		spoof_free(&b);
		if (same)
			break;
		src = &a;
	}
	spoof_free(&b);
	if (r == -1) {
		spoof_free(&a);
		return (-1);
	}
	*key = a;
	return (0);
}

/*
 * Fold any text s[0..len) as names are compared (for wordfilter and the
 * like: chat.fold).  Returns the fold (NUL-terminated, from xmalloc) and
 * its length in *outlen, or NULL if s is not valid UTF-8.
 */
char *
name_fold_text(const char *s, size_t len, size_t *outlen)
{
	struct ustr	 u = { NULL, 0 }, nfkc = { NULL, 0 }, key = { NULL, 0 };
	char		*out = NULL;

	if (spoof_from_utf8(&u, s, len) == -1)
		return (NULL);
	if (spoof_nfkc(&nfkc, &u) == 0 && name_key(&key, &nfkc) == 0)
		out = spoof_to_utf8(&key, outlen);
	spoof_free(&u);
	spoof_free(&nfkc);
	spoof_free(&key);
	return (out);
}

/*
 * Fold s[0..len) into the key two names are compared by.  Returns the key
 * (NUL-terminated, from xmalloc) and its length in *keylen, or NULL if s
 * is not valid UTF-8 or longer than any name.
 */
char *
name_fold(const char *s, size_t len, size_t *keylen)
{
	char	*out;

	if (len > NAME_FOLD_MAX || !text_utf8_valid(s, len))
		return (NULL);
	/* A name with ':' is a default one, an address (a chosen name has
	 * none, nor anything that looks like one): its key is itself, as
	 * the cluster's Redis holds it. */
	if (memchr(s, ':', len) != NULL) {
		out = xmalloc(len + 1);
		memcpy(out, s, len);
		out[len] = '\0';
		*keylen = len;
		return (out);
	}
	return (name_fold_text(s, len, keylen));
}

/* The rules on each code point of the name as typed. */
static const char *
name_error_chars(const struct ustr *u)
{
	int32_t		i = 0;
	UChar32		cp;
	int8_t		type;

	while (i < u->len) {
		U16_NEXT(u->s, i, u->len, cp);
		type = u_charType(cp);
		switch (type) {
		case U_SPACE_SEPARATOR:
		case U_LINE_SEPARATOR:
		case U_PARAGRAPH_SEPARATOR:
			return ("name contains a space");
		case U_FORMAT_CHAR:
			return ("name contains an invisible character");
		case U_UNASSIGNED:
		case U_PRIVATE_USE_CHAR:
		case U_SURROGATE:
			return ("name contains an unassigned or private-use "
			    "character");
		default:
			break;
		}
		if (u_isUWhiteSpace(cp))
			return ("name contains a space");
		if (i == U16_LENGTH(cp) && is_mark(cp))
			return ("name starts with a combining mark");
		if (u_hasBinaryProperty(cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) &&
		    !is_variation_selector(cp))
			return ("name contains an invisible character");
	}
	return (NULL);
}

/*
 * The rules on what the name looks like: its skeleton, and for '|' (whose
 * skeleton is l) its NFKC form.
 */
static const char *
name_error_looks(const struct ustr *skel, const struct ustr *nfkc)
{
	int32_t		i = 0;
	UChar32		cp;
	int8_t		type;

	if (u_memchr(nfkc->s, '|', nfkc->len) != NULL)
		return ("name contains '|'");
	if (skel->len == 0)
		return ("name is empty");
	if (skel->s[0] == '*')
		return ("name starts with '*'");
	if (skel->s[0] == '!')
		return ("name starts with '!'");
	while (i < skel->len) {
		U16_NEXT(skel->s, i, skel->len, cp);
		if (cp == ':')
			return ("name contains ':'");
		type = u_charType(cp);
		if (cp == '<' || cp == '>' || type == U_START_PUNCTUATION ||
		    type == U_END_PUNCTUATION)
			return ("name contains a bracket");
		if (cp == '|')
			return ("name contains '|'");
	}
	return (NULL);
}

/*
 * The identifier profile, and runs of nonspacing marks.  why holds the
 * message when it names the character.
 */
static const char *
name_error_profile(const struct ustr *nfkc, char *why, size_t whylen)
{
	struct ustr	nfd = { NULL, 0 };
	int32_t		i;
	UChar32		cp;
	int		run = 0;

	if (spoof_nfd(&nfd, nfkc) == -1)
		return ("name is not valid UTF-8");
	for (i = 0; i < nfd.len; ) {
		U16_NEXT(nfd.s, i, nfd.len, cp);
		if (!(U_GET_GC_MASK(cp) & (U_GC_MN_MASK | U_GC_ME_MASK)))
			run = 0;
		else if (++run > NAME_MARKS_MAX)
			break;
	}
	spoof_free(&nfd);
	if (run > NAME_MARKS_MAX)
		return ("name has too many combining marks in a row");
	for (i = 0; i < nfkc->len; ) {
		U16_NEXT(nfkc->s, i, nfkc->len, cp);
		if (!spoof_allowed(cp)) {
			snprintf(why, whylen, "name contains U+%04lX, which "
			    "names may not hold", (unsigned long)cp);
			return (why);
		}
	}
	return (NULL);
}

/* UTS #39's checks: restriction level, numbers, a repeated mark. */
static const char *
name_error_mixed(const struct ustr *nfkc)
{
	int	r = spoof_restricted(nfkc);

	if (r & SPOOF_MARKS)
		return ("name repeats a combining mark");
	if (r & SPOOF_NUMBERS)
		return ("name mixes digits of different scripts");
	if (r & SPOOF_SCRIPTS)
		return ("name mixes scripts");
	return (NULL);
}

/*
 * Check a name a user asked for.  Returns NULL if it may be used (whether
 * another user holds it is the registry's question) and, if keyp is not
 * NULL, its key in *keyp (from xmalloc) and *keylenp; otherwise returns
 * the reason why not, worded for the user.
 */
const char *
name_check(const char *s, size_t len, char **keyp, size_t *keylenp)
{
	static char	 why[96];
	struct ustr	 u = { NULL, 0 }, nfkc = { NULL, 0 };
	struct ustr	 skel = { NULL, 0 }, key = { NULL, 0 };
	const char	*err = NULL;

	if ((err = text_name_error(s, len)) != NULL)
		return (err);
	if (spoof_from_utf8(&u, s, len) == -1)
		return ("name is not valid UTF-8");
	if ((err = name_error_chars(&u)) != NULL)
		goto out;
	if (spoof_nfkc(&nfkc, &u) == -1 || spoof_skeleton(&skel, &nfkc) == -1) {
		err = "name is not valid UTF-8";
		goto out;
	}
	if ((err = name_error_looks(&skel, &nfkc)) != NULL ||
	    (err = name_error_profile(&nfkc, why, sizeof why)) != NULL ||
	    (err = name_error_mixed(&nfkc)) != NULL)
		goto out;
	if (name_key(&key, &nfkc) == -1) {
		err = "name is not valid UTF-8";
		goto out;
	}
	if (key.len == 0)
		err = "name is empty";
	else if (keyp != NULL)
		*keyp = spoof_to_utf8(&key, keylenp);
out:
	spoof_free(&u);
	spoof_free(&nfkc);
	spoof_free(&skel);
	spoof_free(&key);
	return (err);
}
