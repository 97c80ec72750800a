/*
 * The other servers of a cluster's room, as this server sees them: their
 * users (records in the registry without a socket, CLIENT_REMOTE), the
 * messages they publish, snapshots of their users read back from Redis,
 * and the nodes this server found lost.
 *
 * Per node the last incarnation and sequence number seen tell a new
 * process, a duplicate and a gap apart; a gap, a new incarnation or a
 * reset is answered by reading that node's users back (a snapshot), with
 * its presence messages held meanwhile and applied after, those past the
 * node's last change the snapshot includes (pseq).
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static void	cluster_apply(struct cluster *, struct peer *,
		    const struct clmsg *);

/* Report a message dropped, at most once per CLUSTER_DROP_LOG seconds. */
static void
cluster_drop(struct cluster *cl, const char *why, const char *msg,
    size_t len)
{
	ev_tstamp	now = ev_now(cl->srv->loop);

	cl->drops++;
	cl->n_drops++;
	if (now - cl->drop_at < CLUSTER_DROP_LOG)
		return;
	if (cl->drops > 1)
		log_warn("cluster: dropped a message (%s), and %lu more in "
		    "%.0f s", why, cl->drops - 1, now - cl->drop_at);
	else
		log_warn("cluster: dropped a message (%s)", why);
	log_text(LL_INFO, "cluster: the message: ", msg, len > 200 ? 200 :
	    len);
	cl->drop_at = now;
	cl->drops = 0;
}

/* ---- remote users ------------------------------------------------------ */

/* A record for a user of another server, in the registry. */
static struct client *
cluster_user_new(struct cluster *cl, struct peer *p, uint64_t rid,
    const char *addr, size_t addrlen, uint64_t joined, const char *name,
    size_t namelen)
{
	struct client	*c;

	c = xcalloc(1, sizeof *c);
	c->srv = cl->srv;
	c->flags = CLIENT_REMOTE;
	c->peer = p;
	c->rid = rid;
	snprintf(c->addr, sizeof c->addr, "%.*s", (int)addrlen, addr);
	c->joined = c->last_active = (ev_tstamp)joined / 1000.;
	registry_add_remote(&cl->srv->reg, c, name, namelen);
	if (p != NULL)
		idmap_put(&p->users, rid, c);
	return (c);
}

/* Remove a remote user's record, without a word to anyone. */
static void
cluster_user_free(struct cluster *cl, struct client *c)
{
	if (c->peer != NULL)
		idmap_del(&c->peer->users, c->rid);
	registry_remove(&cl->srv->reg, c);
	if (cl->srv->script != NULL)
		plugin_forget(cl->srv->script, c);
	free(c->name);
	free(c);
}

/* A remote user has a new name. */
static void
cluster_user_rename(struct cluster *cl, struct client *c, const char *name,
    size_t len)
{
	log_debug("cluster: %s of node %s is now %.*s", c->name, c->peer->id,
	    (int)len, name);
	registry_set_name(&cl->srv->reg, c, name, len);
}

/* Add or update a remote user from what its server says of it. */
static void
cluster_user_set(struct cluster *cl, struct peer *p, uint64_t rid,
    const char *addr, size_t addrlen, uint64_t joined, const char *name,
    size_t namelen)
{
	struct client	*c = idmap_get(&p->users, rid);

	if (c == NULL) {
		c = cluster_user_new(cl, p, rid, addr, addrlen, joined, name,
		    namelen);
		log_debug("cluster: %s of node %s is here as client %llu",
		    c->name, p->id, (unsigned long long)c->id);
		return;
	}
	if (strlen(c->name) != namelen || memcmp(c->name, name, namelen) != 0)
		cluster_user_rename(cl, c, name, namelen);
}

/* ---- peers ------------------------------------------------------------- */

/* The peer of this node id, or NULL. */
static struct peer *
cluster_peer_find(struct cluster *cl, const char *id, size_t len)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &cl->peers, entry) {
		if (strlen(p->id) == len && memcmp(p->id, id, len) == 0)
			return (p);
	}
	return (NULL);
}

/* A new peer of this id and incarnation, with no users yet. */
static struct peer *
cluster_peer_new(struct cluster *cl, const char *id, size_t len, uint64_t inc)
{
	struct peer	*p;

	p = xcalloc(1, sizeof *p);
	memcpy(p->id, id, len);
	p->inc = inc;
	p->born = cl->snap_epoch;
	p->heard = ev_now(cl->srv->loop);
	STAILQ_INIT(&p->held);
	idmap_init(&p->users);
	TAILQ_INSERT_TAIL(&cl->peers, p, entry);
	return (p);
}

/*
 * A peer the old process of an upgrade knew, up to its message seq: what
 * it says next applies, what it said before was applied there.  Its users
 * come with the snapshot of all that joining reads, its presence held
 * until then.
 */
void
cluster_peer_known(struct cluster *cl, const char *id, uint64_t inc,
    uint64_t seq)
{
	struct peer	*p;

	if (cluster_peer_find(cl, id, strlen(id)) != NULL)
		return;
	p = cluster_peer_new(cl, id, strlen(id), inc);
	p->seq = seq;
	p->syncing = 1;
}

/* Drop a peer's held messages. */
static void
cluster_peer_unhold(struct peer *p)
{
	struct held	*h;

	while ((h = STAILQ_FIRST(&p->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&p->held, entry);
		free(h);
	}
	p->nheld = 0;
}

/* Remove every record of a peer's users, silently. */
static void
cluster_peer_clear(struct cluster *cl, struct peer *p)
{
	struct client	*c, *next;

	for (c = TAILQ_FIRST(&cl->srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->peer == p)
			cluster_user_free(cl, c);
	}
}

/* Forget a peer and its users. */
void
cluster_peer_free(struct cluster *cl, struct peer *p)
{
	cluster_peer_clear(cl, p);
	cluster_peer_unhold(p);
	idmap_free(&p->users);
	TAILQ_REMOVE(&cl->peers, p, entry);
	free(p);
}

/* Forget every peer: the link is down, or the cluster closing. */
void
cluster_peers_free(struct cluster *cl)
{
	struct peer	*p;

	while ((p = TAILQ_FIRST(&cl->peers)) != NULL)
		cluster_peer_free(cl, p);
}

/* ---- what the others say ----------------------------------------------- */

/* Keep a presence message until its node's snapshot has come. */
static void
cluster_hold(struct cluster *cl, struct peer *p, const char *data,
    size_t len)
{
	struct held	*h;

	if (p->nheld == CLUSTER_HOLD_MAX) {
		log_warn("cluster: too many changes from node %s while "
		    "reading it; reading it again", p->id);
		cluster_peer_unhold(p);
		p->syncing = 0;
		cluster_snapshot(cl, p);
		return;
	}
	h = xmalloc(sizeof *h + len);
	h->len = len;
	memcpy(h->data, data, len);
	STAILQ_INSERT_TAIL(&p->held, h, entry);
	p->nheld++;
}

/* Deliver a line of another server to this server's users. */
static void
cluster_deliver(struct cluster *cl, const struct clmsg *m)
{
	struct client	*to = NULL;
	struct buf	*b;
	int		 here;

	here = m->tnode != NULL && m->tnodelen == strlen(cl->node) &&
	    memcmp(m->tnode, cl->node, m->tnodelen) == 0;
	if (m->tnode != NULL && here) {
		to = registry_find_id(&cl->srv->reg, m->tuid);
		if (to != NULL && (to->flags & CLIENT_REMOTE))
			to = NULL;
	}
	if (m->kind == CM_PRIVATE && to == NULL)
		return;		/* not for this server, or gone */
	log_debug("cluster: %s %llu of node %.*s", m->kind == CM_PRIVATE ?
	    "private line" : "line", (unsigned long long)m->seq,
	    (int)m->nodelen, m->node);
	b = buf_line(m->text, m->textlen);
	if (m->kind == CM_PRIVATE) {
		if (client_is_online(to))
			client_send(to, b);
	} else {
		registry_deliver(&cl->srv->reg, b, to);
		metric_inc(METRIC_BROADCASTS);
	}
	buf_unref(b);
}

/* A heartbeat's list of lost nodes: forget what we hold of them. */
static void
cluster_forget_lost(struct cluster *cl, struct clmsg *m)
{
	const char	*node;
	size_t		 len;
	uint64_t	 inc;
	struct peer	*q;

	while (clmsg_next_lost(m, &node, &len, &inc)) {
		if (len == strlen(cl->node) && memcmp(node, cl->node,
		    len) == 0) {
			if (inc == cl->inc)
				redis_fail(cl->link, "this server was "
				    "dropped from the room; joining again");
			continue;
		}
		if ((q = cluster_peer_find(cl, node, len)) != NULL &&
		    q->inc == inc) {
			log_info("cluster: node %s was lost", q->id);
			cluster_peer_free(cl, q);
		}
	}
}

/* Apply a presence message (J, L, N) of a node that is not being read. */
static void
cluster_presence(struct cluster *cl, struct peer *p, const struct clmsg *m)
{
	struct client	*c;

	if (m->uid == 0)
		return;
	switch (m->kind) {
	case CM_JOIN:
		cluster_user_set(cl, p, m->uid, m->addr, m->addrlen, m->joined,
		    m->text, m->textlen);
		break;
	case CM_LEAVE:
		if ((c = idmap_get(&p->users, m->uid)) != NULL) {
			log_debug("cluster: %s of node %s left", c->name,
			    p->id);
			cluster_user_free(cl, c);
		}
		break;
	case CM_RENAME:
		if ((c = idmap_get(&p->users, m->uid)) != NULL)
			cluster_user_rename(cl, c, m->text, m->textlen);
		break;
	}
}

/* Act on one message of another node, in its order. */
static void
cluster_apply(struct cluster *cl, struct peer *p, const struct clmsg *m)
{
	struct clmsg	copy;

	switch (m->kind) {
	case CM_JOIN:
	case CM_LEAVE:
	case CM_RENAME:
		cluster_presence(cl, p, m);
		break;
	case CM_RESET:
		cluster_snapshot(cl, p);
		break;
	case CM_HEARTBEAT:
		copy = *m;
		cluster_forget_lost(cl, &copy);
		break;
	case CM_BYE:
		log_info("cluster: node %s left the room", p->id);
		cluster_peer_free(cl, p);
		break;
	case CM_LINE:
	case CM_PRIVATE:
		cluster_deliver(cl, m);
		break;
	case CM_TOPIC:
		if (cl->srv->script != NULL)
			api_topic(cl->srv->script, m->topic, m->topiclen,
			    m->text, m->textlen, p->id);
		break;
	}
}

/* A message on the room's channel. */
void
cluster_message(void *arg, const char *data, size_t len)
{
	struct cluster	*cl = arg;
	struct clmsg	 m;
	struct peer	*p;
	const char	*why;

	if (cl->handed)
		return;		/* the new process reads the room now */
	if (cl->adopting || cl->keeping) {
		cluster_keep(cl, data, len);
		return;
	}
	if ((why = clmsg_parse(data, len, &m)) != NULL) {
		cluster_drop(cl, why, data, len);
		return;
	}
	if (m.nodelen == strlen(cl->node) &&
	    memcmp(m.node, cl->node, m.nodelen) == 0) {
		if (m.inc != cl->inc)
			cluster_drop(cl, "another process has this server's "
			    "node id", data, len);
		else if (m.kind == CM_HEARTBEAT) {
			cl->echo_at = ev_now(cl->srv->loop);
			if (cl->hb_sent > 0)
				cl->hb_rtt = ev_time() - cl->hb_sent;
		}
		return;		/* ours: delivered here when sent */
	}
	if (cl->state == CL_DOWN || !cl->registered)
		return;		/* not in the room yet */
	if ((p = cluster_peer_find(cl, m.node, m.nodelen)) == NULL) {
		p = cluster_peer_new(cl, m.node, m.nodelen, m.inc);
		if (cl->state == CL_JOINING)
			p->syncing = 1;	/* the snapshot of all will do */
		else if (m.seq != 1)
			cluster_snapshot(cl, p);
	} else if (p->inc != m.inc) {
		/* Another process of that node: its predecessor's users are
		 * gone (announced by whoever reaped it). */
		cluster_peer_clear(cl, p);
		cluster_peer_unhold(p);
		p->inc = m.inc;
		p->seq = 0;
		p->syncing = 0;
		p->resnap = 0;
		if (cl->state == CL_JOINING)
			p->syncing = 1;
		else if (m.seq != 1)
			cluster_snapshot(cl, p);
	}
	if (p->seq != 0 && m.seq <= p->seq) {
		log_debug("cluster: a message from node %s again (%llu)",
		    p->id, (unsigned long long)m.seq);
		return;
	}
	if (p->seq != 0 && m.seq != p->seq + 1) {
		cl->n_gaps++;
		log_warn("cluster: %llu messages from node %s lost; reading "
		    "its users again", (unsigned long long)(m.seq - p->seq - 1),
		    p->id);
		cluster_snapshot(cl, p);
	}
	p->seq = m.seq;
	p->heard = ev_now(cl->srv->loop);
	if (p->syncing && (m.kind == CM_JOIN || m.kind == CM_LEAVE ||
	    m.kind == CM_RENAME)) {
		cluster_hold(cl, p, data, len);
		return;
	}
	cluster_apply(cl, p, &m);
}

/* ---- snapshots --------------------------------------------------------- */

struct snap_req {
	struct cluster	*cl;
	int		 all;
	unsigned	 epoch;
	char		 node[CHATD_WORD_MAX + 1];
};

/*
 * A peer's snapshot is in: apply the presence messages held since, those
 * after pseq, the node's last change the snapshot includes.
 */
static void
cluster_release(struct cluster *cl, struct peer *p, uint64_t pseq)
{
	struct held	*h;
	struct clmsg	 m;

	p->syncing = 0;
	while ((h = STAILQ_FIRST(&p->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&p->held, entry);
		if (clmsg_parse(h->data, h->len, &m) == NULL &&
		    m.inc == p->inc && m.seq > pseq)
			cluster_presence(cl, p, &m);
		free(h);
	}
	p->nheld = 0;
	if (p->resnap) {
		p->resnap = 0;
		cluster_snapshot(cl, p);
	}
}

/*
 * Make a peer's users exactly those of a snapshot, keeping the records
 * (and so the ids plugins know) of users still there; then apply the
 * presence messages held since, those after pseq.  Returns -1 if the
 * snapshot is malformed.
 */
static int
cluster_snap_peer(struct cluster *cl, struct peer *p, uint64_t pseq,
    struct cluster_words *w, uint64_t count)
{
	const redisReply	*uid, *rec;
	struct client		*c, *next;
	struct clrec		 r;
	struct idmap		 seen;
	const char		*why;
	uint64_t		 rid, i;

	idmap_init(&seen);
	for (i = 0; i < count; i++) {
		if ((uid = cluster_reply_next(w)) == NULL ||
		    (rec = cluster_reply_next(w)) == NULL ||
		    clmsg_parse_number(uid->str, uid->len, &rid) != 0 ||
		    rid == 0) {
			idmap_free(&seen);
			return (-1);
		}
		if ((why = clmsg_parse_record(rec->str, rec->len, &r)) != NULL) {
			log_warn("cluster: node %s, user %llu: %s; skipped",
			    p->id, (unsigned long long)rid, why);
			continue;
		}
		cluster_user_set(cl, p, rid, r.addr, r.addrlen, r.joined,
		    r.name, r.namelen);
		idmap_put(&seen, rid, p);
	}
	for (c = TAILQ_FIRST(&cl->srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->peer == p && idmap_get(&seen, c->rid) == NULL)
			cluster_user_free(cl, c);
	}
	idmap_free(&seen);
	cluster_release(cl, p, pseq);
	return (0);
}


/* A snapshot: per node, node, inc, pseq, count, then uid, rec pairs. */
static void
cluster_snapshot_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct snap_req		*req = arg;
	struct cluster		*cl = req->cl;
	struct cluster_words	 w;
	const redisReply	*node, *inc, *pseq, *count;
	struct peer		*p, *next;
	uint64_t		 iv, sv, n;
	const char		*bad = NULL;

	if (r == NULL) {
		free(req);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || (r->elements > 0 &&
	    cluster_reply_start(&w, r) == NULL))
		bad = "a snapshot that is not a list of words";
	w.r = r;
	w.i = 0;
	TAILQ_FOREACH(p, &cl->peers, entry)
		p->listed = 0;
	while (bad == NULL && w.i < r->elements) {
		if ((node = cluster_reply_next(&w)) == NULL ||
		    !clmsg_is_word(node->str, node->len) ||
		    (inc = cluster_reply_next(&w)) == NULL ||
		    clmsg_parse_inc(inc->str, inc->len, &iv) != 0 ||
		    (pseq = cluster_reply_next(&w)) == NULL ||
		    clmsg_parse_number(pseq->str, pseq->len, &sv) != 0 ||
		    (count = cluster_reply_next(&w)) == NULL ||
		    clmsg_parse_number(count->str, count->len, &n) != 0 ||
		    n > (r->elements - w.i) / 2) {
			bad = "a malformed snapshot";
			break;
		}
		if ((node->len == strlen(cl->node) &&
		    memcmp(node->str, cl->node, node->len) == 0) ||
		    (!req->all && strcmp(req->node, node->str) != 0)) {
			w.i += (size_t)n * 2;	/* ours, or not asked for */
			continue;
		}
		if ((p = cluster_peer_find(cl, node->str, node->len)) == NULL)
			p = cluster_peer_new(cl, node->str, node->len, iv);
		else if (p->inc != iv) {
			cluster_peer_clear(cl, p);
			cluster_peer_unhold(p);
			p->inc = iv;
			p->seq = 0;
		}
		p->listed = 1;
		if (cluster_snap_peer(cl, p, sv, &w, n) != 0)
			bad = "a malformed user in a snapshot";
	}
	if (bad != NULL) {
		free(req);
		redis_fail(cl->link, bad);
		return;
	}
	/*
	 * What was asked for and is not listed is gone: the one node, or,
	 * for a snapshot of all, every node known before it was asked for.
	 * A node first heard of since joined after: all it said applies.
	 */
	for (p = TAILQ_FIRST(&cl->peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->listed)
			continue;
		if (req->all ? p->born < req->epoch :
		    strcmp(p->id, req->node) == 0)
			cluster_peer_free(cl, p);
		else if (req->all)
			cluster_release(cl, p, 0);
	}
	if (req->all) {
		cl->joining--;
		cluster_maybe_up(cl);
	}
	free(req);
}

/* Read a node's users (or, with p NULL, every node's) back from Redis. */
void
cluster_snapshot(struct cluster *cl, struct peer *p)
{
	struct cluster_args	 a;
	struct snap_req		*req;

	if (p != NULL && p->syncing) {
		/* The one in flight may predate what made us ask. */
		p->resnap = 1;
		return;
	}
	req = xcalloc(1, sizeof *req);
	req->cl = cl;
	req->all = p == NULL;
	if (p == NULL)
		req->epoch = ++cl->snap_epoch;
	else {
		snprintf(req->node, sizeof req->node, "%s", p->id);
		p->syncing = 1;
	}
	cluster_args_start(&a, cl, 1);
	cluster_args_add(&a, req->all ? "" : req->node, strlen(req->all ? "" :
	    req->node));
	if (cluster_args_send(&a, cl, CS_SNAPSHOT, cluster_snapshot_cb,
	    req) != 0) {
		if (p != NULL)
			p->syncing = 0;
		free(req);
	}
}

/* ---- lost nodes --------------------------------------------------------- */

/*
 * A node this server removed from the room (a reaped node, or this node
 * id's previous process): count users follow in w as uid, record.  Each
 * of them leaves here with the reason "lost", so the room script tells
 * everyone once; then the records go, and the next heartbeat tells the
 * other servers to drop theirs.
 */
static void
cluster_lost(struct cluster *cl, const redisReply *node, uint64_t inc,
    struct cluster_words *w, uint64_t count)
{
	const redisReply	*uid, *rec;
	struct peer		*p, *owner;
	struct client		*c;
	struct clrec		 r;
	uint64_t		 rid, i;

	p = cluster_peer_find(cl, node->str, node->len);
	if (p != NULL && p->inc != inc)
		p = NULL;	/* we know a later process of that node */
	/* Users we had not heard of get records of a peer for the while,
	 * so that their handles say where they were. */
	owner = p;
	if (owner == NULL) {
		owner = xcalloc(1, sizeof *owner);
		memcpy(owner->id, node->str, node->len);
		owner->inc = inc;
		idmap_init(&owner->users);
	}
	log_info("cluster: node %s lost (no heartbeat within its "
	    "node_timeout): %llu users", owner->id, (unsigned long long)count);
	for (i = 0; i < count; i++) {
		if ((uid = cluster_reply_next(w)) == NULL ||
		    (rec = cluster_reply_next(w)) == NULL)
			break;
		if (clmsg_parse_number(uid->str, uid->len, &rid) != 0 ||
		    rid == 0 || clmsg_parse_record(rec->str, rec->len,
		    &r) != NULL)
			continue;
		if ((c = idmap_get(&owner->users, rid)) == NULL)
			c = cluster_user_new(cl, owner, rid, r.addr, r.addrlen,
			    r.joined, r.name, r.namelen);
		c->flags |= CLIENT_DEAD;	/* nothing more reaches it */
		plugin_leave(cl->srv->script, c, CHATD_LEAVE_LOST);
		cluster_user_free(cl, c);
	}
	if (inc != 0 && cl->lost.len + CHATD_WORD_MAX + 20 < CLMSG_TEXT_MAX)
		clmsg_add_lost(&cl->lost, owner->id, inc);
	if (p != NULL)
		cluster_peer_free(cl, p);
	else {
		cluster_peer_clear(cl, owner);
		idmap_free(&owner->users);
		free(owner);
	}
}

/* The lost nodes of a hello's or heartbeat's reply, after its 'ok'. */
int
cluster_lost_all(struct cluster *cl, struct cluster_words *w)
{
	const redisReply	*node, *inc, *count;
	uint64_t		 iv, n;

	while ((node = cluster_reply_next(w)) != NULL) {
		if (!clmsg_is_word(node->str, node->len) ||
		    (inc = cluster_reply_next(w)) == NULL ||
		    (count = cluster_reply_next(w)) == NULL ||
		    clmsg_parse_number(count->str, count->len, &n) != 0 ||
		    n > (w->r->elements - w->i) / 2)
			return (-1);
		if (clmsg_parse_inc(inc->str, inc->len, &iv) != 0)
			iv = 0;		/* no incarnation stored: skip the H */
		cluster_lost(cl, node, iv, w, n);
	}
	return (w->i == w->r->elements ? 0 : -1);
}
