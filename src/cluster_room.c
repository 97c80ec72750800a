/*
 * This server's users in a cluster's room: the room backend that the
 * registry calls (room.c).  Every join, leave and rename of a local user
 * is a script that changes the room's keys in Redis and announces the
 * change in one step; every line for the rest of the room is a PUBLISH.
 * A rename a command asks for is claimed first and made once Redis has
 * said yes (wait.c holds the command meanwhile); any other rename is made
 * here at once and given back if Redis says no.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"

/* ---- local users: the room backend -------------------------------------- */

/*
 * Rename a local user as Redis decided (a default name that another
 * server's user had, a chosen name lost while cut off or to a faster
 * claim), without telling Redis again; the plugins' rename hooks run with
 * the reason "taken".
 */
void
cluster_rename_quietly(struct cluster *cl, struct client *c, const char *name,
    size_t len)
{
	char	*old = xstrdup(c->name);

	log_info("cluster: client %llu (%s) is %.*s in the room: the name "
	    "was taken", (unsigned long long)c->id, c->name, (int)len, name);
	cl->quiet = 1;
	registry_set_name(&cl->srv->reg, c, name, len);
	cl->quiet = 0;
	if (cl->srv->script != NULL)
		plugin_renamed(cl->srv->script, c, old, "taken");
	free(old);
}

/*
 * What a join or rename waits for: the user, and the name it asked for
 * (a join) or had before (a rename).
 */
struct user_req {
	struct cluster	*cl;
	uint64_t	 id;
	char		 name[];
};

/* A request for the user c with a name. */
static struct user_req *
cluster_user_req(struct cluster *cl, const struct client *c,
    const char *name)
{
	struct user_req	*req;
	size_t		 len = strlen(name);

	req = xmalloc(sizeof *req + len + 1);
	req->cl = cl;
	req->id = c->id;
	memcpy(req->name, name, len + 1);
	return (req);
}

/*
 * The reply to a join: {'ok', uid, the name Redis gave the user}.  If it
 * is not the name asked for, and the user has not renamed since, the user
 * takes it.
 */
static void
cluster_joined_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct user_req		*req = arg;
	struct cluster		*cl = req->cl;
	struct cluster_words	 w;
	const redisReply	*e, *uid, *name;
	struct client		*c;
	uint64_t		 id;

	if ((e = cluster_reply_start(&w, r)) == NULL ||
	    cluster_check_mine(cl, e) != 0)
		goto done;
	if (cluster_word_is(e, "full")) {
		log_warn("cluster: no free name for a user (its address and "
		    "999 more are taken)");
		goto done;
	}
	if (!cluster_word_is(e, "ok") ||
	    (uid = cluster_reply_next(&w)) == NULL ||
	    (name = cluster_reply_next(&w)) == NULL ||
	    clmsg_parse_number(uid->str, uid->len, &id) != 0 ||
	    id != req->id || !clmsg_name_ok(name->str, name->len)) {
		redis_fail(cl->link, "an odd reply to the join script");
		goto done;
	}
	c = registry_find_id(&cl->srv->reg, id);
	if (c != NULL && !(c->flags & CLIENT_REMOTE) && client_is_online(c) &&
	    strcmp(c->name, req->name) == 0 &&
	    (strlen(req->name) != name->len ||
	    memcmp(req->name, name->str, name->len) != 0))
		cluster_rename_quietly(cl, c, name->str, name->len);
done:
	free(req);
}

/* A local user joined: claim its name, store it, announce it. */
static void
cluster_joined(struct server *srv, struct client *c)
{
	struct cluster		*cl = cluster_of(srv);
	struct cluster_args	 a;
	struct user_req		*req;

	if (!cluster_sending(cl))
		return;		/* the resync will announce it */
	cluster_msg_start(cl, CM_JOIN);
	clmsg_add_number(&cl->msg, c->id);
	clmsg_add_number(&cl->msg, cluster_joined_ms(c));
	clmsg_add_word(&cl->msg, c->addr, strlen(c->addr));
	clmsg_add_text(&cl->msg, "", 0);	/* the script appends the name */
	cluster_args_start(&a, cl, 8);
	cluster_args_number(&a, cl->seq);
	cluster_args_number(&a, c->id);
	cluster_args_number(&a, cluster_joined_ms(c));
	cluster_args_add(&a, c->addr, strlen(c->addr));
	cluster_args_add(&a, c->name, strlen(c->name));
	cluster_args_add(&a, c->namekey, c->namekeylen);
	/* the default name to fall back to */
	cluster_args_add(&a, c->addr, strlen(c->addr));
	cluster_args_add(&a, cl->msg.data, cl->msg.len);
	req = cluster_user_req(cl, c, c->name);
	if (cluster_args_send(&a, cl, CS_JOIN, cluster_joined_cb, req) != 0)
		free(req);
}

/* A local user left: free its name and announce it. */
static void
cluster_left(struct server *srv, struct client *c)
{
	struct cluster		*cl = cluster_of(srv);
	struct cluster_args	 a;

	if (!cluster_sending(cl))
		return;
	cluster_msg_start(cl, CM_LEAVE);
	clmsg_add_number(&cl->msg, c->id);
	cluster_args_start(&a, cl, 4);
	cluster_args_number(&a, cl->seq);
	cluster_args_number(&a, c->id);
	cluster_args_add(&a, c->namekey, c->namekeylen);
	cluster_args_add(&a, cl->msg.data, cl->msg.len);
	cluster_args_send(&a, cl, CS_LEAVE, NULL, NULL);
}


/* The reply to a rename: {'ok'}, or {'taken'} if another server won. */
static void
cluster_renamed_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct user_req	*req = arg;
	struct cluster		*cl = req->cl;
	struct cluster_words	 w;
	const redisReply	*e;
	struct client		*c;

	if ((e = cluster_reply_start(&w, r)) == NULL ||
	    cluster_check_mine(cl, e) != 0 || cluster_word_is(e, "ok") ||
	    cluster_word_is(e, "absent")) {
		free(req);
		return;
	}
	if (!cluster_word_is(e, "taken")) {
		redis_fail(cl->link, "an odd reply to the rename script");
		free(req);
		return;
	}
	c = registry_find_id(&cl->srv->reg, req->id);
	if (c != NULL && !(c->flags & CLIENT_REMOTE) && client_is_online(c)) {
		log_info("cluster: client %llu lost the name %s to a user of "
		    "another server", (unsigned long long)c->id, c->name);
		cluster_rename_quietly(cl, c, req->name,
		    strlen(req->name));
	}
	free(req);
}

/*
 * A local user's name changed: claim the new name (unless it folds as
 * the old one did), free the old, announce it.
 */
static void
cluster_renamed(struct server *srv, struct client *c, const char *oldname,
    const char *oldkey, size_t oldkeylen)
{
	struct cluster		*cl = cluster_of(srv);
	struct cluster_args	 a;
	struct user_req		*req;
	struct clbuf		 filler = { NULL, 0, 0 };

	if (cl->quiet || !cluster_sending(cl))
		return;
	cluster_msg_start(cl, CM_RENAME);
	clmsg_add_number(&cl->msg, c->id);
	clmsg_add_text(&cl->msg, c->name, strlen(c->name));
	clmsg_start(&filler, CM_FILLER, cl->node, cl->inc, cl->seq);
	cluster_args_start(&a, cl, 9);
	cluster_args_number(&a, cl->seq);
	cluster_args_number(&a, c->id);
	cluster_args_add(&a, oldkey, oldkeylen);
	cluster_args_number(&a, cluster_joined_ms(c));
	cluster_args_add(&a, c->addr, strlen(c->addr));
	cluster_args_add(&a, c->name, strlen(c->name));
	cluster_args_add(&a, c->namekey, c->namekeylen);
	cluster_args_add(&a, cl->msg.data, cl->msg.len);
	cluster_args_add(&a, filler.data, filler.len);
	req = cluster_user_req(cl, c, oldname);
	if (cluster_args_send(&a, cl, CS_RENAME, cluster_renamed_cb, req) != 0)
		free(req);
	clbuf_free(&filler);
}

#define CLUSTER_CUT_OFF	"names cannot change while this server is cut off " \
			"from the others"

/* A claim of a name for a local user, waiting for Redis's answer. */
struct claim_req {
	struct cluster	*cl;
	uint64_t	 id;
	room_claim_cb	*cb;
	char		*name;		/* the name asked for */
	char		 old[];		/* the user's name when it asked */
};

/*
 * The reply to a claimed rename: {'ok'}, {'taken'} (another server's user
 * has it), {'absent'} (the user left meanwhile).  On 'ok' the user takes
 * the name here (Redis has it and the others are told already); the
 * claimer hears of it either way.
 */
static void
cluster_claimed_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct claim_req	*req = arg;
	struct cluster		*cl = req->cl;
	struct server		*srv = cl->srv;
	struct cluster_words	 w;
	const redisReply	*e;
	const char		*why = CLUSTER_CUT_OFF;
	struct client		*c;

	if ((e = cluster_reply_start(&w, r)) != NULL && cluster_check_mine(cl,
	    e) == 0) {
		if (cluster_word_is(e, "ok")) {
			why = NULL;
			c = registry_find_id(&srv->reg, req->id);
			if (c != NULL && !(c->flags & CLIENT_REMOTE) &&
			    client_is_online(c)) {
				log_info("client %llu renamed %s to %s",
				    (unsigned long long)c->id, c->name,
				    req->name);
				cl->quiet = 1;
				registry_set_name(&srv->reg, c, req->name,
				    strlen(req->name));
				cl->quiet = 0;
			}
		} else if (cluster_word_is(e, "taken")) {
			log_debug("cluster: client %llu: %s is taken in Redis",
			    (unsigned long long)req->id, req->name);
			why = "name is taken";
		}
		else if (cluster_word_is(e, "absent"))
			why = "gone";
		else
			redis_fail(cl->link, "an odd reply to the rename "
			    "script");
	}
	req->cb(srv, req->id, req->old, why);
	free(req->name);
	free(req);
}

/*
 * A local user asks for a name that folds unlike its own: ask Redis, and
 * rename the user only once Redis says the name is theirs.  Returns 1, or
 * -1 with *why if Redis cannot be asked now.
 */
static int
cluster_claim(struct server *srv, struct client *c, const char *name,
    size_t len, const char *key, size_t keylen, room_claim_cb *cb,
    const char **why)
{
	struct cluster		*cl = cluster_of(srv);
	struct cluster_args	 a;
	struct claim_req	*req;
	struct clbuf		 filler = { NULL, 0, 0 };
	size_t			 oldlen = strlen(c->name);
	int			 rc;

	*why = CLUSTER_CUT_OFF;
	if (cl->state != CL_UP || !cluster_sending(cl))
		return (-1);
	cluster_msg_start(cl, CM_RENAME);
	clmsg_add_number(&cl->msg, c->id);
	clmsg_add_text(&cl->msg, name, len);
	clmsg_start(&filler, CM_FILLER, cl->node, cl->inc, cl->seq);
	cluster_args_start(&a, cl, 9);
	cluster_args_number(&a, cl->seq);
	cluster_args_number(&a, c->id);
	cluster_args_add(&a, c->namekey, c->namekeylen);
	cluster_args_number(&a, cluster_joined_ms(c));
	cluster_args_add(&a, c->addr, strlen(c->addr));
	cluster_args_add(&a, name, len);
	cluster_args_add(&a, key, keylen);
	cluster_args_add(&a, cl->msg.data, cl->msg.len);
	cluster_args_add(&a, filler.data, filler.len);
	req = xmalloc(sizeof *req + oldlen + 1);
	req->cl = cl;
	req->id = c->id;
	req->cb = cb;
	req->name = xstrndup(name, len);
	memcpy(req->old, c->name, oldlen + 1);
	rc = cluster_args_send(&a, cl, CS_RENAME, cluster_claimed_cb, req);
	clbuf_free(&filler);
	if (rc != 0) {
		free(req->name);
		free(req);
		return (-1);
	}
	return (1);
}

/* A plugin's message for the other servers. */
static void
cluster_publish_topic(struct server *srv, const char *topic, size_t topiclen,
    const char *data, size_t len)
{
	struct cluster	*cl = cluster_of(srv);

	if (!cluster_sending(cl) || len > CLMSG_TEXT_MAX)
		return;
	cluster_msg_start(cl, CM_TOPIC);
	clmsg_add_word(&cl->msg, topic, topiclen);
	clmsg_add_text(&cl->msg, data, len);
	cluster_publish(cl);
}

/* The address of a user, local or remote, in a message: node and id. */
static void
cluster_add_user(struct cluster *cl, const struct client *c)
{
	if (c->flags & CLIENT_REMOTE) {
		clmsg_add_word(&cl->msg, c->peer->id, strlen(c->peer->id));
		clmsg_add_number(&cl->msg, c->rid);
	} else {
		clmsg_add_word(&cl->msg, cl->node, strlen(cl->node));
		clmsg_add_number(&cl->msg, c->id);
	}
}

/*
 * A line was delivered here: publish it for the others.  The buffer ends
 * in CRLF, which the receivers add back.
 */
static void
cluster_broadcast(struct server *srv, struct buf *b, struct client *except)
{
	struct cluster	*cl = cluster_of(srv);

	if (!cluster_sending(cl))
		return;
	if (b->len - 2 > CLMSG_TEXT_MAX) {
		log_warn("cluster: a line of %zu bytes is too long for the "
		    "other servers", b->len - 2);
		return;
	}
	cluster_msg_start(cl, CM_LINE);
	if (except == NULL || (except->flags & CLIENT_REMOTE &&
	    except->peer == NULL)) {
		clmsg_add_word(&cl->msg, "-", 1);
		clmsg_add_word(&cl->msg, "-", 1);
	} else
		cluster_add_user(cl, except);
	clmsg_add_text(&cl->msg, b->data, b->len - 2);
	cluster_publish(cl);
}

/* A line for a user of another server: to that server. */
static void
cluster_send(struct server *srv, struct client *c, struct buf *b)
{
	struct cluster	*cl = cluster_of(srv);

	if (!cluster_sending(cl) || c->peer == NULL ||
	    b->len - 2 > CLMSG_TEXT_MAX)
		return;
	cluster_msg_start(cl, CM_PRIVATE);
	cluster_add_user(cl, c);
	clmsg_add_text(&cl->msg, b->data, b->len - 2);
	cluster_publish(cl);
}

/* While cut off, no name may change: the others' are not known. */
static const char *
cluster_can_rename(struct server *srv, __unused struct client *c)
{
	if (cluster_of(srv)->state == CL_UP)
		return (NULL);
	return (CLUSTER_CUT_OFF);
}

const struct room_ops cluster_ops = {
	.name = "cluster",
	.joined = cluster_joined,
	.left = cluster_left,
	.renamed = cluster_renamed,
	.broadcast = cluster_broadcast,
	.send = cluster_send,
	.can_rename = cluster_can_rename,
	.claim = cluster_claim,
	.publish = cluster_publish_topic,
};
