/*
 * The room backend: whom else a broadcast, a join, a leave or a rename
 * concerns.  The registry knows the users this process holds, remote ones
 * included; the backend knows whether the room ends here.  room_local is a
 * server alone, and needs nothing: every hook is NULL and costs one test.
 * A [cluster] section swaps in cluster.c's backend, which tells the other
 * servers of the room through Redis.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

const struct room_ops room_local = {
	.name = "local",
};

/*
 * Choose and start the backend for the configuration.  Without a
 * [cluster] redis key that is the local one, and nothing is opened.
 * Returns 0, or -1 with the reason in err.
 */
int
room_open(struct server *srv, char *err, size_t errlen)
{
	/* Opened before the hand-over of an upgrade: join now. */
	if (srv->cluster != NULL) {
		cluster_begin(srv->cluster);
		return (0);
	}
	srv->room = &room_local;
	if (srv->cfg.cluster_redis == NULL)
		return (0);
	return (cluster_open(srv, err, errlen));
}

/* The configuration was reloaded: let the backend take what applies. */
void
room_reload(struct server *srv)
{
	if (srv->cluster != NULL)
		cluster_reload(srv->cluster);
}

/* The server is stopping: leave the room in order. */
void
room_stop(struct server *srv)
{
	if (srv->cluster != NULL)
		cluster_stop(srv->cluster);
}

/* Whether the backend has nothing more to say before the process exits. */
int
room_stopped(struct server *srv)
{
	return (srv->cluster == NULL || cluster_stopped(srv->cluster));
}

/* Close the backend and forget every remote user; back to local. */
void
room_close(struct server *srv)
{
	if (srv->cluster != NULL)
		cluster_free(srv->cluster);
	srv->cluster = NULL;
	srv->room = &room_local;
}

/* A local user has joined (the registry gave it an id and a name). */
void
room_joined(struct server *srv, struct client *c)
{
	if (srv->room->joined != NULL)
		srv->room->joined(srv, c);
}

/* A local user has left (it is still named, but no longer registered). */
void
room_left(struct server *srv, struct client *c)
{
	if (srv->room->left != NULL)
		srv->room->left(srv, c);
}

/* A local user's name changed from oldname, whose folded key is given. */
void
room_renamed(struct server *srv, struct client *c, const char *oldname,
    const char *oldkey, size_t oldkeylen)
{
	if (srv->room->renamed != NULL)
		srv->room->renamed(srv, c, oldname, oldkey, oldkeylen);
}

/*
 * A line was delivered to this server's users: the rest of the room gets
 * it too.  except is the user (local or remote) it is not for, or NULL.
 */
void
room_broadcast(struct server *srv, struct buf *b, struct client *except)
{
	if (srv->room->broadcast != NULL)
		srv->room->broadcast(srv, b, except);
}

/* A line for a user of another server. */
void
room_send(struct server *srv, struct client *c, struct buf *b)
{
	if (srv->room->send != NULL)
		srv->room->send(srv, c, b);
}

/* NULL if a local user may change name now, else why not. */
const char *
room_can_rename(struct server *srv, struct client *c)
{
	if (srv->room->can_rename != NULL)
		return (srv->room->can_rename(srv, c));
	return (NULL);
}

/*
 * Ask the backend for a new name of a local user, which the registry has
 * checked (rules, local holders): 1 when asked, and cb runs once, with
 * the user's id, its old name and NULL once the name is the user's, or
 * why not; 0 when the backend decides nothing (a server alone), and the
 * caller renames at once; -1 with *why if it cannot be asked now.
 */
int
room_claim(struct server *srv, struct client *c, const char *name, size_t len,
    const char *key, size_t keylen, room_claim_cb *cb, const char **why)
{
	if (srv->room->claim == NULL)
		return (0);
	return (srv->room->claim(srv, c, name, len, key, keylen, cb, why));
}

/*
 * A plugin's message on topic for the other servers: 0, or -1 if there is
 * no one to send it to (a server alone, or cut off).
 */
int
room_publish(struct server *srv, const char *topic, size_t topiclen,
    const char *data, size_t len)
{
	if (srv->room->publish == NULL || srv->cluster == NULL ||
	    !cluster_is_up(srv->cluster))
		return (-1);
	srv->room->publish(srv, topic, topiclen, data, len);
	return (0);
}
