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
 * Give a new client an id and its default name, its peer address.  If a
 * user has chosen that very name, the newcomer's gets "#id" appended: the
 * default need not obey the rules of chosen names, only be unique.
 */
void
registry_add(struct registry *reg, struct client *c)
{
	char	name[CHATD_ADDR_MAX + 24];

	c->id = reg->next_id++;
	snprintf(name, sizeof name, "%s", c->addr);
	if (map_get(&reg->by_name, name, strlen(name)) != NULL)
		snprintf(name, sizeof name, "%s#%llu", c->addr,
		    (unsigned long long)c->id);
	c->name = xstrdup(name);
	idmap_put(&reg->by_id, c->id, c);
	map_put(&reg->by_name, c->name, strlen(c->name), c);
	TAILQ_INSERT_TAIL(&reg->all, c, entry);
	reg->count++;
}

/* Take a client out of the registry; its name becomes free. */
void
registry_remove(struct registry *reg, struct client *c)
{
	idmap_del(&reg->by_id, c->id);
	map_del(&reg->by_name, c->name, strlen(c->name));
	TAILQ_REMOVE(&reg->all, c, entry);
	reg->count--;
}

/* The registered client with this id, or NULL. */
struct client *
registry_find_id(struct registry *reg, uint64_t id)
{
	return (idmap_get(&reg->by_id, id));
}

/* The registered client with this name, or NULL. */
struct client *
registry_find_name(struct registry *reg, const char *name, size_t len)
{
	return (map_get(&reg->by_name, name, len));
}

/*
 * Rename a client after checking the name's rules and that no one else
 * holds it.  Returns NULL on success or the reason it was refused.
 */
const char *
registry_rename(struct registry *reg, struct client *c, const char *name,
    size_t len)
{
	const char	*why;
	struct client	*other;

	if ((why = text_name_error(name, len)) != NULL)
		return (why);
	other = registry_find_name(reg, name, len);
	if (other == c)
		return (NULL);
	if (other != NULL)
		return ("name is taken");
	map_del(&reg->by_name, c->name, strlen(c->name));
	free(c->name);
	c->name = xstrndup(name, len);
	map_put(&reg->by_name, c->name, len, c);
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
