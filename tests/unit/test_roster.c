/*
 * test_roster.c - the roster against a sorted array as the model: random
 * inserts and removes of keys over a small alphabet (so prefixes share
 * runs of every length), checking after each step the count, the entry
 * of every rank, the rank of keys present and absent, and prefix runs.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POOL	120	/* every key of 1 to 4 letters of "abc" */
#define OPS	20000

static uint64_t
rnd(void)
{
	static uint64_t	x = 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (x);
}

/* Keys as folded names are compared: bytes, then length. */
static int
keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	n = alen < blen ? alen : blen;
	int	d = memcmp(a, b, n);

	if (d != 0)
		return (d);
	return (alen < blen ? -1 : alen > blen);
}

static struct client	 pool[POOL];
static char		 keys[POOL][8];
static int		 in[POOL];

/* How many keys in the roster sort before key, by the model. */
static size_t
model_rank(const char *key, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < POOL; i++)
		if (in[i] && keycmp(keys[i], strlen(keys[i]), key, len) < 0)
			n++;
	return (n);
}

static size_t
model_prefix(const char *key, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < POOL; i++)
		if (in[i] && strlen(keys[i]) >= len &&
		    memcmp(keys[i], key, len) == 0)
			n++;
	return (n);
}

int
main(void)
{
	struct roster	 r;
	struct client	*c;
	size_t		 i, j, count = 0, bad_rank = 0, bad_nth = 0;
	size_t		 bad_prefix = 0, first, n, len;
	char		 probe[8];
	int		 k;

	/* Distinct keys of 1 to 4 letters from "abc": runs of every length. */
	for (i = 0; i < POOL; i++) {
		do {
			len = 1 + rnd() % 4;
			for (j = 0; j < len; j++)
				keys[i][j] = (char)('a' + rnd() % 3);
			keys[i][len] = '\0';
			for (j = 0; j < i; j++)
				if (strcmp(keys[i], keys[j]) == 0)
					break;
		} while (j < i);
		pool[i].id = i + 1;
		pool[i].namekey = keys[i];
		pool[i].namekeylen = strlen(keys[i]);
	}
	roster_init(&r);
	for (k = 0; k < OPS; k++) {
		i = rnd() % POOL;
		if (in[i]) {
			roster_remove(&r, &pool[i]);
			in[i] = 0;
			count--;
		} else {
			roster_insert(&r, &pool[i]);
			in[i] = 1;
			count++;
		}
		if (roster_count(&r) != count)
			break;
		if (k % 50 != 0)
			continue;
		/* every rank holds the model's entry of that rank */
		for (j = 0; j < count; j++) {
			c = roster_nth(&r, j);
			if (c == NULL || model_rank(c->namekey,
			    c->namekeylen) != j)
				bad_nth++;
		}
		if (roster_nth(&r, count) != NULL)
			bad_nth++;
		/* ranks and prefixes of random probes, present or not */
		for (j = 0; j < 20; j++) {
			len = rnd() % 4;
			for (n = 0; n < len; n++)
				probe[n] = (char)('a' + rnd() % 4);
			if (roster_rank(&r, probe, len) != model_rank(probe, len))
				bad_rank++;
			n = roster_prefix(&r, probe, len, &first);
			if (n != model_prefix(probe, len) ||
			    first != model_rank(probe, len))
				bad_prefix++;
		}
	}
	is_int(k, OPS, "every step keeps the count");
	is_int(bad_nth, 0, "roster_nth gives the entry of each rank");
	is_int(bad_rank, 0, "roster_rank counts the keys before a probe");
	is_int(bad_prefix, 0, "roster_prefix finds each run of a prefix");

	/* A key's last byte raised ends its run, also at 0x7f and above. */
	roster_init(&r);
	{
		static char	 k1[] = "a\x7f", k2[] = "a\x7f\x80", k3[] = "a\x80";
		struct client	 x[3];

		memset(x, 0, sizeof x);
		x[0].namekey = k1;
		x[1].namekey = k2;
		x[2].namekey = k3;
		for (i = 0; i < 3; i++) {
			x[i].id = i + 1;
			x[i].namekeylen = strlen(x[i].namekey);
			roster_insert(&r, &x[i]);
		}
		n = roster_prefix(&r, "a\x7f", 2, &first);
		is_int(n, 2, "prefix a\\x7f: two");
		is_int(first, 0, "prefix a\\x7f: from the first");
		n = roster_prefix(&r, "", 0, &first);
		is_int(n, 3, "the empty prefix is everyone");
	}
	return (done_testing());
}
