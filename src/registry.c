/*
 * The registry: every registered user, in join order, by id and by name.
 * Lua never holds a client pointer, only an id it looks up here, so a
 * handle that outlives its user finds nothing instead of freed memory.
 *
 * In a cluster the registry also holds the users of the other servers,
 * records without a socket (CLIENT_REMOTE), so that lists and look-ups by
 * name cover the whole room.  The room backend hears of every change to a
 * local user and of every broadcast; remote records come and go through
 * the backend itself, which tells nobody.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

/* Set up an empty registry for srv's room. */
void
registry_init(struct registry *reg, struct server *srv)
{
	TAILQ_INIT(&reg->all);
	idmap_init(&reg->by_id);
	map_init(&reg->by_name);
	roster_init(&reg->roster);
	reg->count = 0;
	reg->nclosing = 0;
	reg->nremote = 0;
	reg->next_id = 1;
	reg->srv = srv;
}

/* Free the registry's tables (clients are freed by their owner). */
void
registry_free(struct registry *reg)
{
	idmap_free(&reg->by_id);
	map_free(&reg->by_name);
}

/* Take a client's name out of the index, if the index has it. */
static void
registry_unindex(struct registry *reg, struct client *c)
{
	if (c->namekey != NULL &&
	    map_get(&reg->by_name, c->namekey, c->namekeylen) == c) {
		map_del(&reg->by_name, c->namekey, c->namekeylen);
		roster_remove(&reg->roster, c);
	}
}

/*
 * Set a client's name and its folded key, and file it under the key; key
 * (from xmalloc) is freed.  Name and key share one allocation, and most
 * names (every default one) are their own key, so an idle client holds
 * one copy.  Only a cluster can bring two holders of one key (two servers
 * that saw one peer address at once, until Redis has told one of them to
 * rename); the index keeps the first, and never loses it to the second.
 */
static void
registry_store_name(struct registry *reg, struct client *c, const char *name,
    size_t len, char *key, size_t keylen)
{
	int	 same = keylen == len && memcmp(key, name, len) == 0;

	registry_unindex(reg, c);
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
	if (map_get(&reg->by_name, c->namekey, keylen) == NULL) {
		map_put(&reg->by_name, c->namekey, keylen, c);
		roster_insert(&reg->roster, c);
	}
}

/*
 * Give a new client an id and its default name: its peer address, or
 * guest:ID without [server] show_addresses.  Chosen names cannot hold a
 * ':', so they never take a default one; should another client hold this
 * one all the same (one address twice, a guest of another server), the
 * newcomer's gets "#id" appended: the default need not obey the rules of
 * chosen names, only be unique.
 */
void
registry_add(struct registry *reg, struct client *c)
{
	char	base[CHATD_ADDR_MAX], name[CHATD_ADDR_MAX + 24], *key;
	size_t	keylen;

	c->id = reg->next_id++;
	/* Without show_addresses the default name is guest:ID: no chosen
	 * name holds a ':', so none passes for it, and it tells nobody
	 * where the user connects from. */
	if (reg->srv->cfg.show_addresses)
		snprintf(base, sizeof base, "%s", c->addr);
	else
		snprintf(base, sizeof base, "guest:%llu",
		    (unsigned long long)c->id);
	snprintf(name, sizeof name, "%s", base);
	if ((key = name_fold(name, strlen(name), &keylen)) == NULL)
		fatal("cannot fold the address name %s", name);
	if (map_get(&reg->by_name, key, keylen) != NULL) {
		free(key);
		snprintf(name, sizeof name, "%s#%llu", base,
		    (unsigned long long)c->id);
		if ((key = name_fold(name, strlen(name), &keylen)) == NULL)
			fatal("cannot fold the address name %s", name);
	}
	registry_store_name(reg, c, name, strlen(name), key, keylen);
	idmap_put(&reg->by_id, c->id, c);
	TAILQ_INSERT_TAIL(&reg->all, c, entry);
	reg->count++;
	room_joined(reg->srv, c);
}

/*
 * Register a client handed over by the old process of an upgrade, under
 * the id and name it had there.
 */
void
registry_adopt(struct registry *reg, struct client *c, uint64_t id,
    const char *name, size_t len)
{
	char	*key;
	size_t	 keylen;

	if ((key = name_fold(name, len, &keylen)) == NULL)
		key = xstrndup(name, keylen = len);
	c->id = id;
	if (reg->next_id <= id)
		reg->next_id = id + 1;
	registry_store_name(reg, c, name, len, key, keylen);
	idmap_put(&reg->by_id, c->id, c);
	TAILQ_INSERT_TAIL(&reg->all, c, entry);
	reg->count++;
	room_joined(reg->srv, c);
}

/*
 * Register a user of another server (CLIENT_REMOTE set, addr filled in)
 * under the name its server gave it, which the caller has checked.
 */
void
registry_add_remote(struct registry *reg, struct client *c, const char *name,
    size_t len)
{
	char	*key;
	size_t	 keylen;

	c->id = reg->next_id++;
	if ((key = name_fold(name, len, &keylen)) == NULL)
		fatal("cannot fold a checked name");
	registry_store_name(reg, c, name, len, key, keylen);
	idmap_put(&reg->by_id, c->id, c);
	TAILQ_INSERT_TAIL(&reg->all, c, entry);
	reg->count++;
	reg->nremote++;
}

/* Take a client out of the registry; its name becomes free. */
void
registry_remove(struct registry *reg, struct client *c)
{
	idmap_del(&reg->by_id, c->id);
	registry_unindex(reg, c);
	TAILQ_REMOVE(&reg->all, c, entry);
	reg->count--;
	if (c->flags & CLIENT_CLOSING)
		reg->nclosing--;
	if (c->flags & CLIENT_REMOTE)
		reg->nremote--;
	else
		room_left(reg->srv, c);
}

/* A registered client was marked for closing: it is no longer online. */
void
registry_closing(struct registry *reg)
{
	reg->nclosing++;
}

/* How many users are online: registered and not on their way out. */
size_t
registry_online(const struct registry *reg)
{
	return (reg->count - reg->nclosing);
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

/* The registered client whose name has this folded key, or NULL. */
struct client *
registry_find_key(struct registry *reg, const char *key, size_t keylen)
{
	return (map_get(&reg->by_name, key, keylen));
}

/*
 * Store a new name and key for c (key is freed); a local user's backend
 * hears of it with the old name and key.
 */
static void
registry_rename_to(struct registry *reg, struct client *c, const char *name,
    size_t len, char *key, size_t keylen)
{
	char	*oldname = c->name, *oldkey = c->namekey;
	size_t	 oldkeylen = c->namekeylen;

	if (c->flags & CLIENT_REMOTE) {
		registry_store_name(reg, c, name, len, key, keylen);
		return;
	}
	/* The old name and key stay alive until the backend has seen them. */
	c->name = NULL;
	registry_store_name(reg, c, name, len, key, keylen);
	room_renamed(reg->srv, c, oldname, oldkey, oldkeylen);
	free(oldname);
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
	if (keylen != c->namekeylen || memcmp(key, c->namekey, keylen) != 0) {
		if ((why = room_can_rename(reg->srv, c)) != NULL) {
			free(key);
			return (why);
		}
	}
	registry_rename_to(reg, c, name, len, key, keylen);
	return (NULL);
}

/*
 * As registry_rename(), but a name that another server may hold too is
 * asked of the room backend first: returns -1 with *why if refused, 0
 * when renamed already (the same name in another form, or no backend to
 * ask), or 1 while the backend claims it; cb then runs once, after the
 * name is the user's or with why it is not.
 */
int
registry_claim(struct registry *reg, struct client *c, const char *name,
    size_t len, const char **why, room_claim_cb *cb)
{
	struct client	*other;
	char		*key;
	size_t		 keylen;
	int		 rc;

	if ((*why = name_check(name, len, &key, &keylen)) != NULL)
		return (-1);
	other = map_get(&reg->by_name, key, keylen);
	if (other != NULL && other != c) {
		free(key);
		*why = "name is taken";
		return (-1);
	}
	if (keylen != c->namekeylen || memcmp(key, c->namekey, keylen) != 0) {
		if ((*why = room_can_rename(reg->srv, c)) != NULL) {
			free(key);
			return (-1);
		}
		rc = room_claim(reg->srv, c, name, len, key, keylen, cb,
		    why);
		if (rc != 0) {
			free(key);
			return (rc);
		}
	}
	registry_rename_to(reg, c, name, len, key, keylen);
	return (0);
}

/*
 * Give a client a name already checked (or given by Redis), telling the
 * room backend of a local user's new name.
 */
void
registry_set_name(struct registry *reg, struct client *c, const char *name,
    size_t len)
{
	char	*key;
	size_t	 keylen;

	if ((key = name_fold(name, len, &keylen)) == NULL)
		fatal("cannot fold a checked name");
	registry_rename_to(reg, c, name, len, key, keylen);
}

/*
 * Deliver one buffer to every online local client but except, and let the
 * room backend take it to the rest of the room.
 */
void
registry_broadcast(struct registry *reg, struct buf *b, struct client *except)
{
	registry_deliver(reg, b, except);
	room_broadcast(reg->srv, b, except);
}

/*
 * Queue one buffer to every online local client but except: the users of
 * other servers are skipped in the same test as those on their way out.
 */
void
registry_deliver(struct registry *reg, struct buf *b, struct client *except)
{
	struct client	*c;

	TAILQ_FOREACH(c, &reg->all, entry) {
		if (c != except && (c->flags & (CLIENT_CLOSING |
		    CLIENT_DRAINING | CLIENT_REMOTE)) == 0)
			client_send(c, b);
	}
}
