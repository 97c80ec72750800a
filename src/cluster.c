/*
 * The cluster: one room shared by several servers through Redis, the room
 * backend of a server with a [cluster] section (doc/cluster.md).  This
 * file is the cluster as a whole: the link's events, joining the room,
 * heartbeats and the reaping they do, and the helpers the other two share.
 *
 * This server's users are announced by scripts (redis_scripts.c), which
 * change the room's keys and publish the change in one step; lines go out
 * with PUBLISH (cluster_room.c).  What the other servers publish arrives
 * in cluster_peer.c, is parsed by clmsg.c, and becomes records in the
 * registry (users without a socket, CLIENT_REMOTE) or lines delivered to
 * this server's users.
 *
 * While the link is down the server is a room of its own: the records of
 * the other servers are dropped, renames are refused, nothing is sent.
 * When the link comes back, the hello script registers this incarnation,
 * resync announces this server's users in one step, and a snapshot reads
 * everyone else's.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"

/* ---- small helpers ----------------------------------------------------- */

/* The cluster of a server. */
struct cluster *
cluster_of(struct server *srv)
{
	return (srv->cluster);
}

/* The next word of a flat reply, or NULL at the end or on a non-string. */
const redisReply *
cluster_reply_next(struct cluster_words *w)
{
	const redisReply	*e;

	if (w->r == NULL || w->i >= w->r->elements)
		return (NULL);
	e = w->r->element[w->i++];
	return (e->type == REDIS_REPLY_STRING ? e : NULL);
}

/* Whether a reply word is exactly s. */
int
cluster_word_is(const redisReply *e, const char *s)
{
	return (e != NULL && e->len == strlen(s) && memcmp(e->str, s,
	    e->len) == 0);
}

/* A reply that is a flat array of strings: its first word, or NULL. */
const redisReply *
cluster_reply_start(struct cluster_words *w, const redisReply *r)
{
	size_t	i;

	w->r = NULL;
	w->i = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return (NULL);
	for (i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return (NULL);
	}
	w->r = r;
	return (cluster_reply_next(w));
}


/* Start a script's arguments. */
void
cluster_args_start(struct cluster_args *a, struct cluster *cl, int extra)
{
	int	i;

	a->cap = 3 + 4 + 4 + extra;
	a->v = xcalloc((size_t)a->cap, sizeof *a->v);
	a->l = xcalloc((size_t)a->cap, sizeof *a->l);
	a->n = 3;
	a->nnums = 0;
	for (i = 0; i < 4; i++) {
		a->v[a->n] = cl->keys[i];
		a->l[a->n++] = strlen(cl->keys[i]);
	}
	a->v[a->n] = cl->prefix;
	a->l[a->n++] = strlen(cl->prefix);
	a->v[a->n] = cl->channel;
	a->l[a->n++] = strlen(cl->channel);
	a->v[a->n] = cl->node;
	a->l[a->n++] = strlen(cl->node);
	a->v[a->n] = cl->inc_hex;
	a->l[a->n++] = 16;
}

/* Append an argument (the bytes must live until the script is sent). */
void
cluster_args_add(struct cluster_args *a, const char *s, size_t len)
{
	if (a->n == a->cap)
		fatal("cluster: script arguments overflow");
	a->v[a->n] = s;
	a->l[a->n++] = len;
}

/* Append a number. */
void
cluster_args_number(struct cluster_args *a, uint64_t v)
{
	char	*buf;

	if (a->nnums == 8)
		fatal("cluster: script arguments overflow");
	buf = a->nums[a->nnums++];
	snprintf(buf, sizeof a->nums[0], "%llu", (unsigned long long)v);
	cluster_args_add(a, buf, strlen(buf));
}

/* Send the script and free the arguments.  Returns 0, or -1 if down. */
int
cluster_args_send(struct cluster_args *a, struct cluster *cl,
    enum cluster_script s, redis_reply_cb *cb, void *arg)
{
	int	rc;

	rc = redis_script(cl->link, s, cb, arg, 4, a->n - 3, a->v, a->l);
	free(a->v);
	free(a->l);
	return (rc);
}

/* A user's time of joining, in ms since the epoch. */
uint64_t
cluster_joined_ms(const struct client *c)
{
	return (c->joined > 0 ? (uint64_t)(c->joined * 1000.) : 0);
}

/* ---- sending ----------------------------------------------------------- */

/* Start a message of ours with the next sequence number. */
void
cluster_msg_start(struct cluster *cl, char kind)
{
	clmsg_start(&cl->msg, kind, cl->node, cl->inc, ++cl->seq);
}

/* PUBLISH the message built in cl->msg. */
void
cluster_publish(struct cluster *cl)
{
	const char	*argv[3];
	size_t		 argvlen[3];

	argv[0] = "PUBLISH";
	argvlen[0] = 7;
	argv[1] = cl->channel;
	argvlen[1] = strlen(cl->channel);
	argv[2] = cl->msg.data;
	argvlen[2] = cl->msg.len;
	redis_command(cl->link, NULL, NULL, 3, argv, argvlen);
}

/* Whether lines and presence may go out now. */
int
cluster_sending(const struct cluster *cl)
{
	return (!cl->handed && cl->registered && cl->link != NULL &&
	    redis_is_up(cl->link));
}

/* The reply to a presence script: 'gone' means we were reaped. */
int
cluster_check_mine(struct cluster *cl, const redisReply *first)
{
	if (cluster_word_is(first, "gone")) {
		redis_fail(cl->link, "this server was dropped from the room "
		    "(cut off for longer than node_timeout); joining again");
		return (-1);
	}
	return (0);
}

/* ---- heartbeats -------------------------------------------------------- */

/* Publish our heartbeat, with the nodes reaped since the last one. */
static void
cluster_send_heartbeat(struct cluster *cl)
{
	cluster_msg_start(cl, CM_HEARTBEAT);
	if (cl->lost.len > 0)
		clbuf_append(&cl->msg, cl->lost.data, cl->lost.len);
	cl->lost.len = 0;
	cluster_publish(cl);
}

static void	cluster_heartbeat_timer_cb(struct ev_loop *, ev_timer *, int);

/* The reply to a heartbeat: {'ok', lost nodes...} or {'gone'}. */
static void
cluster_heartbeat_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct cluster		*cl = arg;
	struct cluster_words	 w;
	const redisReply	*e;

	cl->hb_pending = 0;
	if ((e = cluster_reply_start(&w, r)) == NULL ||
	    cluster_check_mine(cl, e) != 0)
		return;
	if (!cluster_word_is(e, "ok") || cluster_lost_all(cl, &w) != 0) {
		redis_fail(cl->link, "an odd reply to the heartbeat");
		return;
	}
	cluster_send_heartbeat(cl);
	if (cl->hb_again) {	/* reloaded meanwhile: renew with the new */
		cl->hb_again = 0;
		cluster_heartbeat_timer_cb(cl->srv->loop, &cl->heartbeat, 0);
	}
}

/*
 * Every heartbeat seconds: our own last heartbeat must have come back
 * through the subscription, a node silent for twice node_timeout is
 * forgotten, and the heartbeat script runs.
 */
static void
cluster_heartbeat_timer_cb(struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct cluster		*cl = container_of(w, struct cluster,
				    heartbeat);
	struct cluster_args	 a;
	struct peer		*p, *next;
	ev_tstamp		 now = ev_now(loop);
	double			 timeout = (double)cl->srv->cfg.node_timeout;

	if (!cl->registered)
		return;
	if (now - cl->echo_at > timeout) {
		redis_fail(cl->link, "this server's heartbeat did not come "
		    "back through the subscription");
		return;
	}
	for (p = TAILQ_FIRST(&cl->peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (now - p->heard > 2. * timeout) {
			log_warn("cluster: nothing from node %s for %.0f s; "
			    "dropping its users", p->id, now - p->heard);
			cluster_peer_free(cl, p);
		}
	}
	if (cl->hb_pending)
		return;
	cluster_args_start(&a, cl, 1);
	cluster_args_number(&a, (uint64_t)cl->srv->cfg.node_timeout * 1000);
	if (cluster_args_send(&a, cl, CS_HEARTBEAT, cluster_heartbeat_cb,
	    cl) == 0) {
		cl->hb_pending = 1;
		cl->hb_sent = ev_time();
	}
}

/* ---- joining the room ---------------------------------------------------- */

/*
 * After an upgrade: the users handed over are read from here on.  Until
 * the new process is back in the room a line of theirs would reach this
 * server's users only, and `who` would miss the others'.
 */
static void
cluster_unhold(struct cluster *cl)
{
	if (!cl->holding)
		return;
	cl->holding = 0;
	ev_timer_stop(cl->srv->loop, &cl->hold_timer);
	upgrade_resume(cl->srv);
}

/* The room took too long to join again: serve the users anyway. */
static void
cluster_hold_timer_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct cluster	*cl = container_of(w, struct cluster, hold_timer);

	log_warn("cluster: not back in the room within %.1f s of the "
	    "upgrade; serving this server's users meanwhile", CLUSTER_AWAIT);
	cluster_unhold(cl);
}

/* Whether the users an upgrade handed over wait for the room. */
int
cluster_holding(const struct cluster *cl)
{
	return (cl->holding);
}

/* The end of joining the room: both the resync and the snapshot are in. */
void
cluster_maybe_up(struct cluster *cl)
{
	if (cl->state != CL_JOINING || cl->joining > 0)
		return;
	cl->state = CL_UP;
	metric_inc(METRIC_CLUSTER_JOINS);
	/* The plugins hear of every link that comes up: this server's users
	 * were a room of their own until now (since startup, or since the
	 * link went), and plugins with shared state ask the others.  Not
	 * after an upgrade from a process that was in the room: for its
	 * users the link never went. */
	if (!cl->quiet_up)
		plugin_link(cl->srv->script, 1);
	cl->quiet_up = 0;
	cluster_unhold(cl);
	log_info("cluster: in room %s as node %s: %zu other servers, %zu "
	    "users in all", cl->srv->cfg.cluster_room, cl->node,
	    cluster_servers(cl), cl->srv->reg.count);
}

/* The reply to a resync: {'ok', uid, name, ...} for names that changed. */
static void
cluster_resync_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct cluster		*cl = arg;
	struct cluster_words	 w;
	const redisReply	*e, *uid, *name;
	struct client		*c;
	uint64_t		 id;

	if ((e = cluster_reply_start(&w, r)) == NULL ||
	    cluster_check_mine(cl, e) != 0)
		return;
	if (!cluster_word_is(e, "ok")) {
		redis_fail(cl->link, "an odd reply to the resync");
		return;
	}
	while ((uid = cluster_reply_next(&w)) != NULL) {
		if ((name = cluster_reply_next(&w)) == NULL ||
		    clmsg_parse_number(uid->str, uid->len, &id) != 0) {
			redis_fail(cl->link, "an odd reply to the resync");
			return;
		}
		c = registry_find_id(&cl->srv->reg, id);
		if (c == NULL || (c->flags & CLIENT_REMOTE) ||
		    !client_is_online(c))
			continue;
		if (name->len == 0) {
			log_warn("cluster: no free name for client %llu; "
			    "closing it", (unsigned long long)id);
			client_close(c, CHATD_LEAVE_CLOSED);
		} else if (clmsg_name_ok(name->str, name->len))
			cluster_rename_quietly(cl, c, name->str, name->len);
	}
	cl->joining--;
	cluster_maybe_up(cl);
}

/* Announce every local user at once: the resync script. */
static void
cluster_resync(struct cluster *cl)
{
	struct server	*srv = cl->srv;
	struct client	*c;
	const char	**v;
	size_t		*l, n = 0, i;
	char		(*nums)[24], count[24];
	int		 argc;

	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (!(c->flags & CLIENT_REMOTE) && client_is_online(c))
			n++;
	}
	cluster_msg_start(cl, CM_RESET);
	v = xcalloc(3 + 11 + 6 * n, sizeof *v);
	l = xcalloc(3 + 11 + 6 * n, sizeof *l);
	nums = xcalloc(2 * n + 1, sizeof *nums);
	argc = 3;
	for (i = 0; i < 4; i++) {
		v[argc] = cl->keys[i];
		l[argc++] = strlen(cl->keys[i]);
	}
	v[argc] = cl->prefix;
	l[argc++] = strlen(cl->prefix);
	v[argc] = cl->channel;
	l[argc++] = strlen(cl->channel);
	v[argc] = cl->node;
	l[argc++] = strlen(cl->node);
	v[argc] = cl->inc_hex;
	l[argc++] = 16;
	snprintf(nums[2 * n], sizeof nums[0], "%llu",
	    (unsigned long long)cl->seq);
	v[argc] = nums[2 * n];
	l[argc++] = strlen(nums[2 * n]);
	v[argc] = cl->msg.data;
	l[argc++] = cl->msg.len;
	snprintf(count, sizeof count, "%zu", n);
	v[argc] = count;
	l[argc++] = strlen(count);
	i = 0;
	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if ((c->flags & CLIENT_REMOTE) || !client_is_online(c))
			continue;
		snprintf(nums[i], sizeof nums[0], "%llu",
		    (unsigned long long)c->id);
		snprintf(nums[i + 1], sizeof nums[0], "%llu",
		    (unsigned long long)cluster_joined_ms(c));
		v[argc] = nums[i];
		l[argc++] = strlen(nums[i]);
		v[argc] = nums[i + 1];
		l[argc++] = strlen(nums[i + 1]);
		v[argc] = c->addr;
		l[argc++] = strlen(c->addr);
		v[argc] = c->name;
		l[argc++] = strlen(c->name);
		v[argc] = c->namekey;
		l[argc++] = c->namekeylen;
		v[argc] = c->addr;
		l[argc++] = strlen(c->addr);
		i += 2;
	}
	if (redis_script(cl->link, CS_RESYNC, cluster_resync_cb, cl, 4,
	    argc - 3, v, l) == 0)
		cl->joining++;
	free(v);
	free(l);
	free(nums);
}

static void	cluster_hello(struct cluster *);

/* Too much kept: count it as dropped and stop keeping. */
static void
cluster_drop_kept(struct cluster *cl)
{
	cl->n_drops++;
	if (cl->kept_full++ == 0)
		log_warn("cluster: more than %u bytes of messages during the "
		    "upgrade; the rest are dropped", CLUSTER_KEEP_MAX);
	cl->drops++;
}

/*
 * Keep a message that came before this process joined as the incarnation
 * an upgrade handed it: the old process was still reading then, or had
 * just stopped.  Beyond CLUSTER_KEEP_MAX bytes the rest is dropped (and
 * counted as dropped): the gap shows in the sequence numbers, and the
 * others' users are read again.
 */
void
cluster_keep(struct cluster *cl, const char *data, size_t len)
{
	unsigned char	n[4];
	int		i;

	if (cl->kept.len + len + 4 > CLUSTER_KEEP_MAX) {
		cluster_drop_kept(cl);
		return;
	}
	for (i = 0; i < 4; i++)
		n[i] = (unsigned char)(len >> (8 * i));
	clbuf_append(&cl->kept, (const char *)n, 4);
	clbuf_append(&cl->kept, data, len);
}

/* Joined: what was kept applies now, in the order it came. */
static void
cluster_replay(struct cluster *cl)
{
	struct clbuf	 kept = cl->kept;
	size_t		 off, len, n = 0;
	int		 i;

	cl->keeping = 0;
	memset(&cl->kept, 0, sizeof cl->kept);
	for (off = 0; off + 4 <= kept.len; off += 4 + len) {
		for (len = 0, i = 0; i < 4; i++)
			len |= (size_t)(unsigned char)kept.data[off + i] <<
			    (8 * i);
		if (len > kept.len - off - 4)
			break;
		cluster_message(cl, kept.data + off + 4, len);
		n++;
	}
	if (n > 0)
		log_info("cluster: %zu messages that came during the upgrade "
		    "applied (those the old process had were dropped)", n);
	clbuf_free(&kept);
}

/* The reply to hello: {'busy', ms} or {'ok', lost predecessor...}. */
static void
cluster_hello_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	struct cluster		*cl = arg;
	struct cluster_words	 w;
	const redisReply	*e, *ms;
	double			 wait;

	if ((e = cluster_reply_start(&w, r)) == NULL)
		return;
	if (cluster_word_is(e, "busy")) {
		ms = cluster_reply_next(&w);
		wait = ms != NULL ? strtod(ms->str, NULL) / 1000. : 0.;
		if (!cl->busy_logged)
			log_warn("cluster: node id %s is in use (by a previous "
			    "run, or by another server with the same id); "
			    "serving this server's users only until its "
			    "heartbeat is older than node_timeout (%.1f s)",
			    cl->node, wait);
		cl->busy_logged = 1;
		cl->keeping = 0;	/* not the member handed over */
		clbuf_free(&cl->kept);
		ev_timer_set(&cl->hello_retry,
		    (ev_tstamp)cl->srv->cfg.heartbeat, 0.);
		ev_timer_start(cl->srv->loop, &cl->hello_retry);
		return;
	}
	if (!cluster_word_is(e, "ok")) {
		redis_fail(cl->link, "an odd reply to hello");
		return;
	}
	cl->busy_logged = 0;
	cl->registered = 1;
	/* Heartbeats from now on, however long the rest of joining takes:
	 * the others would take this server for lost without them. */
	cl->echo_at = ev_now(cl->srv->loop);
	ev_timer_stop(cl->srv->loop, &cl->heartbeat);
	ev_timer_set(&cl->heartbeat, (ev_tstamp)cl->srv->cfg.heartbeat,
	    (ev_tstamp)cl->srv->cfg.heartbeat);
	ev_timer_start(cl->srv->loop, &cl->heartbeat);
	if (cluster_lost_all(cl, &w) != 0) {
		redis_fail(cl->link, "an odd reply to hello");
		return;
	}
	cluster_resync(cl);
	cl->joining++;
	cluster_snapshot(cl, NULL);
	if (!redis_is_up(cl->link))
		return;
	if (cl->keeping)
		cluster_replay(cl);
	if (cl->lost.len > 0)
		cluster_send_heartbeat(cl);
}

/* Register this incarnation in the room. */
static void
cluster_hello(struct cluster *cl)
{
	struct cluster_args	a;

	cluster_args_start(&a, cl, 1);
	cluster_args_number(&a, (uint64_t)cl->srv->cfg.node_timeout * 1000);
	cluster_args_send(&a, cl, CS_HELLO, cluster_hello_cb, cl);
}

/* The node id was busy: try again. */
static void
cluster_hello_retry_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct cluster	*cl = container_of(w, struct cluster, hello_retry);

	if (cl->state == CL_JOINING && !cl->registered)
		cluster_hello(cl);
}

/* The link is up: join the room. */
static void
cluster_link_up(void *arg)
{
	struct cluster	*cl = arg;

	if (cl->adopting) {	/* subscribed: joins with the identity */
		cl->subscribed = 1;
		return;
	}
	cl->state = CL_JOINING;
	cl->registered = 0;
	cl->joining = 0;
	cl->hb_pending = 0;
	cl->lost.len = 0;
	cluster_hello(cl);
}

/*
 * The link is down: this server is a room of its own until it is back.
 * The other servers' users are forgotten without a word each.
 */
static void
cluster_link_down(void *arg, __unused const char *why)
{
	struct cluster	*cl = arg;
	int		 was_up = cl->state == CL_UP;

	/* What was kept for an upgrade has a gap now: joining again reads
	 * the others afresh, as after any loss of the link. */
	cl->subscribed = 0;
	cl->keeping = 0;
	clbuf_free(&cl->kept);
	cluster_unhold(cl);
	if (was_up)
		cl->n_downs++;
	cl->state = CL_DOWN;
	cl->registered = 0;
	cl->joining = 0;
	cl->hb_pending = 0;
	cl->hb_again = 0;
	ev_timer_stop(cl->srv->loop, &cl->heartbeat);
	ev_timer_stop(cl->srv->loop, &cl->hello_retry);
	cluster_peers_free(cl);
	if (was_up && !cl->stopping)
		plugin_link(cl->srv->script, 0);
}

static const struct redis_events cluster_events = {
	cluster_link_up,
	cluster_link_down,
	cluster_message
};

/* ---- the cluster as a whole ------------------------------------------ */

/* A random incarnation, never 0. */
static uint64_t
cluster_new_inc(void)
{
	uint64_t	v = 0;
	ssize_t		n = -1;
	int		fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, &v, sizeof v);
		close(fd);
	}
	if (n != (ssize_t)sizeof v)
		v = (uint64_t)getpid() << 32 ^ (uint64_t)ev_time() * 1000003;
	return (v != 0 ? v : 1);
}

/* The default node id: the host name (as a word) and the process id. */
static void
cluster_default_node(char *buf, size_t len)
{
	char	host[256], pid[24];
	size_t	i, max;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "chatd");
	host[sizeof host - 1] = '\0';
	snprintf(pid, sizeof pid, "-%ld", (long)getpid());
	max = len - 1 - strlen(pid);
	if (strlen(host) > max)
		host[max] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		if (!clmsg_is_word(host + i, 1))
			host[i] = '-';
	}
	if (host[0] == '\0')
		snprintf(host, sizeof host, "chatd");
	snprintf(buf, len, "%s%s", host, pid);
}

/*
 * Join the room of the [cluster] section: the link to Redis is opened (and
 * retried until it answers; chatd serves its own users meanwhile).
 * Returns 0, or -1 with the reason in err for a configuration chatd
 * cannot use.
 */
int
cluster_open(struct server *srv, char *err, size_t errlen)
{
	struct config	*cfg = &srv->cfg;
	struct cluster	*cl;
	struct redis_auth auth;
	static const char *const names[4] = { "nodes", "inc", "pseq", "names" };
	size_t		 len, i;

	cl = xcalloc(1, sizeof *cl);
	cl->srv = srv;
	if (cfg->cluster_node != NULL)
		snprintf(cl->node, sizeof cl->node, "%s", cfg->cluster_node);
	else
		cluster_default_node(cl->node, sizeof cl->node);
	cl->inc = cluster_new_inc();
	snprintf(cl->inc_hex, sizeof cl->inc_hex, "%016llx",
	    (unsigned long long)cl->inc);
	srandom((unsigned)cl->inc);
	len = strlen(cfg->cluster_room) + 16;
	cl->channel = xmalloc(len);
	snprintf(cl->channel, len, "chatd:{%s}", cfg->cluster_room);
	cl->prefix = xmalloc(len);
	snprintf(cl->prefix, len, "chatd:{%s}:", cfg->cluster_room);
	for (i = 0; i < 4; i++) {
		len = strlen(cl->prefix) + strlen(names[i]) + 1;
		cl->keys[i] = xmalloc(len);
		snprintf(cl->keys[i], len, "%s%s", cl->prefix, names[i]);
	}
	TAILQ_INIT(&cl->peers);
	/* Started by an upgrade: subscribe now, join once the identity of
	 * the old process is here (cluster_adopt(), cluster_begin()). */
	cl->adopting = upgrade_child();
	ev_init(&cl->heartbeat, cluster_heartbeat_timer_cb);
	ev_init(&cl->hold_timer, cluster_hold_timer_cb);
	ev_init(&cl->hello_retry, cluster_hello_retry_cb);
	srv->cluster = cl;
	srv->room = &cluster_ops;
	if (cl->adopting)
		log_info("cluster: room %s, Redis at %s; the node id comes "
		    "with the upgrade", cfg->cluster_room, cfg->cluster_redis);
	else
		log_info("cluster: room %s, node %s (incarnation %s), Redis "
		    "at %s", cfg->cluster_room, cl->node, cl->inc_hex,
		    cfg->cluster_redis);
	auth.username = cfg->cluster_username;
	auth.password = cfg->cluster_password;
	cl->link = redis_open(srv->loop, cfg->cluster_redis, &auth, cl->channel,
	    cluster_scripts, cluster_nscripts, (double)cfg->node_timeout,
	    &cluster_events, cl, err, errlen);
	if (cl->link == NULL) {
		srv->cluster = NULL;
		srv->room = &room_local;
		cluster_free(cl);
		return (-1);
	}
	return (0);
}

/* ---- upgrades ---------------------------------------------------------- */

/* The wait for the subscription is over (the loop returns). */
static void
cluster_await_cb(__unused struct ev_loop *loop, __unused ev_timer *w,
    __unused int revents)
{
}

/*
 * The old process of an upgrade: what the new one needs to be this
 * server in the room.  The node id (a default one names this process's
 * pid), the incarnation and the last sequence number sent make the new
 * process the same member of the room, holding the same names; each
 * peer's last message applied tells the new process which of the
 * messages it kept were delivered here.  k->peers is the caller's to
 * free.
 */
void
cluster_handover_state(const struct cluster *cl, struct ustate_cluster *k)
{
	const struct peer	*p;
	size_t			 n = 0;

	memset(k, 0, sizeof *k);
	k->present = 1;
	snprintf(k->node, sizeof k->node, "%s", cl->node);
	k->inc = cl->inc;
	k->seq = cl->seq;
	k->up = cl->state == CL_UP;
	TAILQ_FOREACH(p, &cl->peers, entry)
		n++;
	k->peers = xcalloc(n + 1, sizeof *k->peers);
	TAILQ_FOREACH(p, &cl->peers, entry) {
		snprintf(k->peers[k->npeers].id, sizeof k->peers[0].id, "%s",
		    p->id);
		k->peers[k->npeers].inc = p->inc;
		k->peers[k->npeers++].seq = p->seq;
	}
}

/*
 * The old process, before it writes the state: everything this server
 * sent (lines, presence, heartbeats) is answered by Redis, so that all of
 * it is published before the new process publishes its first message.
 * Returns 0, or -1 if Redis did not answer by deadline (ev_time()).
 */
int
cluster_drain(struct cluster *cl, double deadline)
{
	if (cl->link == NULL || !redis_is_up(cl->link))
		return (0);
	return (redis_drain(cl->link, deadline));
}

/*
 * Handed over: the new process is this member of the room now.  This one
 * says nothing more (no heartbeat, no bye: the others see no change) and
 * reads nothing; its link closes when it exits.
 */
void
cluster_handed(struct cluster *cl)
{
	cl->handed = 1;
	ev_timer_stop(cl->srv->loop, &cl->heartbeat);
	ev_timer_stop(cl->srv->loop, &cl->hello_retry);
}

/*
 * The new process, before it tells the old one it is ready: wait (at
 * most CLUSTER_AWAIT seconds, or half of upgrade_timeout) until the link
 * is subscribed, so that the old process is still reading the room when
 * this one starts to; what comes meanwhile is kept.  Should Redis not
 * answer in time the upgrade goes on, and what the others say before
 * this process subscribes is lost to its users (the log says so).
 */
void
cluster_await(struct cluster *cl)
{
	struct ev_loop	*loop = cl->srv->loop;
	ev_timer	 t;
	double		 wait = CLUSTER_AWAIT;

	if ((double)cl->srv->cfg.upgrade_timeout / 2. < wait)
		wait = (double)cl->srv->cfg.upgrade_timeout / 2.;
	ev_timer_init(&t, cluster_await_cb, wait, 0.);
	ev_timer_start(loop, &t);
	while (!cl->subscribed && ev_is_active(&t))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	if (!cl->subscribed)
		log_warn("cluster: not subscribed to the room within %.1f s; "
		    "lines the other servers send until it is are lost to "
		    "this server's users", wait);
}

/*
 * The identity the old process handed over (k->present), or none (it was
 * no member of a room, or an older chatd): from here on this process is
 * that member, with its node id, incarnation and sequence numbers, and
 * knows how far it heard each other node.
 */
void
cluster_adopt(struct cluster *cl, const struct ustate_cluster *k)
{
	size_t	i;

	if (!k->present)
		return;
	snprintf(cl->node, sizeof cl->node, "%s", k->node);
	cl->inc = k->inc;
	snprintf(cl->inc_hex, sizeof cl->inc_hex, "%016llx",
	    (unsigned long long)cl->inc);
	cl->seq = k->seq;
	cl->quiet_up = k->up;
	for (i = 0; i < k->npeers; i++)
		cluster_peer_known(cl, k->peers[i].id, k->peers[i].inc,
		    k->peers[i].seq);
	log_info("cluster: node %s (incarnation %s) goes on from message "
	    "%llu, %zu other servers known", cl->node, cl->inc_hex,
	    (unsigned long long)cl->seq, k->npeers);
}

/*
 * Adopted (or the upgrade carried no cluster): join the room.  What was
 * kept is applied once joined.
 */
void
cluster_begin(struct cluster *cl)
{
	if (!cl->adopting)
		return;
	cl->adopting = 0;
	if (!cl->subscribed)
		return;		/* link_up joins when it comes */
	cl->keeping = 1;
	cl->holding = 1;
	ev_timer_set(&cl->hold_timer, CLUSTER_AWAIT, 0.);
	ev_timer_start(cl->srv->loop, &cl->hold_timer);
	cluster_link_up(cl);
}

/*
 * The configuration was reloaded: heartbeat and node_timeout apply.  The
 * heartbeat runs at once, so that this server's lease in Redis is renewed
 * with the new node_timeout before the first longer wait for the next one
 * (a lease of the old node_timeout could run out in that wait).
 */
void
cluster_reload(struct cluster *cl)
{
	struct config	*cfg = &cl->srv->cfg;

	redis_set_timeout(cl->link, (double)cfg->node_timeout);
	if (ev_is_active(&cl->heartbeat)) {
		ev_timer_stop(cl->srv->loop, &cl->heartbeat);
		ev_timer_set(&cl->heartbeat, (ev_tstamp)cfg->heartbeat,
		    (ev_tstamp)cfg->heartbeat);
		ev_timer_start(cl->srv->loop, &cl->heartbeat);
		if (cl->hb_pending)	/* that one has the old node_timeout */
			cl->hb_again = 1;
		else
			cluster_heartbeat_timer_cb(cl->srv->loop,
			    &cl->heartbeat, 0);
	}
}

/* The server is stopping; its users leave, then the bye script runs. */
void
cluster_stop(struct cluster *cl)
{
	cl->stopping = 1;
}

/* The reply to bye. */
static void
cluster_bye_cb(__unused struct redis *link, __unused const struct redisReply *r,
    void *arg)
{
	struct cluster	*cl = arg;

	cl->bye_done = 1;
}

/*
 * Whether the cluster has said all it has to before the process exits:
 * called once every local user is gone, it sends the bye (after their
 * leaves, in order) and waits for its reply.
 */
int
cluster_stopped(struct cluster *cl)
{
	struct cluster_args	a;

	if (cl->handed || !cluster_sending(cl) || cl->bye_done)
		return (1);
	if (!cl->bye_sent) {
		cluster_msg_start(cl, CM_BYE);
		cluster_args_start(&a, cl, 1);
		cluster_args_add(&a, cl->msg.data, cl->msg.len);
		if (cluster_args_send(&a, cl, CS_BYE, cluster_bye_cb, cl) != 0)
			return (1);
		cl->bye_sent = 1;
	}
	return (0);
}

/* Close the link and forget every remote user. */
void
cluster_free(struct cluster *cl)
{
	size_t	i;

	ev_timer_stop(cl->srv->loop, &cl->heartbeat);
	ev_timer_stop(cl->srv->loop, &cl->hello_retry);
	ev_timer_stop(cl->srv->loop, &cl->hold_timer);
	if (cl->link != NULL)
		redis_close(cl->link);	/* its callbacks still see cl */
	cl->link = NULL;
	cl->state = CL_DOWN;
	cl->registered = 0;
	cluster_peers_free(cl);
	clbuf_free(&cl->msg);
	clbuf_free(&cl->lost);
	clbuf_free(&cl->kept);
	for (i = 0; i < 4; i++)
		free(cl->keys[i]);
	free(cl->prefix);
	free(cl->channel);
	free(cl);
}

/* Whether this server is in the room with the others now. */
int
cluster_is_up(const struct cluster *cl)
{
	return (cl->state == CL_UP);
}

/* The round trip of the last heartbeat that came back, in seconds. */
double
cluster_heartbeat_rtt(const struct cluster *cl)
{
	return (cl->hb_rtt);
}

/* This server's node id. */
const char *
cluster_node(const struct cluster *cl)
{
	return (cl->node);
}

/*
 * The node id of a user's server: this server's for a local user, nil
 * (NULL) without a cluster or for a user whose server is gone.
 */
const char *
cluster_node_of(const struct server *srv, const struct client *c)
{
	if (srv->cluster == NULL)
		return (NULL);
	if (!(c->flags & CLIENT_REMOTE))
		return (srv->cluster->node);
	return (c->peer != NULL ? c->peer->id : NULL);
}

/* How many other servers this one knows in the room. */
size_t
cluster_servers(const struct cluster *cl)
{
	const struct peer	*p;
	size_t			 n = 0;

	TAILQ_FOREACH(p, &cl->peers, entry)
		n++;
	return (n);
}

/* What the metrics count of the cluster: link downs, drops, gaps. */
void
cluster_counts(const struct cluster *cl, unsigned long long *downs,
    unsigned long long *drops, unsigned long long *gaps)
{
	*downs = cl->n_downs;
	*drops = cl->n_drops;
	*gaps = cl->n_gaps;
}
