/*
 * A map from 64-bit ids to pointers: open addressing, linear probing.
 *
 * Users are looked up by id on every access a plugin makes through a user
 * handle ("u.name" once per user for every join's list of names), so this
 * is on a hot path.  A slot is the id and the pointer, 16 bytes, in one
 * array: no allocation per entry and one cache miss per lookup.  Ids are
 * chosen by the server, never by users, so a fixed multiplicative hash is
 * safe.  Deleting shifts the following entries of the run back, so there
 * are no tombstones and lookups stay short however many users come and go.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

#define IDMAP_MIN	16	/* slots, a power of two */

/* The home slot of an id. */
static size_t
idmap_home(const struct idmap *m, uint64_t id)
{
	return ((size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) &
	    (m->nslots - 1));
}

/* Set up an empty map. */
void
idmap_init(struct idmap *m)
{
	m->nslots = IDMAP_MIN;
	m->slots = xcalloc(m->nslots, sizeof *m->slots);
	m->count = 0;
}

/* Free the map (not the values). */
void
idmap_free(struct idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->nslots = m->count = 0;
}

/* Move every entry into a table of n slots. */
static void
idmap_resize(struct idmap *m, size_t n)
{
	struct idmap_slot	*old = m->slots;
	size_t			 oldn = m->nslots, i, j;

	m->slots = xcalloc(n, sizeof *m->slots);
	m->nslots = n;
	for (i = 0; i < oldn; i++) {
		if (old[i].id == 0)
			continue;
		for (j = idmap_home(m, old[i].id); m->slots[j].id != 0;
		    j = (j + 1) & (n - 1))
			;
		m->slots[j] = old[i];
	}
	free(old);
}

/* The slot holding id, or the empty slot that ends its run. */
static size_t
idmap_find(const struct idmap *m, uint64_t id)
{
	size_t	i;

	for (i = idmap_home(m, id); m->slots[i].id != 0 &&
	    m->slots[i].id != id; i = (i + 1) & (m->nslots - 1))
		;
	return (i);
}

/* The value stored under id (not 0), or NULL. */
void *
idmap_get(const struct idmap *m, uint64_t id)
{
	size_t	i = idmap_find(m, id);

	return (m->slots[i].id == id ? m->slots[i].value : NULL);
}

/* Store value under id (not 0), replacing what was there. */
void
idmap_put(struct idmap *m, uint64_t id, void *value)
{
	size_t	i;

	if (2 * (m->count + 1) > m->nslots)
		idmap_resize(m, m->nslots * 2);
	i = idmap_find(m, id);
	if (m->slots[i].id == 0)
		m->count++;
	m->slots[i].id = id;
	m->slots[i].value = value;
}

/* Remove id; returns the value it had, or NULL. */
void *
idmap_del(struct idmap *m, uint64_t id)
{
	size_t	 i = idmap_find(m, id), j, home, mask = m->nslots - 1;
	void	*value;

	if (m->slots[i].id != id)
		return (NULL);
	value = m->slots[i].value;
	/* Shift back every later entry of the run that may move into the
	 * hole: one whose home is not cyclically within (i, j]. */
	for (j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
		home = idmap_home(m, m->slots[j].id);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].id = 0;
	m->slots[i].value = NULL;
	m->count--;
	if (m->nslots > IDMAP_MIN && 8 * m->count < m->nslots)
		idmap_resize(m, m->nslots / 2);
	return (value);
}
