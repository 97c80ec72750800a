/*
 * test_idmap.c - the id map against a plain array as the model: random
 * puts, gets and deletes over a small id range (so runs collide, wrap
 * around the end of the table and are cut by deletes), with the table
 * growing and shrinking on the way.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

#define RANGE	600
#define OPS	200000

/* A small deterministic generator (xorshift64). */
static uint64_t
rnd(void)
{
	static uint64_t	x = 0x2545f4914f6cdd1dull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (x);
}

int
main(void)
{
	struct idmap	 m;
	void		*model[RANGE + 1] = { NULL };
	char		 vals[RANGE + 1];
	size_t		 count = 0, maxslots = 0, i, bad = 0, badcount = 0;
	uint64_t	 id, r;
	void		*got;

	idmap_init(&m);
	ok(idmap_get(&m, 1) == NULL, "empty map: nothing found");
	ok(idmap_del(&m, 1) == NULL, "empty map: nothing deleted");
	for (i = 0; i < OPS; i++) {
		id = 1 + rnd() % RANGE;
		r = rnd() % 10;
		/* Phases: mostly put, then mostly delete, so it shrinks. */
		if ((i / 20000) % 2 == 0 ? r < 6 : r < 2) {
			if (model[id] == NULL)
				count++;
			model[id] = &vals[id];
			idmap_put(&m, id, &vals[id]);
		} else if (r < 8) {
			got = idmap_del(&m, id);
			if (got != model[id])
				bad++;
			if (model[id] != NULL)
				count--;
			model[id] = NULL;
		} else if (idmap_get(&m, id) != model[id])
			bad++;
		if (m.count != count)
			badcount++;
		if (m.nslots > maxslots)
			maxslots = m.nslots;
		if (i % 1000 == 0) {
			for (id = 1; id <= RANGE; id++)
				if (idmap_get(&m, id) != model[id])
					bad++;
		}
	}
	is_int(bad, 0, "every get and delete agrees with the model");
	is_int(badcount, 0, "the count agrees with the model");
	ok(maxslots >= 2 * RANGE / 2, "the table grew (%zu slots)", maxslots);
	for (id = 1; id <= RANGE; id++)
		idmap_del(&m, id);
	is_int(m.count, 0, "all deleted");
	ok(m.nslots <= 32, "the table shrank back (%zu slots)", m.nslots);

	/* Large, sparse ids hash like small ones. */
	for (id = 1; id <= 1000; id++)
		idmap_put(&m, id << 40, &vals[id % RANGE]);
	for (bad = 0, id = 1; id <= 1000; id++)
		if (idmap_get(&m, id << 40) != &vals[id % RANGE])
			bad++;
	is_int(bad, 0, "sparse ids found");
	ok(idmap_get(&m, 12345) == NULL, "an absent id is not found");
	idmap_free(&m);
	return (done_testing());
}
