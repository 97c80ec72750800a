/*
 * test_name.c - the rules of chosen names and their folding (name.c).
 *
 * Hand-written cases pin down each rule and its message; then properties
 * are checked on random names drawn from characters near every rule: an
 * accepted name's key is folded already, holds none of the refused
 * characters, and does not depend on the case or width of ASCII letters.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* name_check() on a string literal (which may hold NUL bytes). */
#define CHECK(s, want, what) \
	is_str(name_check((s), sizeof(s) - 1, NULL, NULL), (want), \
	    "check: %s", (what))

/* The folded key of s, or NULL; *len gets its length. */
static char *
fold(const char *s, size_t len, size_t *keylen)
{
	return name_fold(s, len, keylen);
}

/* name_fold() on a literal must give want. */
#define FOLD(s, want, what) do {					\
	size_t kl_;							\
	char *k_ = fold((s), sizeof(s) - 1, &kl_);			\
	if (k_ == NULL)							\
		fail("fold: %s: refused", (what));			\
	else								\
		is_mem(k_, kl_, (want), sizeof(want) - 1, "fold: %s",	\
		    (what));						\
	free(k_);							\
} while (0)

/* Two literals must fold to the same key. */
static void
same(const char *a, const char *b, const char *what)
{
	size_t al, bl;
	char *ka = fold(a, strlen(a), &al), *kb = fold(b, strlen(b), &bl);

	ok(ka != NULL && kb != NULL && al == bl && memcmp(ka, kb, al) == 0,
	    "same name: %s", what);
	free(ka);
	free(kb);
}

static void
test_accepted(void)
{
	CHECK("duke", NULL, "ASCII");
	CHECK("Duke", NULL, "capital");
	CHECK("Bob_the-2nd.", NULL, "punctuation");
	CHECK("x#1", NULL, "hash");
	CHECK("a,b;c", NULL, "comma and semicolon");
	CHECK("@home", NULL, "at sign first");
	CHECK("a*b", NULL, "'*' not first");
	CHECK("a!", NULL, "'!' not first");
	CHECK("\xE6\x9D\x9C\xE5\x85\x8B", NULL, "CJK");
	CHECK("J\xC3\xBCrgen", NULL, "precomposed u-umlaut");
	CHECK("Ju\xCC\x88rgen", NULL, "u and a combining umlaut");
	CHECK("\xF0\x9F\x98\x80", NULL, "emoji");
	CHECK("\xE2\x9D\xA4\xEF\xB8\x8F", NULL, "heart with VS16");
	CHECK("\xEF\xBC\xA4\xEF\xBD\x95\xEF\xBD\x8B\xEF\xBD\x85", NULL,
	    "fullwidth Duke");
	CHECK("\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", NULL, "Cyrillic");
	CHECK("\xCE\x91\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xAC", NULL, "Greek");
	CHECK("Tanaka\xE7\x94\xB0\xE4\xB8\xAD\xE3\x81\x95\xE3\x82\x93", NULL,
	    "Latin with Han and Hiragana");
	CHECK("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", NULL, "emoji, skin tone");
	CHECK("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", NULL, "a flag");
	CHECK("Vi\xE1\xBB\x87t", NULL, "Vietnamese, two marks");
}

/* The look-alikes of the issue that once passed (UTS #39 now). */
static void
test_lookalikes(void)
{
	static const char *const colons[] = {
		"127.0.0.1\xEA\x9E\x89" "46509",	/* U+A789 */
		"127.0.0.1\xE2\x88\xB6" "46509",	/* U+2236 */
		"127.0.0.1\xCB\x90" "46509",		/* U+02D0 */
		"127.0.0.1\xD6\x89" "46509",		/* U+0589 */
		"127.0.0.1\xEA\x93\xBD" "46509",	/* U+A4FD */
	};
	size_t i;

	for (i = 0; i < sizeof colons / sizeof colons[0]; i++)
		is_str(name_check(colons[i], strlen(colons[i]), NULL, NULL),
		    "name contains ':'", "check: colon look-alike #%zu", i);
	CHECK("\xE2\x88\x97" "alice", "name starts with '*'", "U+2217");
	CHECK("\xE2\x81\x8E" "alice", "name starts with '*'", "U+204E");
	CHECK("\xC7\x83" "alice", "name starts with '!'", "U+01C3");
	CHECK("\xD0\xB0" "lice", "name mixes scripts", "Cyrillic a in alice");
	CHECK("\xE1\xB4\x80\xCA\x9F\xC9\xAA\xE1\xB4\x84\xE1\xB4\x87",
	    "name contains U+1D00, which names may not hold", "small capitals");
	CHECK("\xE2\xA0\x80", "name contains U+2800, which names may not "
	    "hold", "braille blank alone");
	CHECK("alice,\xE2\xA0\x80" "bob", "name contains U+2800, which names "
	    "may not hold", "braille blank as a space");
	CHECK("x\xCC\x81\xCC\x80\xCC\x82\xCC\x83\xCC\x84\xCC\x86\xCC\x87"
	    "\xCC\x88\xCC\x8A\xCC\x8B\xCC\x8C\xCC\x8F\xCC\x91\xCC\x92"
	    "\xCC\x93", "name has too many combining marks in a row",
	    "15 combining marks");
	CHECK("x\xCC\x81\xCC\x81", "name repeats a combining mark",
	    "one mark twice");
	CHECK("\xE2\x8E\xA1" "bob" "\xE2\x8E\xA6", "name contains U+23A1, "
	    "which names may not hold", "bracket pieces");
	CHECK("\xE1\x90\xB8" "bob" "\xE1\x90\xB3", "name contains a bracket",
	    "syllabics angle brackets");
	CHECK("bob\xE2\x88\xA3x", "name contains U+2223, which names may not "
	    "hold", "divides as a pipe");
	CHECK("a\xC2\xA8", "name contains U+0020, which names may not hold",
	    "spacing diaeresis (NFKC: space and mark)");
	CHECK("\xC2\xABx\xC2\xBB", "name contains U+00AB, which names may not "
	    "hold", "guillemets");
	CHECK("a\xD9\xA1" "2", "name mixes digits of different scripts",
	    "Arabic-Indic and ASCII digits");
	same("alice", "aIice", "alice aIice");
	same("alice", "a1ice", "alice a1ice");
	same("Ian", "ian", "Ian ian");
	same("bob", "B0B", "bob B0B");
	same("m", "rn", "m rn");
}

static void
test_text_rules_first(void)
{
	char buf[40];

	CHECK("", "name is empty", "empty");
	memset(buf, 'n', sizeof buf);
	is_str(name_check(buf, 33, NULL, NULL), "name is longer than 32 bytes",
	    "check: 33 bytes");
	is_str(name_check(buf, 32, NULL, NULL), NULL, "check: 32 bytes");
	CHECK("a\xFF", "name is not valid UTF-8", "invalid");
	CHECK("a b", "name contains a space", "space");
	CHECK("a\x01", "name contains a control character", "control");
	CHECK("a|b", "name contains '|'", "pipe");
	CHECK("*a b", "name contains a space", "text rules before '*'");
	CHECK("[a\tb]", "name contains a control character",
	    "text rules before brackets");
}

static void
test_prefixes(void)
{
	CHECK("*", "name starts with '*'", "only '*'");
	CHECK("*bob", "name starts with '*'", "'*' first");
	CHECK("!", "name starts with '!'", "only '!'");
	CHECK("!bob", "name starts with '!'", "'!' first");
	CHECK("\xEF\xBC\x8A" "bob", "name starts with '*'", "fullwidth '*'");
	CHECK("\xEF\xB9\xA1" "bob", "name starts with '*'", "small '*'");
	CHECK("\xEF\xBC\x81" "bob", "name starts with '!'", "fullwidth '!'");
	CHECK("\xE2\x80\xBC", "name starts with '!'", "double '!'");
}

static void
test_colon_brackets(void)
{
	static const char *const brackets[] = {
		"a(", "a)", "a[", "a]", "a{", "a}", "a<", "a>",
		"[bob]", "<bob>",
		"\xEF\xBC\xBB" "bob" "\xEF\xBC\xBD",	/* fullwidth [ ] */
		"\xE3\x80\x90" "bob" "\xE3\x80\x91",	/* CJK lenticular */
		"\xE3\x80\x8C" "bob" "\xE3\x80\x8D",	/* corner brackets */
		"\xE2\x8C\xA9" "bob",			/* U+2329 angle */
		"\xEF\xBC\x9C" "bob",			/* fullwidth < */
		"\xE2\x91\xB4",				/* U+2474 (1) */
	};
	size_t i;

	CHECK(":", "name contains ':'", "only ':'");
	CHECK("a:b", "name contains ':'", "':' inside");
	CHECK("bob:", "name contains ':'", "':' last");
	CHECK("127.0.0.1:4000", "name contains ':'", "an address");
	CHECK("a\xEF\xBC\x9A" "b", "name contains ':'", "fullwidth ':'");
	CHECK("a\xEF\xB9\x95" "b", "name contains ':'", "small ':'");
	CHECK("a\xEF\xB8\x93" "b", "name contains ':'", "vertical ':'");
	for (i = 0; i < sizeof brackets / sizeof brackets[0]; i++)
		is_str(name_check(brackets[i], strlen(brackets[i]), NULL,
		    NULL), "name contains a bracket", "check: bracket #%zu",
		    i);
	CHECK("a\xEF\xBD\x9C" "b", "name contains '|'", "fullwidth '|'");
	CHECK("[a:b", "name contains a bracket", "first offender wins");
	CHECK("a:b[", "name contains ':'", "first offender wins (2)");
}

static void
test_invisible(void)
{
	CHECK("a\xC2\xA0" "b", "name contains a space", "no-break space");
	CHECK("a\xE3\x80\x80" "b", "name contains a space", "ideographic space");
	CHECK("a\xE2\x80\x89" "b", "name contains a space", "thin space");
	CHECK("a\xE2\x80\xA8" "b", "name contains a space", "line separator");
	CHECK("a\xE2\x80\xA9" "b", "name contains a space",
	    "paragraph separator");
	CHECK("a\xE2\x80\x8B" "b", "name contains an invisible character",
	    "zero-width space");
	CHECK("a\xE2\x80\x8C" "b", "name contains an invisible character",
	    "zero-width non-joiner");
	CHECK("a\xE2\x80\x8D" "b", "name contains an invisible character",
	    "zero-width joiner");
	CHECK("\xE2\x80\xAE" "ecila", "name contains an invisible character",
	    "right-to-left override");
	CHECK("a\xE2\x81\xA6" "b", "name contains an invisible character",
	    "left-to-right isolate");
	CHECK("a\xE2\x80\x8F", "name contains an invisible character",
	    "right-to-left mark");
	CHECK("a\xC2\xAD" "b", "name contains an invisible character",
	    "soft hyphen");
	CHECK("\xEF\xBB\xBF" "a", "name contains an invisible character",
	    "byte order mark");
	CHECK("a\xE2\x81\xA0", "name contains an invisible character",
	    "word joiner");
	CHECK("a\xE3\x85\xA4" "b", "name contains an invisible character",
	    "Hangul filler (ignorable, not Cf)");
	CHECK("a\xCD\x8F" "b", "name contains an invisible character",
	    "combining grapheme joiner (ignorable)");
	CHECK("a\xF3\xA0\x80\x81", "name contains an invisible character",
	    "language tag");
	CHECK("\xCC\x81" "a", "name starts with a combining mark",
	    "combining acute first");
	CHECK("\xCC\x81\xCC\x81", "name starts with a combining mark",
	    "combining marks only");
	CHECK("\xEF\xB8\x8F", "name starts with a combining mark",
	    "a variation selector alone");
	CHECK("\xE2\x83\x9D", "name starts with a combining mark",
	    "enclosing circle alone");
	CHECK("a\xCD\xB8", "name contains an unassigned or private-use "
	    "character", "unassigned U+0378");
	CHECK("a\xEE\x80\x80", "name contains an unassigned or private-use "
	    "character", "private use U+E000");
	CHECK("a\xF4\x8F\xBF\xBF", "name contains an unassigned or private-use "
	    "character", "U+10FFFF");
}

static void
test_fold(void)
{
	char buf[1100], *k, *k1;
	size_t kl, kl1, i;

	FOLD("Duke", "duke", "ASCII capitals");
	FOLD("\xEF\xBC\xA4\xEF\xBD\x95\xEF\xBD\x8B\xEF\xBD\x85", "duke",
	    "fullwidth");
	FOLD("Stra\xC3\x9F" "e", "strasse", "sharp s");
	FOLD("\xEF\xAC\x81", "fl", "fi ligature, i as l");
	FOLD("e\xCC\x81", "e\xCC\x81", "decomposed e-acute (skeleton: NFD)");
	FOLD("\xC3\x89", "e\xCC\x81", "capital E-acute");
	FOLD("x\xE2\x80\x8By", "xy", "ignorable removed");
	FOLD("\xE2\x9D\xA4\xEF\xB8\x8F", "\xE2\x9D\xA4", "variation selector");
	FOLD("[::1]:4000", "[::1]:4000", "an address is its own key");
	FOLD("", "", "empty");
	same("Duke", "DUKE", "Duke DUKE");
	same("duke", "\xF0\x9D\x90\x9D\xF0\x9D\x90\xAE\xF0\x9D\x90\xA4"
	    "\xF0\x9D\x90\x9E", "mathematical bold duke");
	same("\xE2\x84\xA6", "\xCF\x89", "ohm sign and omega");
	same("\xCF\x82", "\xCE\xA3", "final sigma and capital sigma");
	same("\xE2\x84\xAA", "k", "Kelvin sign and k");
	same("\xE2\x91\xA0", "1", "circled one and 1");

	ok(fold("a\xFF", 2, &kl) == NULL, "fold: invalid UTF-8 is NULL");
	ok(fold("\xED\xA0\x80", 3, &kl) == NULL, "fold: a surrogate is NULL");
	memset(buf, 'a', sizeof buf);
	ok(fold(buf, 1025, &kl) == NULL, "fold: 1025 bytes is NULL");
	k = fold(buf, 1024, &kl);
	ok(k != NULL && kl == 1024, "fold: 1024 bytes folds");
	free(k);

	/* 300 x U+FDFA (18 code points each): past the stack buffer */
	k1 = fold("\xEF\xB7\xBA", 3, &kl1);
	for (i = 0; i < 300; i++)
		memcpy(buf + 3 * i, "\xEF\xB7\xBA", 3);
	k = fold(buf, 900, &kl);
	ok(k != NULL && k1 != NULL && kl == 300 * kl1, "fold: long expansion "
	    "(%zu bytes)", k != NULL ? kl : 0);
	for (i = 0; k != NULL && k1 != NULL && i < 300; i++)
		if (memcmp(k + i * kl1, k1, kl1) != 0)
			break;
	is_int((long long)i, 300, "fold: long expansion is the short one "
	    "300 times");
	free(k);
	free(k1);
}

static void
test_check_key(void)
{
	char *key = NULL;
	size_t keylen = 0;
	const char *why;

	why = name_check("\xEF\xBC\xA4\xEF\xBD\x95\xEF\xBD\x8B\xEF\xBD\x85",
	    12, &key, &keylen);
	is_str(why, NULL, "check: fullwidth Duke accepted");
	is_mem(key, keylen, "duke", 4, "check: its key is duke");
	ok(key != NULL && key[keylen] == '\0', "check: the key ends in NUL");
	free(key);
	key = NULL;
	why = name_check("*x", 2, &key, &keylen);
	ok(why != NULL && key == NULL, "check: no key for a refused name");
}

/* ---- properties on random names ----------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* Pieces near every rule, and plain letters. */
static const char *const pieces[] = {
	"a", "B", "z", "Q", "1", "_", "-", ".", "*", "!", ":", "[", "]", "(",
	"<", ">", "|", "#",
	"\xC3\x9F", "\xC3\x89", "e\xCC\x81", "\xCC\x81", "\xEF\xBC\xA4",
	"\xEF\xBC\x8A", "\xEF\xBC\x9A", "\xE3\x80\x90", "\xE2\x80\x8B",
	"\xE2\x80\xAE", "\xC2\xA0", "\xEF\xB8\x8F", "\xE2\x9D\xA4",
	"\xEF\xAC\x81", "\xE2\x84\xAA", "\xCF\x82", "\xCE\xA3", "\xE6\x9D\x9C",
	"\xF0\x9F\x98\x80", "\xE2\x91\xB4", "\xEF\xB7\xBA", "\xC2\xA8",
	"\xE1\xBE\x88", "\xC7\x85", "\xE2\x80\xBC", "\xEF\xBD\x9C",
};

static void
test_random(void)
{
	char name[64], swapped[64], *key, *again, *key2;
	size_t len, keylen, againlen, key2len, i, n;
	long iter, accepted = 0, bad = 0;
	const char *why, *p;

	for (iter = 0; iter < 200000; iter++) {
		len = 0;
		n = 1 + rng() % 8;
		for (i = 0; i < n; i++) {
			p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
			if (len + strlen(p) > sizeof name)
				break;
			memcpy(name + len, p, strlen(p));
			len += strlen(p);
		}
		key = NULL;
		why = name_check(name, len, &key, &keylen);
		if (why != NULL)
			continue;
		accepted++;
		/* the key is folded already */
		again = name_fold(key, keylen, &againlen);
		if ((again == NULL || againlen != keylen ||
		    memcmp(again, key, keylen) != 0) && bad++ < 5) {
			fail("random #%ld: the key does not fold to itself",
			    iter);
			tap_print_mem("name", name, len);
		}
		free(again);
		/* it holds nothing the rules refuse */
		if ((key[0] == '*' || key[0] == '!' ||
		    memchr(key, ':', keylen) != NULL ||
		    memchr(key, '[', keylen) != NULL ||
		    memchr(key, '<', keylen) != NULL ||
		    memchr(key, '|', keylen) != NULL) && bad++ < 5) {
			fail("random #%ld: a refused character in the key",
			    iter);
			tap_print_mem("name", name, len);
		}
		/* ASCII case does not count */
		for (i = 0; i < len; i++) {
			char ch = name[i];

			if (ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 'a' + 'A');
			else if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			swapped[i] = ch;
		}
		key2 = name_fold(swapped, len, &key2len);
		if ((key2 == NULL || key2len != keylen ||
		    memcmp(key2, key, keylen) != 0) && bad++ < 5) {
			fail("random #%ld: case changes the key", iter);
			tap_print_mem("name", name, len);
		}
		free(key2);
		free(key);
	}
	is_int(bad, 0, "random names: keys are folded, clean and "
	    "case-blind");
	ok(accepted > 10000, "random names: %ld of 200000 accepted",
	    accepted);
}

int
main(void)
{
	test_accepted();
	test_lookalikes();
	test_text_rules_first();
	test_prefixes();
	test_colon_brackets();
	test_invisible();
	test_fold();
	test_check_key();
	test_random();
	return done_testing();
}
