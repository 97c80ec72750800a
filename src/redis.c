/*
 * The link to Redis: two hiredis async connections on chatd's own loop,
 * through hiredis's libev adapter.  It knows nothing of chat: it connects,
 * loads a set of Lua scripts, subscribes to one channel, runs commands with
 * deadlines, and builds both connections again when anything goes wrong.
 *
 * With a password, each connection first sends AUTH (with the ACL user's
 * name if one is set) and goes on only once Redis has said OK: a refused
 * AUTH fails the link with Redis's own words, and it retries as after any
 * failure, so that a password put right in Redis is picked up.
 *
 * Why two connections: a subscribed connection takes no other command
 * (and hiredis swallows a PING sent on one), so the subscriber only
 * subscribes, and every command, PUBLISH included, goes on the other, in
 * order.  Liveness is the command connection's: each command there has a
 * deadline, kept by one ev_timer for the oldest outstanding command,
 * since the adapter has no timers at all.
 *
 * What hiredis 0.14.1 needs of its user, and gets here:
 * - a new redisAsyncContext for every connection: hiredis frees the old
 *   one on any disconnect, so the pointer is dropped in the callbacks;
 * - the connect and disconnect callbacks set after attaching to the loop
 *   (setting the connect callback starts the watcher that sees the
 *   connect complete, which needs the adapter in place);
 * - numeric addresses only: hiredis calls getaddrinfo(), which blocks on
 *   a name, inside its "non-blocking" connect;
 * - its assert()s never reached: Debian's build keeps them, and a reply
 *   of an unexpected shape (an odd array on a subscribed connection, a
 *   reply nobody asked for) ends the process.  The reply builders below
 *   check every item while hiredis parses it and refuse what chatd does
 *   not expect, which hiredis treats as a protocol error: it closes the
 *   connection, and chatd reconnects.
 */

#include "config.h"

#include <sys/queue.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "chatd.h"

#define REDIS_BACKOFF_MIN	0.1	/* seconds before the first retry */
#define REDIS_BACKOFF_MAX	2.0	/* seconds between retries at most */
#define REDIS_STABLE		10.0	/* seconds up before backing off anew */
#define REDIS_IO_MAX		(32 << 20)	/* bytes unparsed or unsent */
#define REDIS_ARRAY_MAX		(1 << 22)	/* items in one reply */

enum redis_state {
	RS_DOWN,		/* waiting for the retry timer */
	RS_CONNECTING,		/* connecting, loading scripts, subscribing */
	RS_UP
};

struct redis;

struct redis_cmd {
	TAILQ_ENTRY(redis_cmd) entry;
	struct redis_conn *conn;
	redis_reply_cb	*cb;
	void		*arg;
	ev_tstamp	 deadline;
};
TAILQ_HEAD(redis_cmd_list, redis_cmd);

/* What the subscriber's reply builders know of the reply being parsed. */
enum redis_sub_kind {
	SK_NONE,
	SK_MESSAGE,		/* message, channel, payload */
	SK_SUBSCRIBE		/* subscribe, channel, count */
};

struct redis_conn {
	struct redis	*link;
	redisAsyncContext *ac;		/* NULL: not connected */
	int		 sub;		/* the subscriber */
	int		 connected;
	struct redis_cmd_list pending;	/* oldest first */
	size_t		 npending;
	ev_timer	 deadline;	/* the oldest pending command's */
	enum redis_sub_kind kind;	/* of the subscriber's current reply */
	char		 refused[160];	/* why a reply was refused */
};

struct redis {
	struct ev_loop	*loop;
	char		*addr;		/* as configured, for the log */
	char		 host[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int		 port;		/* -1: a UNIX socket */
	char		*channel;
	size_t		 channel_len;
	char		*username;	/* NULL: the default user */
	char		*password;	/* NULL: no AUTH */
	const char *const *scripts;
	size_t		 nscripts;
	char		(*sha)[41];	/* each script's, as Redis gave it */
	size_t		 nsha;		/* loaded on this connection */
	double		 timeout;	/* seconds a command may take */

	const struct redis_events *ev;
	void		*arg;

	enum redis_state state;
	int		 subscribed;
	int		 ever_up;
	int		 warned;	/* the current outage was logged */
	ev_tstamp	 up_since;
	double		 backoff;
	ev_timer	 retry;
	ev_timer	 later;		/* a failure found in a connect callback */
	char		 later_why[96];
	ev_check	 check;		/* the input and output bounds */
	struct redis_conn cmd;
	struct redis_conn subc;
};

static void	redis_connect(struct redis *);
static void	redis_reply_cb_tramp(redisAsyncContext *, void *, void *);

/*
 * Parse a Redis address: "IPv4:PORT", "[IPv6]:PORT" or "unix:/path".  With
 * host non-NULL (sizeof sun_path bytes), store the address and the port
 * (-1 for a UNIX socket).  Returns 0, or -1 with the reason in err.
 */
int
redis_parse_addr(const char *s, char *host, int *port, char *err,
    size_t errlen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *ip;
	char		 buf[INET6_ADDRSTRLEN + 1], *end;
	size_t		 iplen;
	long		 p;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "invalid value '%s' for redis: "
			    "expected unix: and an absolute path of at most "
			    "%zu bytes", s,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return (-1);
		}
		if (host != NULL) {
			snprintf(host, sizeof(((struct sockaddr_un *)0)->sun_path),
			    "%s", s + 5);
			*port = -1;
		}
		return (0);
	}
	if (*s == '[') {
		ip = s + 1;
		if ((end = strchr(ip, ']')) == NULL || end[1] != ':')
			goto bad;
		iplen = (size_t)(end - ip);
		colon = end + 1;
	} else {
		ip = s;
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		iplen = (size_t)(colon - s);
	}
	if (iplen == 0 || iplen >= sizeof buf)
		goto bad;
	memcpy(buf, ip, iplen);
	buf[iplen] = '\0';
	if (*s == '[' ? inet_pton(AF_INET6, buf, &a6) != 1 :
	    inet_pton(AF_INET, buf, &a4) != 1)
		goto bad;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    p < 1 || p > 65535)
		goto bad;
	if (host != NULL) {
		snprintf(host, sizeof(((struct sockaddr_un *)0)->sun_path), "%s",
		    buf);
		*port = (int)p;
	}
	return (0);
bad:
	snprintf(err, errlen, "invalid value '%s' for redis: expected "
	    "IPv4:PORT, [IPv6]:PORT or unix:/path (host names are not looked "
	    "up)", s);
	return (-1);
}

/* ---- reply builders -------------------------------------------------- */

/*
 * The connection a reply is being read for: the reader's privdata, which
 * hiredis copies into every task.
 */
static struct redis_conn *
redis_task_conn(const redisReadTask *task)
{
	return (task->privdata);
}

/* Refuse the reply being read: hiredis will close the connection. */
static void *
redis_refuse(const redisReadTask *task, const char *why)
{
	struct redis_conn	*conn = redis_task_conn(task);

	if (conn->refused[0] == '\0')
		snprintf(conn->refused, sizeof conn->refused, "%s", why);
	return (NULL);
}

/*
 * Whether an item may start here.  At the top, on the command connection
 * a command must be waiting for it (hiredis asserts that one is); on the
 * subscriber only an array may start a reply.  Inside an array, nothing
 * nests, and the subscriber's arrays have a fixed shape.
 */
static const char *
redis_item_check(const redisReadTask *task, int type)
{
	struct redis_conn	*conn = redis_task_conn(task);

	if (task->parent == NULL) {
		/* The subscriber's one command is its AUTH. */
		if (!conn->sub || conn->npending > 0)
			return (conn->npending > 0 ? NULL :
			    "a reply no command asked for");
		conn->kind = SK_NONE;
		return (type == REDIS_REPLY_ARRAY ? NULL :
		    "a reply that is no pub/sub message");
	}
	if (type == REDIS_REPLY_ARRAY)
		return ("a nested array");
	if (!conn->sub)
		return (NULL);
	switch (task->idx) {
	case 0:
	case 1:
		return (type == REDIS_REPLY_STRING ? NULL :
		    "a pub/sub item that is no string");
	default:
		if (conn->kind == SK_MESSAGE && type == REDIS_REPLY_STRING)
			return (NULL);
		if (conn->kind == SK_SUBSCRIBE && type == REDIS_REPLY_INTEGER)
			return (NULL);
		return ("a pub/sub item of the wrong type");
	}
}

/* Link a new item into its array, as hiredis's own builders do. */
static void *
redis_item_link(const redisReadTask *task, redisReply *r)
{
	redisReply	*parent;

	if (task->parent != NULL) {
		parent = task->parent->obj;
		parent->element[task->idx] = r;
	}
	return (r);
}

/* A status, error or bulk string. */
static void *
redis_build_string(const redisReadTask *task, char *str, size_t len)
{
	struct redis_conn	*conn = redis_task_conn(task);
	const char		*why;
	redisReply		*r;

	if (conn->sub && task->parent == NULL &&
	    task->type == REDIS_REPLY_ERROR) {
		snprintf(conn->refused, sizeof conn->refused, "Redis said "
		    "'%.*s'", (int)(len > 100 ? 100 : len), str);
		return (NULL);
	}
	if ((why = redis_item_check(task, task->type)) != NULL)
		return (redis_refuse(task, why));
	if (conn->sub && task->parent != NULL && task->idx == 0) {
		if (len == 7 && memcmp(str, "message", 7) == 0)
			conn->kind = SK_MESSAGE;
		else if (len == 9 && memcmp(str, "subscribe", 9) == 0)
			conn->kind = SK_SUBSCRIBE;
		else
			return (redis_refuse(task, "a pub/sub reply that is "
			    "neither message nor subscribe"));
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		return (NULL);
	if ((r->str = malloc(len + 1)) == NULL) {
		free(r);
		return (NULL);
	}
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	r->type = task->type;
	return (redis_item_link(task, r));
}

/* An array of n items. */
static void *
redis_build_array(const redisReadTask *task, int n)
{
	struct redis_conn	*conn = redis_task_conn(task);
	const char		*why;
	redisReply		*r;

	if ((why = redis_item_check(task, REDIS_REPLY_ARRAY)) != NULL)
		return (redis_refuse(task, why));
	if (conn->sub && n != 3)
		return (redis_refuse(task, "a pub/sub array that does not "
		    "have three items"));
	if (n > REDIS_ARRAY_MAX)
		return (redis_refuse(task, "an array of too many items"));
	if ((r = calloc(1, sizeof *r)) == NULL)
		return (NULL);
	if (n > 0 && (r->element = calloc((size_t)n, sizeof *r->element)) ==
	    NULL) {
		free(r);
		return (NULL);
	}
	r->elements = (size_t)n;
	r->type = REDIS_REPLY_ARRAY;
	return (redis_item_link(task, r));
}

/* An integer. */
static void *
redis_build_integer(const redisReadTask *task, long long v)
{
	const char	*why;
	redisReply	*r;

	if ((why = redis_item_check(task, REDIS_REPLY_INTEGER)) != NULL)
		return (redis_refuse(task, why));
	if ((r = calloc(1, sizeof *r)) == NULL)
		return (NULL);
	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return (redis_item_link(task, r));
}

/* A nil, which chatd's scripts and the subscriber never give. */
static void *
redis_build_nil(const redisReadTask *task)
{
	struct redis_conn	*conn = redis_task_conn(task);
	const char		*why;
	redisReply		*r;

	if (conn->sub)
		return (redis_refuse(task, "a nil in a pub/sub reply"));
	if ((why = redis_item_check(task, REDIS_REPLY_NIL)) != NULL)
		return (redis_refuse(task, why));
	if ((r = calloc(1, sizeof *r)) == NULL)
		return (NULL);
	r->type = REDIS_REPLY_NIL;
	return (redis_item_link(task, r));
}

/* The builders make what freeReplyObject() frees, as hiredis's do. */
static redisReplyObjectFunctions redis_builders = {
	redis_build_string,
	redis_build_array,
	redis_build_integer,
	redis_build_nil,
	freeReplyObject
};

/* ---- failure and retry ----------------------------------------------- */

/* Stop a connection's deadline timer, or set it for the oldest command. */
static void
redis_arm_deadline(struct redis_conn *conn)
{
	struct redis		*link = conn->link;
	struct redis_cmd	*cmd = TAILQ_FIRST(&conn->pending);
	ev_tstamp		 after;

	ev_timer_stop(link->loop, &conn->deadline);
	if (cmd == NULL)
		return;
	after = cmd->deadline - ev_now(link->loop);
	ev_timer_set(&conn->deadline, after > 0. ? after : 0., 0.);
	ev_timer_start(link->loop, &conn->deadline);
}

/*
 * Drop a connection's context; hiredis answers its commands with NULL
 * (at once, or when the callback we are in returns).  Never called from a
 * connect callback: hiredis goes on using the context after that returns.
 */
static void
redis_conn_drop(struct redis_conn *conn)
{
	redisAsyncContext	*ac = conn->ac;

	conn->ac = NULL;
	conn->connected = 0;
	ev_timer_stop(conn->link->loop, &conn->deadline);
	if (ac != NULL)
		redisAsyncFree(ac);	/* deferred if inside its callback */
}

/* The retry delay: doubling, capped, with some jitter. */
static double
redis_next_backoff(struct redis *link)
{
	double	cap = link->timeout / 2. < REDIS_BACKOFF_MAX ?
		    link->timeout / 2. : REDIS_BACKOFF_MAX;
	double	d;

	if (link->state == RS_UP &&
	    ev_now(link->loop) - link->up_since >= REDIS_STABLE)
		link->backoff = 0.;
	link->backoff = link->backoff == 0. ? REDIS_BACKOFF_MIN :
	    link->backoff * 2.;
	if (link->backoff > cap)
		link->backoff = cap;
	if (link->backoff < REDIS_BACKOFF_MIN)
		link->backoff = REDIS_BACKOFF_MIN;
	d = link->backoff * (0.8 + 0.4 * ((double)random() / RAND_MAX));
	return (d);
}

/*
 * The link is unusable: close both connections (their commands are
 * answered with NULL), tell the user of the link if it was up, and try
 * again after the back-off.
 */
void
redis_fail(struct redis *link, const char *why)
{
	int	was_up = link->state == RS_UP;
	double	delay;

	if (link->state == RS_DOWN)
		return;
	delay = redis_next_backoff(link);
	link->state = RS_DOWN;
	link->subscribed = 0;
	ev_check_stop(link->loop, &link->check);
	ev_timer_stop(link->loop, &link->later);
	redis_conn_drop(&link->cmd);
	redis_conn_drop(&link->subc);
	if (was_up || !link->warned)
		log_warn("cluster: Redis at %s: %s; retrying in %.1f s%s",
		    link->addr, why, delay, link->ever_up ? "" :
		    " (serving this server's users only meanwhile)");
	else
		log_debug("cluster: Redis at %s: %s; retrying in %.1f s",
		    link->addr, why, delay);
	link->warned = 1;
	ev_timer_set(&link->retry, delay, 0.);
	ev_timer_start(link->loop, &link->retry);
	if (was_up)
		link->ev->down(link->arg, why);
}

/* Time to try again. */
static void
redis_retry_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct redis	*link = container_of(w, struct redis, retry);

	metric_inc(METRIC_REDIS_RECONNECTS);
	redis_connect(link);
}

/* The oldest command of a connection is past its deadline. */
static void
redis_deadline_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct redis_conn	*conn = container_of(w, struct redis_conn,
				    deadline);
	char			 why[96];

	snprintf(why, sizeof why, "no answer within %.0f s on the %s "
	    "connection", conn->link->timeout, conn->sub ? "subscriber" :
	    "command");
	redis_fail(conn->link, why);
}

/* A failure found where the context could not be freed: now it can. */
static void
redis_later_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct redis	*link = container_of(w, struct redis, later);

	redis_fail(link, link->later_why);
}

/* Fail the link as soon as the callback we are in has returned. */
static void
redis_fail_later(struct redis *link, const char *why)
{
	snprintf(link->later_why, sizeof link->later_why, "%s", why);
	ev_timer_set(&link->later, 0., 0.);
	ev_timer_start(link->loop, &link->later);
}

/*
 * After every turn of the loop: neither connection may hold more than
 * REDIS_IO_MAX bytes not yet parsed (a reply that never ends) or not yet
 * written (a Redis that stopped reading).
 */
static void
redis_check_cb(__unused struct ev_loop *loop, ev_check *w,
    __unused int revents)
{
	struct redis		*link = container_of(w, struct redis, check);
	struct redis_conn	*conns[2] = { &link->cmd, &link->subc };
	redisContext		*c;
	int			 i;

	for (i = 0; i < 2; i++) {
		if (conns[i]->ac == NULL)
			continue;
		c = &conns[i]->ac->c;
		if (c->reader->len - c->reader->pos > REDIS_IO_MAX) {
			redis_fail(link, "a reply of more than 32 MiB");
			return;
		}
		if (sdslen(c->obuf) > REDIS_IO_MAX) {
			redis_fail(link, "more than 32 MiB waiting to be sent");
			return;
		}
	}
}

/* ---- connections ----------------------------------------------------- */

/* Both connections are ready and the scripts loaded: the link is up. */
static void
redis_maybe_up(struct redis *link)
{
	if (link->state != RS_CONNECTING || !link->subscribed ||
	    link->nsha < link->nscripts)
		return;
	link->state = RS_UP;
	link->up_since = ev_now(link->loop);
	if (link->warned || !link->ever_up)
		log_info("cluster: connected to Redis at %s", link->addr);
	link->warned = 0;
	link->ever_up = 1;
	link->ev->up(link->arg);
}

/* The reply to a SCRIPT LOAD: the script's SHA1, in hex. */
static void
redis_loaded_cb(struct redis *link, const struct redisReply *r,
    __unused void *arg)
{
	if (r == NULL)
		return;
	if (r->type != REDIS_REPLY_STRING || r->len != 40 ||
	    strspn(r->str, "0123456789abcdef") != 40 ||
	    link->nsha >= link->nscripts) {
		redis_fail(link, "an odd reply to SCRIPT LOAD");
		return;
	}
	memcpy(link->sha[link->nsha++], r->str, 41);
	redis_maybe_up(link);
}

/*
 * Queue a command on a connection; cb (if any) gets the reply, or NULL if
 * the link fails first.  Returns 0, or -1 if the command was not sent.
 */
static int
redis_send(struct redis_conn *conn, redis_reply_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	struct redis		*link = conn->link;
	struct redis_cmd	*cmd;

	if (conn->ac == NULL || !conn->connected)
		return (-1);
	cmd = xcalloc(1, sizeof *cmd);
	cmd->conn = conn;
	cmd->cb = cb;
	cmd->arg = arg;
	cmd->deadline = ev_now(link->loop) + link->timeout;
	TAILQ_INSERT_TAIL(&conn->pending, cmd, entry);
	conn->npending++;
	if (redisAsyncCommandArgv(conn->ac, redis_reply_cb_tramp, cmd, argc,
	    argv, argvlen) != REDIS_OK) {
		TAILQ_REMOVE(&conn->pending, cmd, entry);
		conn->npending--;
		free(cmd);
		return (-1);
	}
	if (conn->npending == 1)
		redis_arm_deadline(conn);
	return (0);
}

/*
 * A reply (or NULL: the context is going away) to one of our commands.
 * Commands are answered in order, so it is the oldest one's.  An error
 * reply is never what chatd asked for: the link fails.
 */
static void
redis_reply_cb_tramp(__unused redisAsyncContext *ac, void *reply,
    void *privdata)
{
	struct redis_cmd	*cmd = privdata;
	struct redis_conn	*conn = cmd->conn;
	struct redis		*link = conn->link;
	redisReply		*r = reply;
	char			 why[160];

	TAILQ_REMOVE(&conn->pending, cmd, entry);
	conn->npending--;
	if (conn->ac != NULL)
		redis_arm_deadline(conn);
	if (r != NULL && (conn->ac == NULL || link->state == RS_DOWN))
		r = NULL;
	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof why, "Redis said '%.100s'", r->str);
		r = NULL;
		redis_fail(link, why);
	}
	if (cmd->cb != NULL)
		cmd->cb(link, r, cmd->arg);
	free(cmd);
}

/* A message, or the confirmation of our SUBSCRIBE, on the subscriber. */
static void
redis_message_cb(__unused redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_conn	*conn = privdata;
	struct redis		*link = conn->link;
	redisReply		*r = reply;

	if (r == NULL || conn->ac == NULL || link->state == RS_DOWN)
		return;
	/* The builders let only three-item arrays of these types through;
	 * check again what a stale callback could be handed. */
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[1]->len != link->channel_len ||
	    memcmp(r->element[1]->str, link->channel, link->channel_len) != 0) {
		redis_fail(link, "a pub/sub reply for another channel");
		return;
	}
	if (r->element[2]->type == REDIS_REPLY_INTEGER) {
		if (!link->subscribed) {
			link->subscribed = 1;
			ev_timer_stop(link->loop, &conn->deadline);
			redis_maybe_up(link);
		}
		return;
	}
	if (link->state == RS_UP)
		link->ev->message(link->arg, r->element[2]->str,
		    r->element[2]->len);
}

/*
 * A connection is up (and past its AUTH): the subscriber subscribes, the
 * command connection loads the scripts.
 */
static void
redis_conn_ready(struct redis_conn *conn)
{
	struct redis		*link = conn->link;
	const char		*argv[3];
	size_t			 argvlen[3], i;

	if (conn->sub) {
		/* The subscription is answered by redis_message_cb, not by a
		 * command callback: its deadline is kept by hand. */
		argv[0] = "SUBSCRIBE";
		argvlen[0] = 9;
		argv[1] = link->channel;
		argvlen[1] = link->channel_len;
		if (redisAsyncCommandArgv(conn->ac, redis_message_cb, conn, 2,
		    argv, argvlen) != REDIS_OK) {
			redis_fail_later(link, "cannot subscribe");
			return;
		}
		ev_timer_set(&conn->deadline, link->timeout, 0.);
		ev_timer_start(link->loop, &conn->deadline);
		return;
	}
	argv[0] = "SCRIPT";
	argvlen[0] = 6;
	argv[1] = "LOAD";
	argvlen[1] = 4;
	for (i = 0; i < link->nscripts; i++) {
		argv[2] = link->scripts[i];
		argvlen[2] = strlen(link->scripts[i]);
		if (redis_send(conn, redis_loaded_cb, NULL, 3, argv,
		    argvlen) != 0) {
			redis_fail_later(link, "cannot send SCRIPT LOAD");
			return;
		}
	}
}

/*
 * The reply to AUTH.  A refusal ("WRONGPASS", "NOAUTH" ...) has failed
 * the link already, in Redis's words; NULL is a link going away.
 */
static void
redis_authed_cb(__unused struct redis *link, const struct redisReply *r,
    void *arg)
{
	if (r != NULL)
		redis_conn_ready(arg);
}

/* A connection has come up (or failed to). */
static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn	*conn = ac->data;
	struct redis		*link = conn->link;
	const char		*argv[3];
	size_t			 argvlen[3];
	int			 argc = 0;
	char			 why[192];

	if (conn->ac != ac)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees this context when we return. */
		conn->ac = NULL;
		snprintf(why, sizeof why, "cannot connect: %s", ac->errstr);
		redis_fail(link, why);
		return;
	}
	conn->connected = 1;
	if (link->password == NULL) {
		redis_conn_ready(conn);
		return;
	}
	argv[argc] = "AUTH";
	argvlen[argc++] = 4;
	if (link->username != NULL) {
		argv[argc] = link->username;
		argvlen[argc++] = strlen(link->username);
	}
	argv[argc] = link->password;
	argvlen[argc++] = strlen(link->password);
	if (redis_send(conn, redis_authed_cb, conn, argc, argv, argvlen) != 0)
		redis_fail_later(link, "cannot send AUTH");
}

/* A connection was closed (by Redis, or on an error hiredis found). */
static void
redis_disconnect_cb(const redisAsyncContext *ac, __unused int status)
{
	struct redis_conn	*conn = ac->data;
	char			 why[256];

	if (conn->ac != ac)
		return;		/* we dropped it ourselves */
	conn->ac = NULL;	/* hiredis frees it when we return */
	conn->connected = 0;
	if (conn->refused[0] != '\0')
		snprintf(why, sizeof why, "refused a reply on the %s "
		    "connection: %s", conn->sub ? "subscriber" : "command",
		    conn->refused);
	else
		snprintf(why, sizeof why, "the %s connection closed: %s",
		    conn->sub ? "subscriber" : "command",
		    ac->errstr[0] != '\0' ? ac->errstr : "by Redis");
	redis_fail(conn->link, why);
}

/* Start one connection: a new context, our reply builders, the loop. */
static int
redis_conn_start(struct redis_conn *conn)
{
	struct redis		*link = conn->link;
	redisAsyncContext	*ac;
	char			 why[192];

	conn->refused[0] = '\0';
	conn->connected = 0;
	if (link->port == -1)
		ac = redisAsyncConnectUnix(link->host);
	else
		ac = redisAsyncConnect(link->host, link->port);
	if (ac == NULL) {
		redis_fail(link, "out of memory for a connection");
		return (-1);
	}
	if (ac->err) {
		snprintf(why, sizeof why, "cannot connect: %s", ac->errstr);
		redisAsyncFree(ac);
		redis_fail(link, why);
		return (-1);
	}
	ac->c.reader->fn = &redis_builders;
	ac->c.reader->privdata = conn;
	ac->data = conn;
	conn->ac = ac;
	if (redisLibevAttach(link->loop, ac) != REDIS_OK) {
		conn->ac = NULL;
		redisAsyncFree(ac);
		redis_fail(link, "cannot attach to the loop");
		return (-1);
	}
	/* After attaching: setting it starts the adapter's write watcher. */
	redisAsyncSetConnectCallback(ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb);
	return (0);
}

/* Open both connections. */
static void
redis_connect(struct redis *link)
{
	link->state = RS_CONNECTING;
	link->subscribed = 0;
	link->nsha = 0;
	ev_check_start(link->loop, &link->check);
	if (redis_conn_start(&link->cmd) != 0)
		return;
	redis_conn_start(&link->subc);
}

/* ---- the interface ----------------------------------------------------- */

/*
 * A link to the Redis at addr (checked by redis_parse_addr), logged in
 * with auth (NULL or no password: no AUTH), subscribed to
 * channel, with these scripts loaded on every connection; commands time
 * out after timeout seconds.  ev's functions are called with arg.  The
 * first connection is attempted at once.  Returns NULL with the reason in
 * err if addr is not one chatd accepts.
 */
struct redis *
redis_open(struct ev_loop *loop, const char *addr,
    const struct redis_auth *auth, const char *channel,
    const char *const *scripts, size_t nscripts, double timeout,
    const struct redis_events *ev, void *arg, char *err, size_t errlen)
{
	struct redis	*link;

	link = xcalloc(1, sizeof *link);
	if (redis_parse_addr(addr, link->host, &link->port, err,
	    errlen) != 0) {
		free(link);
		return (NULL);
	}
	link->loop = loop;
	link->addr = xstrdup(addr);
	link->channel = xstrdup(channel);
	link->channel_len = strlen(channel);
	if (auth != NULL && auth->password != NULL) {
		link->password = xstrdup(auth->password);
		if (auth->username != NULL)
			link->username = xstrdup(auth->username);
	}
	link->scripts = scripts;
	link->nscripts = nscripts;
	link->sha = xcalloc(nscripts > 0 ? nscripts : 1, sizeof *link->sha);
	link->timeout = timeout;
	link->ev = ev;
	link->arg = arg;
	link->cmd.link = link->subc.link = link;
	link->subc.sub = 1;
	TAILQ_INIT(&link->cmd.pending);
	TAILQ_INIT(&link->subc.pending);
	ev_init(&link->cmd.deadline, redis_deadline_cb);
	ev_init(&link->subc.deadline, redis_deadline_cb);
	ev_init(&link->retry, redis_retry_cb);
	ev_init(&link->later, redis_later_cb);
	ev_check_init(&link->check, redis_check_cb);
	redis_connect(link);
	return (link);
}

/* Close the link; commands still pending get their callback with NULL. */
void
redis_close(struct redis *link)
{
	link->state = RS_DOWN;
	ev_timer_stop(link->loop, &link->retry);
	ev_timer_stop(link->loop, &link->later);
	ev_check_stop(link->loop, &link->check);
	redis_conn_drop(&link->cmd);
	redis_conn_drop(&link->subc);
	free(link->addr);
	free(link->channel);
	free(link->username);
	if (link->password != NULL) {
		explicit_bzero(link->password, strlen(link->password));
		free(link->password);
	}
	free(link->sha);
	free(link);
}

/*
 * Wait, outside the loop, until Redis has answered every command sent so
 * far (their callbacks run, and what they send is waited for too): at an
 * upgrade, what the old process said must be in Redis before the new one
 * says anything, or the others would take the new one's first message
 * for a newer one than the old one's last.  deadline is on ev_time()'s
 * clock.  Returns 0, or -1 if Redis took longer (the link is then failed
 * over, as for any command past its time).
 */
int
redis_drain(struct redis *link, double deadline)
{
	struct redis_conn	*conn = &link->cmd;
	struct pollfd		 pfd;
	double			 left;
	int			 done;

	while (conn->ac != NULL && conn->connected) {
		done = 0;
		if (redisBufferWrite(&conn->ac->c, &done) == REDIS_ERR) {
			redis_fail(link, "write failed");
			return (0);	/* dropped: nothing more goes out */
		}
		if (conn->npending == 0 && done)
			return (0);
		if ((left = deadline - ev_time()) <= 0) {
			redis_fail(link, "no answer in time");
			return (-1);
		}
		pfd.fd = conn->ac->c.fd;
		pfd.events = done ? POLLIN : POLLIN | POLLOUT;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0 &&
		    (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			redisAsyncHandleRead(conn->ac);
	}
	return (0);
}

/* Seconds a command may take from now on. */
void
redis_set_timeout(struct redis *link, double timeout)
{
	link->timeout = timeout;
}

/* Whether commands can be sent. */
int
redis_is_up(const struct redis *link)
{
	return (link->state == RS_UP);
}

/*
 * Send a command (argv[0] is its name).  cb, if not NULL, gets the reply,
 * or NULL if the link fails first.  Returns 0, or -1 if the link is down.
 */
int
redis_command(struct redis *link, redis_reply_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	if (link->state != RS_UP)
		return (-1);
	return (redis_send(&link->cmd, cb, arg, argc, argv, argvlen));
}

/*
 * Run loaded script number i with nkeys keys: argv and argvlen hold the
 * keys and then the arguments, argc of them in all, after room for three
 * words (EVALSHA, the SHA1, the number of keys), which this fills in.
 */
int
redis_script(struct redis *link, size_t i, redis_reply_cb *cb, void *arg,
    int nkeys, int argc, const char **argv, size_t *argvlen)
{
	char	n[16];

	if (link->state != RS_UP || i >= link->nsha)
		return (-1);
	snprintf(n, sizeof n, "%d", nkeys);
	argv[0] = "EVALSHA";
	argvlen[0] = 7;
	argv[1] = link->sha[i];
	argvlen[1] = 40;
	argv[2] = n;
	argvlen[2] = strlen(n);
	return (redis_send(&link->cmd, cb, arg, argc + 3, argv, argvlen));
}
