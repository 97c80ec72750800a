/*
 * fuzz_name.c - libFuzzer target for name.c: name_check() and name_fold(),
 * with the UTS #39 checks of spoof.c (skeleton, profile, restriction
 * level, runs of marks).
 *
 * name_check() must refuse with one of its messages or accept; an accepted
 * name passes text_name_error(), and its key is NUL-terminated UTF-8 with
 * no NUL inside, equal to name_fold() of the name, folded already (folding
 * it again changes nothing), free of every character the rules refuse in a
 * key, unchanged when the ASCII letters of the name change case, and
 * holds no 'i' (the key writes it as l); every character of an accepted
 * name is in the identifier profile, so no accepted name holds U+2800.
 * name_fold() folds exactly the valid UTF-8 inputs of at most 1024 bytes.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const messages[] = {
	"name is empty",
	"name is longer than 32 bytes",
	"name is not valid UTF-8",
	"name contains a space",
	"name contains a control character",
	"name contains '|'",
	"name contains an invisible character",
	"name contains an unassigned or private-use character",
	"name starts with a combining mark",
	"name starts with '*'",
	"name starts with '!'",
	"name contains ':'",
	"name contains a bracket",
	"name has too many combining marks in a row",
	"name repeats a combining mark",
	"name mixes scripts",
	"name mixes digits of different scripts",
};
/* The message naming a character outside the profile: its two ends. */
#define PROFILE_HEAD	"name contains U+"
#define PROFILE_TAIL	", which names may not hold"

/* Whether why is the profile's message. */
static int
is_profile_message(const char *why)
{
	size_t	n = strlen(why), h = strlen(PROFILE_HEAD),
		t = strlen(PROFILE_TAIL);

	return (n > h + t && strncmp(why, PROFILE_HEAD, h) == 0 &&
	    strcmp(why + n - t, PROFILE_TAIL) == 0);
}

/* Whether the folded key of s[0..len) is exactly key[0..keylen). */
static int
folds_to(const char *s, size_t len, const char *key, size_t keylen)
{
	char	*k;
	size_t	 kl;
	int	 same;

	if ((k = name_fold(s, len, &kl)) == NULL)
		return (0);
	same = kl == keylen && memcmp(k, key, kl) == 0;
	free(k);
	return (same);
}

/* The properties of an accepted name and its key. */
static void
check_accepted(const char *in, size_t size, const char *key, size_t keylen)
{
	char	swapped[CHATD_NAME_MAX];
	size_t	i;

	if (size == 0 || size > CHATD_NAME_MAX ||
	    text_name_error(in, size) != NULL)
		abort();
	if (key == NULL || keylen == 0 || key[keylen] != '\0' ||
	    strlen(key) != keylen || !text_utf8_valid(key, keylen))
		abort();
	if (key[0] == '*' || key[0] == '!' || memchr(key, ':', keylen) ||
	    memchr(key, '|', keylen) || strpbrk(key, "()[]{}<>") != NULL ||
	    memchr(key, 'i', keylen) != NULL)
		abort();
	for (i = 0; i + 3 <= size; i++) {
		if (memcmp(in + i, "\xE2\xA0\x80", 3) == 0)
			abort();	/* the braille blank */
	}
	if (!folds_to(in, size, key, keylen))
		abort();
	if (!folds_to(key, keylen, key, keylen))
		abort();	/* not folded already */
	for (i = 0; i < size; i++) {
		char c = in[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		swapped[i] = c;
	}
	if (!folds_to(swapped, size, key, keylen))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*in, *key = NULL, *k;
	size_t		 keylen = 0, kl, i;
	const char	*why;

	/* A block of exactly size bytes, so ASan sees any read past it. */
	if ((in = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(in, data, size);

	why = name_check(in, size, &key, &keylen);
	if (why != NULL) {
		for (i = 0; i < sizeof messages / sizeof messages[0]; i++)
			if (strcmp(why, messages[i]) == 0)
				break;
		if ((i == sizeof messages / sizeof messages[0] &&
		    !is_profile_message(why)) || key != NULL)
			abort();
	} else
		check_accepted(in, size, key, keylen);
	free(key);

	k = name_fold(in, size, &kl);
	if ((k != NULL) != (size <= 1024 && text_utf8_valid(in, size)))
		abort();
	if (k != NULL && (k[kl] != '\0' || !text_utf8_valid(k, kl)))
		abort();
	free(k);
	free(in);
	return (0);
}
