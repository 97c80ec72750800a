/*
 * The Unicode security machinery, from the kept implementation: ICU's
 * normalizers and its spoof checker (Unicode Technical Standard #39).
 * name.c builds the rules of names on it; text.c asks it which characters
 * are default-ignorable.
 *
 * Everything works on UTF-16 strings from xmalloc (struct ustr): ICU's own
 * form, so its results are used as they are.  The checker and the sets are
 * made once, on first use; chatd is single-threaded.
 *
 * The identifier profile (spoof_allowed) is UTS #39's: characters whose
 * Identifier_Status is Allowed (ICU's recommended and inclusion sets),
 * plus what a chat name has always been able to hold and cannot pass for
 * another name by itself: printable ASCII (the rules of name.c refuse ':',
 * '|', brackets and a leading '*' or '!') and emoji.  Excluded, with every
 * other Restricted character: small capitals (ᴀʟɪᴄᴇ), mathematical and
 * technical symbols (∣, ∶, ⎡), braille (the blank U+2800), modifier
 * letters (꞉, ː), obsolete and limited-use scripts.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uset.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "chatd.h"
#include "spoof.h"

static USpoofChecker	*spoof_checker;
static USet		*spoof_profile;

/* Make the checker and the profile: once, and fatal if ICU cannot. */
static void
spoof_init(void)
{
	UErrorCode	 e = U_ZERO_ERROR;

	if (spoof_checker != NULL)
		return;
	spoof_checker = uspoof_open(&e);
	/* HIGHLY_RESTRICTIVE (UTS #39 5.2): one script, or Latin with
	 * Han and Hiragana/Katakana, Han and Bopomofo, or Han and Hangul;
	 * Common and Inherited characters (digits, marks) go with any. */
	uspoof_setChecks(spoof_checker, USPOOF_RESTRICTION_LEVEL |
	    USPOOF_MIXED_NUMBERS | USPOOF_INVISIBLE, &e);
	uspoof_setRestrictionLevel(spoof_checker, USPOOF_HIGHLY_RESTRICTIVE);
	spoof_profile = uset_openEmpty();
	uset_addAll(spoof_profile, uspoof_getRecommendedSet(&e));
	uset_addAll(spoof_profile, uspoof_getInclusionSet(&e));
	uset_addRange(spoof_profile, 0x21, 0x7e);
	uset_freeze(spoof_profile);
	if (U_FAILURE(e))
		fatal("ICU spoof checker: %s", u_errorName(e));
}

/* Whether a code point may be part of a name (the profile above). */
int
spoof_allowed(UChar32 c)
{
	spoof_init();
	if (uset_contains(spoof_profile, c))
		return (1);
	/* Emoji: pictographs, skin tones, flags, keycaps, VS16. */
	return (u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC) ||
	    u_hasBinaryProperty(c, UCHAR_EMOJI_MODIFIER) ||
	    u_hasBinaryProperty(c, UCHAR_REGIONAL_INDICATOR) ||
	    c == 0xfe0f || c == 0x20e3);
}

/* Free a string (and make it none). */
void
spoof_free(struct ustr *u)
{
	free(u->s);
	u->s = NULL;
	u->len = 0;
}

/*
 * Run an ICU function that writes a UTF-16 string into (dst, cap) the
 * usual way: once into a guess, again into the size it asks for.
 */
#define SPOOF_GROW(out, guess, call) do {				\
	UErrorCode	e_ = U_ZERO_ERROR;				\
	int32_t		cap = (guess) + 1, n_;				\
	UChar		*dst = xcalloc((size_t)cap, sizeof(UChar));	\
									\
	n_ = (call);							\
	if (e_ == U_BUFFER_OVERFLOW_ERROR) {				\
		free(dst);						\
		cap = n_ + 1;						\
		dst = xcalloc((size_t)cap, sizeof(UChar));		\
		e_ = U_ZERO_ERROR;					\
		n_ = (call);						\
	}								\
	if (U_FAILURE(e_) || n_ > cap) {				\
		free(dst);						\
		return (-1);						\
	}								\
	(out)->s = dst;							\
	(out)->len = n_;						\
	return (0);							\
} while (0)

/* Decode UTF-8 into *out.  Returns -1 if it is not valid UTF-8. */
int
spoof_from_utf8(struct ustr *out, const char *s, size_t len)
{
	if (len > INT32_MAX / 2 || !text_utf8_valid(s, len))
		return (-1);
	SPOOF_GROW(out, (int32_t)len,
	    (u_strFromUTF8(dst, cap, &n_, s, (int32_t)len, &e_), n_));
}

/* Encode as UTF-8 (NUL-terminated, from xmalloc), its length in *len. */
char *
spoof_to_utf8(const struct ustr *u, size_t *len)
{
	UErrorCode	 e = U_ZERO_ERROR;
	int32_t		 n;
	char		*s;

	u_strToUTF8(NULL, 0, &n, u->s, u->len, &e);
	e = U_ZERO_ERROR;
	s = xmalloc((size_t)n + 1);
	u_strToUTF8(s, n + 1, &n, u->s, u->len, &e);
	if (U_FAILURE(e))
		fatal("u_strToUTF8: %s", u_errorName(e));	/* ours: valid */
	*len = (size_t)n;
	return (s);
}

/* Normalize in into *out with one of ICU's normalizers. */
static int
spoof_normalize(const UNormalizer2 *(*get)(UErrorCode *), struct ustr *out,
    const struct ustr *in)
{
	UErrorCode		 e = U_ZERO_ERROR;
	const UNormalizer2	*n = get(&e);

	if (U_FAILURE(e))
		fatal("ICU normalizer: %s", u_errorName(e));
	SPOOF_GROW(out, in->len * 2,
	    unorm2_normalize(n, in->s, in->len, dst, cap, &e_));
}

/* NFKC: compatibility forms as their plain letters (fullwidth Ｄ as D). */
int
spoof_nfkc(struct ustr *out, const struct ustr *in)
{
	return (spoof_normalize(unorm2_getNFKCInstance, out, in));
}

/*
 * NFKC_Casefold: NFKC, full case folding, and default-ignorable code
 * points removed (zero-width spaces, bidi controls, variation selectors).
 */
int
spoof_nfkc_casefold(struct ustr *out, const struct ustr *in)
{
	return (spoof_normalize(unorm2_getNFKCCasefoldInstance, out, in));
}

/* NFD: every mark apart from its letter, to count marks. */
int
spoof_nfd(struct ustr *out, const struct ustr *in)
{
	return (spoof_normalize(unorm2_getNFDInstance, out, in));
}

/*
 * The confusable skeleton of UTS #39: two strings that look alike have
 * the same skeleton ("аlice" with a Cyrillic а, "aIice" and "alice").
 */
int
spoof_skeleton(struct ustr *out, const struct ustr *in)
{
	spoof_init();
	SPOOF_GROW(out, in->len * 2,
	    uspoof_getSkeleton(spoof_checker, 0, in->s, in->len, dst, cap,
	    &e_));
}

/* Which of the checker's tests a string fails: SPOOF_* flags, 0 none. */
int
spoof_restricted(const struct ustr *in)
{
	UErrorCode	e = U_ZERO_ERROR;
	int32_t		r;
	int		flags = 0;

	spoof_init();
	r = uspoof_check(spoof_checker, in->s, in->len, NULL, &e);
	if (U_FAILURE(e))
		return (SPOOF_SCRIPTS);
	if (r & USPOOF_RESTRICTION_LEVEL)
		flags |= SPOOF_SCRIPTS;
	if (r & USPOOF_MIXED_NUMBERS)
		flags |= SPOOF_NUMBERS;
	if (r & USPOOF_INVISIBLE)
		flags |= SPOOF_MARKS;
	return (flags);
}
