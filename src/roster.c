/*
 * The roster: the room's names in the order of their folded keys, so that
 * a page of the list, or the names that start with a prefix, is found in
 * O(log n) however big the room is, without a table of everyone built in
 * Lua.  It holds exactly the clients of the registry's name index (one per
 * key), and is kept by the registry in the same two places.
 *
 * A treap: a binary search tree by key that is also a heap by a priority
 * drawn from the client's id, which keeps it balanced in expectation; each
 * node counts its subtree, which turns a key into a rank and back.  The
 * nodes live in the clients themselves, so the roster allocates nothing.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

#define NODE(c)		(&(c)->rnode)
#define SIZE(c)		((c) != NULL ? NODE(c)->size : 0)

/* Set up an empty roster. */
void
roster_init(struct roster *r)
{
	r->root = NULL;
}

/* Compare a key with a client's folded name, as memcmp() would. */
static int
roster_cmp(const char *key, size_t len, const struct client *c)
{
	size_t	n = len < c->namekeylen ? len : c->namekeylen;
	int	d = memcmp(key, c->namekey, n);

	if (d != 0)
		return (d);
	return (len < c->namekeylen ? -1 : len > c->namekeylen);
}

/* Recount a node's subtree from its children's counts. */
static void
roster_fix(struct client *c)
{
	NODE(c)->size = 1 + SIZE(NODE(c)->left) + SIZE(NODE(c)->right);
}

/* Join two treaps, every key of a before every key of b. */
static struct client *
roster_merge(struct client *a, struct client *b)
{
	if (a == NULL)
		return (b);
	if (b == NULL)
		return (a);
	if (NODE(a)->prio > NODE(b)->prio) {
		NODE(a)->right = roster_merge(NODE(a)->right, b);
		roster_fix(a);
		return (a);
	}
	NODE(b)->left = roster_merge(a, NODE(b)->left);
	roster_fix(b);
	return (b);
}

/* Split t into the keys before key (*lo) and the others (*hi). */
static void
roster_split(struct client *t, const char *key, size_t len,
    struct client **lo, struct client **hi)
{
	if (t == NULL) {
		*lo = *hi = NULL;
		return;
	}
	if (roster_cmp(key, len, t) > 0) {
		roster_split(NODE(t)->right, key, len, &NODE(t)->right, hi);
		*lo = t;
	} else {
		roster_split(NODE(t)->left, key, len, lo, &NODE(t)->left);
		*hi = t;
	}
	roster_fix(t);
}

/* File c under its folded name, which no other entry has. */
void
roster_insert(struct roster *r, struct client *c)
{
	struct client	*lo, *hi;
	uint64_t	 h = c->id * 0x9e3779b97f4a7c15ULL;

	NODE(c)->left = NODE(c)->right = NULL;
	NODE(c)->prio = (uint32_t)(h >> 32);
	NODE(c)->size = 1;
	roster_split(r->root, c->namekey, c->namekeylen, &lo, &hi);
	r->root = roster_merge(roster_merge(lo, c), hi);
}

/* Take c (filed under its current folded name) out of the subtree at *t. */
static void
roster_remove_at(struct client **t, struct client *c)
{
	int	d;

	if (*t == NULL)
		return;
	if (*t == c) {
		*t = roster_merge(NODE(c)->left, NODE(c)->right);
		return;
	}
	d = roster_cmp(c->namekey, c->namekeylen, *t);
	roster_remove_at(d < 0 ? &NODE(*t)->left : &NODE(*t)->right, c);
	roster_fix(*t);
}

/* Take c out of the roster, before its folded name changes. */
void
roster_remove(struct roster *r, struct client *c)
{
	roster_remove_at(&r->root, c);
}

/* How many entries there are. */
size_t
roster_count(const struct roster *r)
{
	return (SIZE(r->root));
}

/* How many entries sort before key. */
size_t
roster_rank(const struct roster *r, const char *key, size_t len)
{
	const struct client	*t = r->root;
	size_t			 rank = 0;

	while (t != NULL) {
		if (roster_cmp(key, len, t) > 0) {
			rank += SIZE(NODE(t)->left) + 1;
			t = NODE(t)->right;
		} else
			t = NODE(t)->left;
	}
	return (rank);
}

/* The entry of rank i (from 0), or NULL past the end. */
struct client *
roster_nth(const struct roster *r, size_t i)
{
	struct client	*t = r->root;
	size_t		 left;

	while (t != NULL) {
		left = SIZE(NODE(t)->left);
		if (i < left)
			t = NODE(t)->left;
		else if (i == left)
			return (t);
		else {
			i -= left + 1;
			t = NODE(t)->right;
		}
	}
	return (NULL);
}

/*
 * The entries whose folded name starts with the folded prefix key: their
 * count, and in *first the rank of the first.  The end of the run is the
 * rank of the smallest key after every one with the prefix: the prefix
 * with its last byte raised (a folded key is UTF-8, which has no 0xff).
 */
size_t
roster_prefix(const struct roster *r, const char *key, size_t len,
    size_t *first)
{
	char	*end;
	size_t	 last;

	*first = roster_rank(r, key, len);
	if (len == 0)
		return (roster_count(r) - *first);
	end = xmalloc(len);
	memcpy(end, key, len);
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	last = roster_rank(r, end, len);
	free(end);
	return (last - *first);
}
