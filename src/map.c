/*
 * A hash map from byte strings to pointers, with chaining.  The hash is
 * seeded per map so names chosen by users cannot be picked to collide.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chatd.h"

#define MAP_INITIAL	16

/* FNV-1a over the key, started from the map's seed. */
static uint32_t
map_hash(const struct map *m, const void *key, size_t klen)
{
	const unsigned char	*p = key;
	uint32_t		 h = 2166136261u ^ m->seed;
	size_t			 i;

	for (i = 0; i < klen; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return (h);
}

/* Set up an empty map. */
void
map_init(struct map *m)
{
	static uint32_t	counter;

	m->nbuckets = MAP_INITIAL;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->count = 0;
	m->seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^
	    (++counter * 0x9e3779b9u) ^ (uint32_t)(uintptr_t)m;
}

/* Free the map and its entries (not the values). */
void
map_free(struct map *m)
{
	struct map_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

/* Find the link that points at key's entry, or at the NULL ending its chain. */
static struct map_entry **
map_slot(const struct map *m, const void *key, size_t klen, uint32_t h)
{
	struct map_entry	**ep;

	ep = &m->buckets[h & (m->nbuckets - 1)];
	for (; *ep != NULL; ep = &(*ep)->next) {
		if ((*ep)->hash == h && (*ep)->klen == klen &&
		    memcmp((*ep)->key, key, klen) == 0)
			break;
	}
	return (ep);
}

/* Double the bucket array. */
static void
map_grow(struct map *m)
{
	struct map_entry	**nb, *e, *next;
	size_t			  n = m->nbuckets * 2, i;

	nb = xcalloc(n, sizeof *nb);
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

/* Return the value stored under key, or NULL. */
void *
map_get(const struct map *m, const void *key, size_t klen)
{
	struct map_entry	*e;

	e = *map_slot(m, key, klen, map_hash(m, key, klen));
	return (e != NULL ? e->value : NULL);
}

/* Store value under key, replacing what was there. */
void
map_put(struct map *m, const void *key, size_t klen, void *value)
{
	struct map_entry	**ep, *e;
	uint32_t		  h = map_hash(m, key, klen);

	ep = map_slot(m, key, klen, h);
	if (*ep != NULL) {
		(*ep)->value = value;
		return;
	}
	e = xmalloc(sizeof *e + klen);
	e->next = NULL;
	e->hash = h;
	e->klen = klen;
	e->value = value;
	memcpy(e->key, key, klen);
	*ep = e;
	if (++m->count > m->nbuckets)
		map_grow(m);
}

/*
 * Remove every entry for which drop(value, arg) is true; drop frees the
 * value if it must.
 */
void
map_sweep(struct map *m, int (*drop)(void *, void *), void *arg)
{
	struct map_entry	**ep, *e;
	size_t			  i;

	for (i = 0; i < m->nbuckets; i++) {
		for (ep = &m->buckets[i]; (e = *ep) != NULL; ) {
			if (drop(e->value, arg)) {
				*ep = e->next;
				free(e);
				m->count--;
			} else
				ep = &e->next;
		}
	}
}

/* Remove key; returns the value it had, or NULL. */
void *
map_del(struct map *m, const void *key, size_t klen)
{
	struct map_entry	**ep, *e;
	void			 *value;

	ep = map_slot(m, key, klen, map_hash(m, key, klen));
	if ((e = *ep) == NULL)
		return (NULL);
	*ep = e->next;
	value = e->value;
	free(e);
	m->count--;
	return (value);
}
