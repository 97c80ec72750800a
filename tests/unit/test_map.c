/*
 * test_map.c - the byte-keyed hash map.
 *
 * Keys are arbitrary bytes (NUL included, prefixes of one another, empty),
 * values are opaque pointers.  Besides the hand-written cases, 100000 keys
 * go in and out with growth, and a million random operations are checked
 * against a plain array model.  The bucket structure is walked to check
 * the invariants the header states (power-of-two buckets, count).
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Distinct non-NULL values that are never dereferenced. */
#define V(i)	((void *)(uintptr_t)((size_t)(i) * 16 + 16))

static unsigned long long rng_state = 0x853C49E6748FEA9BULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Walk the buckets: 1 if the structure is sound and holds count entries. */
static int
map_sound(const struct map *m, char *why, size_t whylen)
{
	size_t i, n = 0;
	const struct map_entry *e;

	if (m->nbuckets == 0 || (m->nbuckets & (m->nbuckets - 1)) != 0) {
		snprintf(why, whylen, "nbuckets %zu is not a power of two",
		    m->nbuckets);
		return 0;
	}
	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e != NULL; e = e->next) {
			if ((e->hash & (m->nbuckets - 1)) != i) {
				snprintf(why, whylen, "entry in bucket %zu has "
				    "hash %08x", i, (unsigned)e->hash);
				return 0;
			}
			if (++n > m->count) {
				snprintf(why, whylen, "more entries than count "
				    "%zu", m->count);
				return 0;
			}
		}
	if (n != m->count) {
		snprintf(why, whylen, "%zu entries, count says %zu", n,
		    m->count);
		return 0;
	}
	return 1;
}

static void
check_sound(const struct map *m, const char *name)
{
	char why[120];

	if (map_sound(m, why, sizeof why))
		pass("%s: structure sound", name);
	else
		fail("%s: %s", name, why);
}

static void
test_basic(void)
{
	struct map m;
	int a, b, c;
	char key[8];

	map_init(&m);
	is_int(m.count, 0, "new map is empty");
	ok(map_get(&m, "x", 1) == NULL, "get on empty map: NULL");
	ok(map_del(&m, "x", 1) == NULL, "del on empty map: NULL");
	ok(map_get(&m, "", 0) == NULL, "get of the empty key on empty map");

	map_put(&m, "alice", 5, &a);
	ok(map_get(&m, "alice", 5) == &a, "put then get");
	is_int(m.count, 1, "count 1");
	ok(map_get(&m, "alic", 4) == NULL, "a prefix of a key is absent");
	ok(map_get(&m, "alice!", 6) == NULL, "a longer key is absent");
	ok(map_get(&m, "Alice", 5) == NULL, "keys are case sensitive");
	ok(map_get(&m, "alice\0", 6) == NULL, "key plus NUL is another key");

	map_put(&m, "alice", 5, &b);
	ok(map_get(&m, "alice", 5) == &b, "put again replaces the value");
	is_int(m.count, 1, "replace does not add an entry");

	/* the map copies the key */
	memcpy(key, "bob", 3);
	map_put(&m, key, 3, &c);
	memcpy(key, "xxx", 3);
	ok(map_get(&m, "bob", 3) == &c, "key was copied at put");
	ok(map_get(&m, "xxx", 3) == NULL, "changing the caller's buffer "
	    "does not change the key");
	is_int(m.count, 2, "count 2");

	ok(map_del(&m, "alice", 5) == &b, "del returns the removed value");
	ok(map_get(&m, "alice", 5) == NULL, "deleted key is gone");
	ok(map_del(&m, "alice", 5) == NULL, "deleting it again: NULL");
	ok(map_get(&m, "bob", 3) == &c, "the other key survives");
	is_int(m.count, 1, "count 1 after delete");
	ok(map_del(&m, "bo", 2) == NULL, "del of a prefix: NULL");
	ok(map_get(&m, "bob", 3) == &c, "... and bob is still there");

	map_put(&m, "alice", 5, &a);
	ok(map_get(&m, "alice", 5) == &a, "re-insert after delete");
	check_sound(&m, "basic");
	map_free(&m);
}

static void
test_binary_keys(void)
{
	struct map m;
	static const unsigned char k0[] = { 0 };
	static const unsigned char k00[] = { 0, 0 };
	static const unsigned char k000[] = { 0, 0, 0 };
	static const unsigned char ka0b[] = { 'a', 0, 'b' };
	static const unsigned char ka0c[] = { 'a', 0, 'c' };
	static const unsigned char kff[] = { 0xFF, 0xFE, 0x80, 0x00, 0x7F };
	static const unsigned char ipv4[] = { 2, 127, 0, 0, 1 };
	static const unsigned char ipv6[] = { 10, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 1 };
	int v[10];

	map_init(&m);
	map_put(&m, "", 0, &v[0]);
	map_put(&m, k0, 1, &v[1]);
	map_put(&m, k00, 2, &v[2]);
	map_put(&m, k000, 3, &v[3]);
	map_put(&m, ka0b, 3, &v[4]);
	map_put(&m, ka0c, 3, &v[5]);
	map_put(&m, "a", 1, &v[6]);
	map_put(&m, kff, sizeof kff, &v[7]);
	map_put(&m, ipv4, sizeof ipv4, &v[8]);
	map_put(&m, ipv6, sizeof ipv6, &v[9]);
	is_int(m.count, 10, "10 binary keys");
	ok(map_get(&m, "", 0) == &v[0], "empty key");
	ok(map_get(&m, k0, 1) == &v[1], "one NUL");
	ok(map_get(&m, k00, 2) == &v[2], "two NULs");
	ok(map_get(&m, k000, 3) == &v[3], "three NULs");
	ok(map_get(&m, ka0b, 3) == &v[4], "a NUL b");
	ok(map_get(&m, ka0c, 3) == &v[5], "a NUL c: bytes after NUL count");
	ok(map_get(&m, "a", 1) == &v[6], "a");
	ok(map_get(&m, kff, sizeof kff) == &v[7], "high bytes");
	ok(map_get(&m, ipv4, sizeof ipv4) == &v[8], "IPv4 key");
	ok(map_get(&m, ipv6, sizeof ipv6) == &v[9], "IPv6 key");
	ok(map_get(&m, ipv6, 5) == NULL, "a prefix of the IPv6 key");
	ok(map_del(&m, k00, 2) == &v[2], "del two NULs");
	ok(map_get(&m, k0, 1) == &v[1] && map_get(&m, k000, 3) == &v[3],
	    "one and three NULs remain");
	ok(map_del(&m, "", 0) == &v[0], "del empty key");
	ok(map_get(&m, "", 0) == NULL, "empty key gone");
	is_int(m.count, 8, "8 left");
	check_sound(&m, "binary");
	map_free(&m);
}

static size_t
make_key(unsigned char *buf, size_t i)
{
	/* "user-<i>" with the number in binary, NULs and all */
	memcpy(buf, "user-\0", 6);
	memcpy(buf + 6, &i, sizeof i);
	return 6 + sizeof i;
}

static void
test_many(void)
{
	struct map m;
	unsigned char key[32];
	size_t i, k, n = 100000, bad = 0, maxb;

	map_init(&m);
	for (i = 0; i < n; i++) {
		k = make_key(key, i);
		map_put(&m, key, k, V(i));
	}
	is_int(m.count, n, "100000 keys inserted");
	ok(m.nbuckets >= n / 8, "buckets grew (%zu for %zu keys)",
	    m.nbuckets, n);
	check_sound(&m, "100000 keys");
	for (i = 0; i < n; i++) {
		k = make_key(key, i);
		if (map_get(&m, key, k) != V(i))
			bad++;
	}
	is_int(bad, 0, "all 100000 found with their values");
	bad = 0;
	for (i = n; i < n + 10000; i++) {
		k = make_key(key, i);
		if (map_get(&m, key, k) != NULL)
			bad++;
	}
	is_int(bad, 0, "10000 absent keys not found");

	/* the longest chain stays short: the hash spreads these keys */
	maxb = 0;
	for (i = 0; i < m.nbuckets; i++) {
		const struct map_entry *e;
		size_t len = 0;

		for (e = m.buckets[i]; e != NULL; e = e->next)
			len++;
		if (len > maxb)
			maxb = len;
	}
	ok(maxb <= 32, "longest chain %zu (<= 32)", maxb);

	/* replace every even key */
	for (i = 0; i < n; i += 2) {
		k = make_key(key, i);
		map_put(&m, key, k, V(i + 1000000));
	}
	is_int(m.count, n, "replacing keeps the count");
	bad = 0;
	for (i = 0; i < n; i++) {
		k = make_key(key, i);
		if (map_get(&m, key, k) != V(i % 2 ? i : i + 1000000))
			bad++;
	}
	is_int(bad, 0, "replaced values read back");

	/* delete every third key */
	bad = 0;
	for (i = 0; i < n; i += 3) {
		k = make_key(key, i);
		if (map_del(&m, key, k) != V(i % 2 ? i : i + 1000000))
			bad++;
	}
	is_int(bad, 0, "del returns each value");
	is_int(m.count, n - (n + 2) / 3, "count after deleting a third");
	check_sound(&m, "after deletes");
	bad = 0;
	for (i = 0; i < n; i++) {
		void *want = i % 3 == 0 ? NULL : V(i % 2 ? i : i + 1000000);

		k = make_key(key, i);
		if (map_get(&m, key, k) != want)
			bad++;
	}
	is_int(bad, 0, "exactly the deleted keys are gone");

	/* delete all, then reuse */
	for (i = 0; i < n; i++) {
		k = make_key(key, i);
		map_del(&m, key, k);
	}
	is_int(m.count, 0, "all deleted");
	check_sound(&m, "emptied");
	for (i = 0; i < 1000; i++) {
		k = make_key(key, i);
		map_put(&m, key, k, V(i + 7));
	}
	bad = 0;
	for (i = 0; i < 1000; i++) {
		k = make_key(key, i);
		if (map_get(&m, key, k) != V(i + 7))
			bad++;
	}
	is_int(bad, 0, "reused after emptying");
	map_free(&m);
}

/*
 * Keys whose 32-bit hashes are equal must still be told apart by their
 * bytes.  With 400000 random-looking keys of one length, equal hashes are
 * all but sure (about 18 pairs are expected); find them through the
 * entries' hash field.  A key is its index and a scramble of it.
 */
static size_t
make_rkey(unsigned char *buf, uint64_t i)
{
	uint64_t z = i + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	memcpy(buf, &i, 8);
	memcpy(buf + 8, &z, 8);
	return 16;
}

struct hk {
	uint32_t	 hash;
	uint64_t	 i;
};

static int
hk_cmp(const void *a, const void *b)
{
	const struct hk *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void
test_collisions(void)
{
	struct map m;
	unsigned char key[16], key2[16];
	size_t i, n = 400000, nhk = 0, npairs = 0, bad = 0, k, k2;
	struct hk *hk;
	const struct map_entry *e;

	map_init(&m);
	for (i = 0; i < n; i++) {
		k = make_rkey(key, i);
		map_put(&m, key, k, V(i));
	}
	is_int(m.count, n, "400000 keys of equal length: none lost");
	hk = malloc(n * sizeof *hk);
	if (hk == NULL)
		abort();
	for (i = 0; i < m.nbuckets; i++)
		for (e = m.buckets[i]; e != NULL; e = e->next) {
			if (nhk == n || e->klen != 16)
				continue;
			hk[nhk].hash = e->hash;
			memcpy(&hk[nhk].i, e->key, 8);
			nhk++;
		}
	is_int(nhk, n, "every key is in the buckets");
	qsort(hk, nhk, sizeof *hk, hk_cmp);
	for (i = 1; i < nhk; i++) {
		if (hk[i].hash != hk[i - 1].hash)
			continue;
		npairs++;
		k = make_rkey(key, hk[i - 1].i);
		k2 = make_rkey(key2, hk[i].i);
		if (map_get(&m, key, k) != V(hk[i - 1].i) ||
		    map_get(&m, key2, k2) != V(hk[i].i))
			bad++;
		/* delete one of the pair: the other stays */
		if (map_del(&m, key, k) != V(hk[i - 1].i) ||
		    map_get(&m, key2, k2) != V(hk[i].i) ||
		    map_get(&m, key, k) != NULL)
			bad++;
		map_put(&m, key, k, V(hk[i - 1].i));
		if (map_get(&m, key, k) != V(hk[i - 1].i) ||
		    map_get(&m, key2, k2) != V(hk[i].i))
			bad++;
	}
	is_int(m.count, n, "count unchanged after the pair checks");
	diag("%zu pairs of keys with equal hashes", npairs);
	if (npairs == 0)
		pass("no equal hashes this time (seeded hash); nothing to check");
	else
		is_int(bad, 0, "%zu pairs with equal hashes kept apart by "
		    "their bytes", npairs);
	free(hk);
	map_free(&m);
}

/* Random operations against an array model. */
#define NKEYS	600

static void
test_random(void)
{
	struct map m;
	unsigned char keys[NKEYS][24];
	size_t klen[NKEYS], i, j;
	void *model[NKEYS];
	size_t count = 0;
	long iter, bad = 0;
	char why[120];

	/* keys: random bytes, many short, some prefixes of others */
	for (i = 0; i < NKEYS; i++) {
		klen[i] = rng() % 24;
		for (j = 0; j < klen[i]; j++)
			keys[i][j] = (unsigned char)(rng() % 4 == 0 ? 0 : rng());
		if (i > 0 && rng() % 4 == 0) {
			/* a prefix or extension of the previous key */
			memcpy(keys[i], keys[i - 1], 24);
			klen[i] = rng() % 24;
		}
	}
	/* replace duplicates by unique keys, so the model's keys differ */
	for (i = 0; i < NKEYS; i++)
		for (j = 0; j < i; j++)
			if (klen[i] == klen[j] &&
			    memcmp(keys[i], keys[j], klen[i]) == 0) {
				memset(keys[i], 0xAA, sizeof keys[i]);
				memcpy(keys[i] + 1, &i, sizeof i);
				klen[i] = 1 + sizeof i + i % 5;
				break;
			}
	for (i = 0; i < NKEYS; i++)
		for (j = 0; j < i; j++)
			if (klen[i] == klen[j] &&
			    memcmp(keys[i], keys[j], klen[i]) == 0) {
				fail("test keys %zu and %zu are equal", i, j);
				return;
			}
	memset(model, 0, sizeof model);
	map_init(&m);
	for (iter = 0; iter < 1000000; iter++) {
		void *got;

		i = rng() % NKEYS;
		switch (rng() % 5) {
		case 0:
		case 1:
			map_put(&m, keys[i], klen[i], V(iter));
			if (model[i] == NULL)
				count++;
			model[i] = V(iter);
			break;
		case 2:
			got = map_del(&m, keys[i], klen[i]);
			if (got != model[i] && bad++ < 5)
				fail("op %ld: del of key %zu", iter, i);
			if (model[i] != NULL)
				count--;
			model[i] = NULL;
			break;
		default:
			got = map_get(&m, keys[i], klen[i]);
			if (got != model[i] && bad++ < 5)
				fail("op %ld: get of key %zu", iter, i);
			break;
		}
		if (m.count != count && bad++ < 5)
			fail("op %ld: count %zu, model %zu", iter, m.count,
			    count);
		if (iter % 100000 == 0 && !map_sound(&m, why, sizeof why) &&
		    bad++ < 5)
			fail("op %ld: %s", iter, why);
	}
	for (i = 0; i < NKEYS; i++)
		if (map_get(&m, keys[i], klen[i]) != model[i] && bad++ < 5)
			fail("final get of key %zu", i);
	is_int(bad, 0, "1000000 random put/get/del on %d binary keys match "
	    "an array model", NKEYS);
	map_free(&m);
}

/* Two maps are independent, and freeing one leaves the other. */
static void
test_two_maps(void)
{
	struct map a, b;
	int x, y;

	map_init(&a);
	map_init(&b);
	map_put(&a, "k", 1, &x);
	map_put(&b, "k", 1, &y);
	ok(map_get(&a, "k", 1) == &x && map_get(&b, "k", 1) == &y,
	    "same key in two maps");
	map_free(&a);
	ok(map_get(&b, "k", 1) == &y, "other map intact after free");
	map_free(&b);

	/* free of a map with entries in many buckets (leaks show in ASan) */
	map_init(&a);
	for (int i = 0; i < 5000; i++) {
		char k[16];
		int n = snprintf(k, sizeof k, "%d", i);

		map_put(&a, k, (size_t)n, &x);
	}
	is_int(a.count, 5000, "5000 decimal keys");
	map_free(&a);
	pass("map_free with 5000 entries");
}

int
main(void)
{
	test_basic();
	test_binary_keys();
	test_many();
	test_collisions();
	test_random();
	test_two_maps();
	return done_testing();
}
