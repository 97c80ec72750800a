/*
 * The registry: every registered user, in join order, by id and by name.
 * Lua never holds a client pointer, only an id it looks up here, so a
 * handle that outlives its user finds nothing instead of freed memory.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

/* Set up an empty registry. */
void
registry_init(struct registry *reg)
{
	TAILQ_INIT(&reg->all);
	idmap_init(&reg->by_id);
	map_init(&reg->by_name);
	reg->count = 0;
	reg->next_id = 1;
}

/* Free the registry's tables (clients are freed by their owner). */
void
registry_free(struct registry *reg)
{
	idmap_free(&reg->by_id);
	map_free(&reg->by_name);
}

/*
 * Set a client's name and its folded key, and file it under the key; key
 * (from xmalloc) is freed.  Name and key share one allocation, and most
 * names (every default one) are their own key, so an idle client holds
 * one copy.
 */
static void
registry_set_name(struct registry *reg, struct client *c, const char *name,
    size_t len, char *key, size_t keylen)
{
	int	 same = keylen == len && memcmp(key, name, len) == 0;

	if (c->namekey != NULL)
		map_del(&reg->by_name, c->namekey, c->namekeylen);
	free(c->name);
	c->name = xmalloc(len + 1 + (same ? 0 : keylen + 1));
	memcpy(c->name, name, len);
	c->name[len] = '\0';
	if (same)
		c->namekey = c->name;
	else {
		c->namekey = c->name + len + 1;
		memcpy(c->namekey, key, keylen);
		c->namekey[keylen] = '\0';
	}
	c->namekeylen = keylen;
	free(key);
	map_put(&reg->by_name, c->namekey, keylen, c);
}

/*
 * Give a new client an id and its default name, its peer address.  Chosen
 * names cannot hold a ':', so they never take an address; should another
 * client hold this one all the same, the newcomer's gets "#id" appended:
 * the default need not obey the rules of chosen names, only be unique.
 */
void
registry_add(struct registry *reg, struct client *c)
{
	char	name[CHATD_ADDR_MAX + 24], *key;
	size_t	keylen;

	c->id = reg->next_id++;
	snprintf(name, sizeof name, "%s", c->addr);
	if ((key = name_fold(name, strlen(name), &keylen)) == NULL)
		fatal("cannot fold the address name %s", name);
	if (map_get(&reg->by_name, key, keylen) != NULL) {
		free(key);
		snprintf(name, sizeof name, "%s#%llu", c->addr,
		    (unsigned long long)c->id);
		if ((key = name_fold(name, strlen(name), &keylen)) == NULL)
			fatal("cannot fold the address name %s", name);
	}
	registry_set_name(reg, c, name, strlen(name), key, keylen);
	idmap_put(&reg->by_id, c->id, c);
	TAILQ_INSERT_TAIL(&reg->all, c, entry);
	reg->count++;
}

/* Take a client out of the registry; its name becomes free. */
void
registry_remove(struct registry *reg, struct client *c)
{
	idmap_del(&reg->by_id, c->id);
	map_del(&reg->by_name, c->namekey, c->namekeylen);
	TAILQ_REMOVE(&reg->all, c, entry);
	reg->count--;
}

/* The registered client with this id, or NULL. */
struct client *
registry_find_id(struct registry *reg, uint64_t id)
{
	return (idmap_get(&reg->by_id, id));
}

/*
 * The registered client whose name is the same as this one, or NULL:
 * names are compared by their folded keys, so "duke" finds "Duke".
 */
struct client *
registry_find_name(struct registry *reg, const char *name, size_t len)
{
	struct client	*c;
	char		*key;
	size_t		 keylen;

	if ((key = name_fold(name, len, &keylen)) == NULL)
		return (NULL);
	c = map_get(&reg->by_name, key, keylen);
	free(key);
	return (c);
}

/*
 * Rename a client after checking the name's rules and that no one else
 * holds the same name.  A client may change the form of its own name
 * ("duke" to "Duke").  Returns NULL on success or the reason it was
 * refused.
 */
const char *
registry_rename(struct registry *reg, struct client *c, const char *name,
    size_t len)
{
	const char	*why;
	struct client	*other;
	char		*key;
	size_t		 keylen;

	if ((why = name_check(name, len, &key, &keylen)) != NULL)
		return (why);
	other = map_get(&reg->by_name, key, keylen);
	if (other != NULL && other != c) {
		free(key);
		return ("name is taken");
	}
	registry_set_name(reg, c, name, len, key, keylen);
	return (NULL);
}

/* Queue one buffer to every online client but except. */
void
registry_broadcast(struct registry *reg, struct buf *b, struct client *except)
{
	struct client	*c;

	TAILQ_FOREACH(c, &reg->all, entry) {
		if (c != except && client_is_online(c))
			client_send(c, b);
	}
}
