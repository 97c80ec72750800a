/*
 * A client: one connection, from accept() to close().  Its bytes come and
 * go through the connection's transport (transport.c); the client keeps
 * the lines, the queue, the limits and the timers.
 *
 * Life of a client:
 *   handshake accepted, counted against the limits, not yet registered:
 *             the transport's handshake runs under its own timeout
 *   online    registered; lines are read, framed and handed to Lua
 *   closing   client_close() marked it; nothing is freed yet, because a
 *             caller up the stack (a broadcast, a Lua call) may hold it
 *   draining  client_reap() ran the leave hooks and unregistered it; its
 *             queued output is flushed for at most CHATD_LINGER seconds,
 *             then client_finish() closes the socket and frees it
 */

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

static void	client_ready(struct conn *);
static void	client_failed(struct conn *);
static void	client_readable(struct conn *);
static void	client_writable(struct conn *);
static void	client_idle_cb(struct ev_loop *, ev_timer *, int);
static void	client_throttle_cb(struct ev_loop *, ev_timer *, int);
static void	client_process(struct client *);
static void	client_drop(struct client *, const char *);
static double	client_bytes_burst(const struct config *);

static const struct conn_owner client_owner = {
	.ready = client_ready,
	.failed = client_failed,
	.readable = client_readable,
	.writable = client_writable,
};

/* Write "ip:port" or "[ip]:port" for an address; v4-mapped v6 as v4. */
void
client_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], ip,
			    sizeof ip);
			snprintf(buf, len, "%s:%u", ip, ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
			snprintf(buf, len, "[%s]:%u", ip,
			    ntohs(sin6->sin6_port));
		}
	} else
		snprintf(buf, len, "unknown");
}

/*
 * Write the key that counts connections per address: the family and the
 * address bytes (a v4-mapped v6 address counts as its v4 address).  An
 * IPv6 address counts by its first v6prefix bits ([limits] ipv6_prefix,
 * 64 by default): one /64 is one user's network, and its owner may use
 * any of its 2^64 addresses.  Returns its length; key holds 17 bytes.
 */
size_t
client_ipkey(const struct sockaddr *sa, unsigned char *key, int v6prefix)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	int				 i;

	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			key[0] = 6;
			memcpy(key + 1, &sin6->sin6_addr, 16);
			for (i = 0; i < 16; i++) {
				if (v6prefix >= 8 * (i + 1))
					continue;
				key[1 + i] &= v6prefix <= 8 * i ? 0 :
				    (unsigned char)(0xff << (8 * (i + 1) -
				    v6prefix));
			}
			return (17);
		}
		key[0] = 4;
		memcpy(key + 1, &sin6->sin6_addr.s6_addr[12], 4);
		return (5);
	}
	sin = (const struct sockaddr_in *)(const void *)sa;
	key[0] = 4;
	memcpy(key + 1, &sin->sin_addr, 4);
	return (5);
}

/*
 * Start the idle timer for the deadline last_active + idle_timeout.  The
 * timer is not touched per line: a line only moves last_active, and when
 * the timer fires it re-arms for the real deadline ("be smart about
 * timeouts" in the libev manual), so a busy client costs no heap updates.
 */
static void
client_arm_idle(struct client *c)
{
	struct ev_loop	*loop = c->srv->loop;
	ev_tstamp	 after;

	ev_timer_stop(loop, &c->idle);
	if (c->srv->cfg.idle_timeout == 0)
		return;
	after = c->last_active + (ev_tstamp)c->srv->cfg.idle_timeout -
	    ev_now(loop);
	ev_timer_set(&c->idle, after > 0. ? after : 0., 0.);
	ev_timer_start(loop, &c->idle);
}

/*
 * Size the kernel's send buffer like the soft limit of chatd's own queue
 * (output_limit without one).  Left alone, Linux grows it to megabytes for
 * a client that does not read, memory no limit of chatd's would account
 * for; this way such a client holds at most output_limit in chatd and
 * twice the soft limit in the kernel (Linux doubles the value set), and
 * what waits is mostly in chatd's queue, where the limits count it.
 */
static void
client_set_sndbuf(struct client *c)
{
	struct config	*cfg = &c->srv->cfg;
	int		 size = (int)(cfg->output_soft_limit > 0 &&
			    cfg->output_soft_limit < cfg->output_limit ?
			    cfg->output_soft_limit : cfg->output_limit);

	setsockopt(c->conn.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

/*
 * Set up a client for a socket accepted by listener l, its transport set
 * up with ctx, and start the transport's handshake; the client joins when
 * that is done (at once without one).  Returns NULL if the transport could
 * not be set up.
 */
struct client *
client_new(struct server *srv, struct listener *l, int fd,
    const struct sockaddr *sa, void *ctx)
{
	struct client	*c;
	ev_tstamp	 now = ev_now(srv->loop);

	c = xcalloc(1, sizeof *c);
	c->srv = srv;
	client_format_addr(sa, c->addr, sizeof c->addr);
	c->ipkeylen = client_ipkey(sa, c->ipkey, (int)srv->cfg.ipv6_prefix);
	conn_init(&c->conn, srv, fd, l->kind->transport, &client_owner);
	c->conn.peer = c->addr;
	if (conn_open(&c->conn, ctx) == -1) {
		log_warn("client from %s: %s: %s", c->addr,
		    l->kind->transport->name, strerror(errno));
		conn_close(&c->conn);
		listener_release_ip(srv, c->ipkey, c->ipkeylen);
		free(c);
		return (NULL);
	}
	c->joined = c->last_active = c->tokens_at = c->btokens_at = now;
	c->tokens = (double)srv->cfg.burst;
	c->btokens = client_bytes_burst(&srv->cfg);
	client_set_sndbuf(c);
	telnet_init(&c->telnet);
	linebuf_init(&c->in, (size_t)srv->cfg.max_line);
	outq_init(&c->out);
	ev_init(&c->idle, client_idle_cb);
	ev_init(&c->throttle, client_throttle_cb);
	srv->nclients++;
	srv->nseats++;
	metric_inc(METRIC_CONNECTIONS);
	metric_socket_opened(c->conn.t);

	if (c->conn.flags & CONN_HANDSHAKE) {
		c->flags |= CLIENT_HANDSHAKE;
		TAILQ_INSERT_TAIL(&srv->handshaking, c, closing_entry);
		if (l->handshake_timeout > 0.) {
			ev_timer_set(&c->idle, l->handshake_timeout, 0.);
			ev_timer_start(srv->loop, &c->idle);
		}
	}
	conn_start(&c->conn);
	return (c);
}

/*
 * Set up a client handed over by the old process of an upgrade (a plain
 * TCP socket, fd, and its state), registered under its id and name
 * without a join: nothing is read or written until client_resume().
 */
void
client_adopt(struct server *srv, const struct ustate_client *uc, int fd)
{
	struct client	*c;
	struct buf	*b;
	char		*space;
	size_t		 avail, n;

	c = xcalloc(1, sizeof *c);
	c->srv = srv;
	memcpy(c->addr, uc->addr, sizeof c->addr);
	memcpy(c->ipkey, uc->ipkey, uc->ipkeylen);
	c->ipkeylen = (unsigned char)uc->ipkeylen;
	listener_hold_ip(srv, c->ipkey, c->ipkeylen);
	conn_init(&c->conn, srv, fd, &transport_tcp, &client_owner);
	c->conn.peer = c->addr;
	c->joined = uc->joined;
	c->last_active = uc->last_active;
	c->tokens = uc->tokens;
	c->tokens_at = uc->tokens_at;
	if (uc->btokens >= 0.) {
		c->btokens = uc->btokens;
		c->btokens_at = uc->btokens_at;
	} else {		/* an older chatd's state: a full bucket */
		c->btokens = client_bytes_burst(&srv->cfg);
		c->btokens_at = uc->tokens_at;
	}
	client_set_sndbuf(c);
	telnet_init(&c->telnet);
	c->telnet.state = uc->telnet_state;
	c->telnet.cr = uc->telnet_cr;
	linebuf_init(&c->in, (size_t)srv->cfg.max_line);
	if (uc->inputlen > 0) {
		/* At most one line's worth was kept; a max_line now lower
		 * makes it a line too long, as on a reload. */
		space = linebuf_space(&c->in, &avail);
		n = uc->inputlen < avail ? uc->inputlen : avail;
		memcpy(space, uc->input, n);
		linebuf_commit(&c->in, n);
	}
	c->in.discarding = (uc->flags & USTATE_DISCARDING) != 0;
	outq_init(&c->out);
	if (uc->outputlen > 0) {
		b = xmalloc(sizeof *b + uc->outputlen);
		b->refs = 1;
		b->len = uc->outputlen;
		memcpy(b->data, uc->output, uc->outputlen);
		outq_push(&c->out, b);
		buf_unref(b);
	}
	ev_init(&c->idle, client_idle_cb);
	ev_init(&c->throttle, client_throttle_cb);
	srv->nclients++;
	srv->nseats++;
	metric_socket_opened(c->conn.t);
	registry_adopt(&srv->reg, c, uc->id, uc->name, uc->namelen);
}

/*
 * An adopted client is served: its queued output is flushed before the
 * loop sleeps, its buffered lines are handled (as the rate allows), and
 * its socket is read again, from where the old process left it.
 */
void
client_resume(struct client *c)
{
	conn_want(&c->conn, CONN_READ, 1);
	client_arm_idle(c);
	if (c->out.count > 0)
		server_mark_pending(c->srv, c);
	client_process(c);	/* stops reading again if throttled */
}

/* The handshake is done (or there was none): register and announce. */
static void
client_ready(struct conn *conn)
{
	struct client	*c = container_of(conn, struct client, conn);
	struct server	*srv = c->srv;

	if (c->flags & CLIENT_HANDSHAKE) {
		TAILQ_REMOVE(&srv->handshaking, c, closing_entry);
		c->flags &= ~CLIENT_HANDSHAKE;
		c->joined = c->last_active = c->tokens_at = c->btokens_at =
		    ev_now(srv->loop);
	}
	conn_want(&c->conn, CONN_READ, 1);
	client_arm_idle(c);
	registry_add(&srv->reg, c);
	if (lograte_allow(LOGRATE_CONNECT, ev_now(srv->loop), c->addr))
		log_info("client %llu connected from %s",
		    (unsigned long long)c->id, c->addr);
	plugin_join(srv->script, c);
}

/* The handshake failed: say why, once, and let the connection go. */
static void
client_failed(struct conn *conn)
{
	client_finish(container_of(conn, struct client, conn));
}

/* Whether a client is registered and not on its way out. */
int
client_is_online(const struct client *c)
{
	return ((c->flags & (CLIENT_CLOSING | CLIENT_DRAINING |
	    CLIENT_HANDSHAKE)) == 0);
}

/*
 * Queue a buffer to a client.  Output normally waits for the flush before
 * the loop sleeps; when one turn queues more than output_limit (a long
 * "who", a burst of broadcasts) the queue is written at once, and only a
 * client whose queue still passes the limit is not reading: its queue is
 * dropped and it is closed.
 */
void
client_send(struct client *c, struct buf *b)
{
	ssize_t	n;

	if (c->flags & (CLIENT_DEAD | CLIENT_REMOTE)) {
		if (c->flags & CLIENT_REMOTE)	/* a user of another server */
			room_send(c->srv, c, b);
		return;
	}
	outq_push(&c->out, b);
	c->queued += b->len;
	metric_inc(METRIC_LINES_OUT);
	if (c->out.bytes > (size_t)c->srv->cfg.output_limit) {
		if ((n = outq_flush(&c->out, &c->conn)) == -1) {
			client_drop(c, CHATD_LEAVE_CLOSED);
			return;
		}
		metric_add(METRIC_BYTES_OUT, (uint64_t)n);
	}
	if (c->out.bytes > (size_t)c->srv->cfg.output_limit) {
		log_info("client %llu (%s, %s): %zu bytes queued, over "
		    "output_limit; dropping it", (unsigned long long)c->id,
		    c->name, c->addr, c->out.bytes);
		client_drop(c, CHATD_LEAVE_SLOW);
		return;
	}
	server_mark_pending(c->srv, c);
}

/* Queue one line of text (cleaned, CRLF added) to a client. */
void
client_send_text(struct client *c, const char *text, size_t len)
{
	struct buf	*b;

	b = buf_line(text, len);
	client_send(c, b);
	buf_unref(b);
}

/*
 * Mark a client for closing with a reason for the leave hooks.  Nothing is
 * freed here; the server reaps marked clients before the loop sleeps.
 */
void
client_close(struct client *c, const char *reason)
{
	if (c->flags & (CLIENT_CLOSING | CLIENT_DRAINING | CLIENT_REMOTE))
		return;
	c->flags |= CLIENT_CLOSING;
	registry_closing(&c->srv->reg);
	c->close_reason = xstrdup(reason);
	conn_want(&c->conn, CONN_READ, 0);
	ev_timer_stop(c->srv->loop, &c->throttle);
	server_mark_closing(c->srv, c);
}

/*
 * Close a client whose output can no longer be delivered (too slow, or the
 * socket failed): what is queued is dropped, nothing more is queued.  One
 * dropped as too slow is told why if the kernel takes it at once, after
 * the rest of a line already begun (never a cut line, then another); the
 * connection is then reset (client_finish), which discards what the
 * kernel could not send.
 */
static void
client_drop(struct client *c, const char *reason)
{
	static const char	 why[] = "! dropped: output not read fast enough";
	struct buf		*b;
	ssize_t			 n;

	if (strcmp(reason, CHATD_LEAVE_SLOW) == 0 &&
	    !(c->flags & CLIENT_DEAD) && client_is_online(c)) {
		outq_cut(&c->out);
		b = buf_line(why, sizeof why - 1);
		outq_push(&c->out, b);
		buf_unref(b);
		if ((n = outq_flush(&c->out, &c->conn)) > 0)
			metric_add(METRIC_BYTES_OUT, (uint64_t)n);
	}
	c->flags |= CLIENT_DEAD;
	outq_free(&c->out);
	client_close(c, reason);
}

/* Drop a client as too slow (the output budget's verdict). */
void
client_drop_slow(struct client *c)
{
	client_drop(c, CHATD_LEAVE_SLOW);
}

/*
 * The label a leave reason is counted under: chatd's own reasons as they
 * are, a plugin's (which may hold anything, a name too) as "plugin".
 */
static const char *
client_leave_label(const char *reason)
{
	static const char *const core[] = { CHATD_LEAVE_QUIT,
	    CHATD_LEAVE_CLOSED, CHATD_LEAVE_TIMEOUT, CHATD_LEAVE_SLOW,
	    CHATD_LEAVE_SHUTDOWN, CHATD_LEAVE_UPGRADE };
	size_t	i;

	for (i = 0; i < sizeof core / sizeof core[0]; i++) {
		if (strcmp(reason, core[i]) == 0)
			return (core[i]);
	}
	return ("plugin");
}

/*
 * Give up a client's seat: it no longer counts against max_clients or
 * max_per_ip.  Done as it leaves the room, not when its socket closes, so
 * that a user who said "quit" does not keep the next one out for the
 * linger time; the lingering descriptors have a bound of their own
 * (listener_make_room).
 */
static void
client_unseat(struct client *c)
{
	if (c->flags & CLIENT_UNSEATED)
		return;
	c->flags |= CLIENT_UNSEATED;
	listener_release_ip(c->srv, c->ipkey, c->ipkeylen);
	c->srv->nseats--;
}

/*
 * Run the leave hooks of a marked client, unregister it, give up its seat
 * and start draining its output.  Called only from the server's reap step.
 */
void
client_reap(struct client *c)
{
	struct server	*srv = c->srv;

	/* A refused join was never announced, so nor is its leave. */
	if (c->flags & CLIENT_REFUSED)
		plugin_forget(srv->script, c);
	else
		plugin_leave(srv->script, c, c->close_reason);
	registry_remove(&srv->reg, c);
	metric_label_inc(METRIC_DISCONNECTS,
	    client_leave_label(c->close_reason));
	c->flags = (c->flags & ~CLIENT_CLOSING) | CLIENT_DRAINING;
	client_unseat(c);
	TAILQ_INSERT_TAIL(&srv->draining, c, closing_entry);
	if (lograte_allow(LOGRATE_LEAVE, ev_now(srv->loop), c->addr))
		log_info("client %llu (%s) left: %s",
		    (unsigned long long)c->id, c->name, c->close_reason);

	if (c->flags & CLIENT_DEAD) {
		client_finish(c);
		return;
	}
	/* Keep reading (and discarding): closing a socket with unread input
	 * makes the kernel send a reset, which can destroy the goodbye. */
	if (!(c->flags & CLIENT_EOF))
		conn_want(&c->conn, CONN_READ, 1);
	ev_timer_stop(srv->loop, &c->idle);
	ev_timer_set(&c->idle, CHATD_LINGER, 0.);
	ev_timer_start(srv->loop, &c->idle);
	if (!(c->flags & (CLIENT_PENDING | CLIENT_WRITING)))
		client_flush(c);	/* nothing queued: shut down, or free */
}

/*
 * Close the socket and free a client that is no longer registered.  A
 * client whose output chatd gives up on (dropped, its linger time over,
 * or the kernel still holding bytes it could not send) is closed with a
 * reset, so the kernel lets go of that memory at once.
 */
void
client_finish(struct client *c)
{
	struct server	*srv = c->srv;

	if (c->flags & CLIENT_PENDING)
		TAILQ_REMOVE(&srv->pending, c, pending_entry);
	if (c->flags & CLIENT_DRAINING)
		TAILQ_REMOVE(&srv->draining, c, closing_entry);
	if (c->flags & CLIENT_HANDSHAKE)
		TAILQ_REMOVE(&srv->handshaking, c, closing_entry);
	ev_timer_stop(srv->loop, &c->idle);
	ev_timer_stop(srv->loop, &c->throttle);
	/* A socket handed over is shared with the new process: closing this
	 * copy sends nothing, and a reset (SO_LINGER) would be set on it for
	 * the new process too. */
	if (c->flags & CLIENT_MOVED)
		conn_close(&c->conn);
	else if (c->flags & CLIENT_DEAD || c->out.count > 0 ||
	    (!srv->stopping && conn_unsent(&c->conn) > 0)) {
		metric_inc(METRIC_ABORTS);
		conn_abort(&c->conn);
	} else
		conn_close(&c->conn);
	client_unseat(c);
	srv->nclients--;
	metric_socket_closed(c->conn.t);

	linebuf_free(&c->in);
	outq_free(&c->out);
	free(c->close_reason);
	free(c->oper);
	free(c->name);		/* and the name key with it */
	free(c);
}

/*
 * A draining client has said all and the peer has finished: free it once
 * the kernel has sent what it holds.  A peer that half-closes and never
 * reads would otherwise leave that memory behind in an orphaned socket;
 * this way it stays counted against the limits until the kernel has sent
 * it or the linger time is over (then client_finish() resets it).  When
 * stopping, the kernel is trusted with the rest.
 */
static void
client_done(struct client *c)
{
	if (c->srv->stopping || conn_unsent(&c->conn) == 0) {
		client_finish(c);
		return;
	}
	if (!ev_is_active(&c->throttle)) {
		ev_timer_set(&c->throttle, CHATD_UNSENT_POLL, CHATD_UNSENT_POLL);
		ev_timer_start(c->srv->loop, &c->throttle);
	}
}

/* Ask the connection to call back when it takes more output, or not. */
static void
client_wait_writable(struct client *c, int on)
{
	if (on == !!(c->flags & CLIENT_WRITING))
		return;
	conn_want(&c->conn, CONN_WRITE, on);
	if (on)
		c->flags |= CLIENT_WRITING;
	else
		c->flags &= ~CLIENT_WRITING;
}

/*
 * Write what the connection takes.  If bytes are left, wait until it
 * takes more; a draining client whose queue is empty is shut down for
 * writing, and freed once the peer has finished too.  May free c.
 */
void
client_flush(struct client *c)
{
	ssize_t		 n;
	int		 r;

	n = outq_flush(&c->out, &c->conn);
	if (n == -1) {
		if (c->flags & CLIENT_DRAINING)
			client_finish(c);
		else
			client_drop(c, CHATD_LEAVE_CLOSED);
		return;
	}
	metric_add(METRIC_BYTES_OUT, (uint64_t)n);
	if (c->out.count > 0) {
		client_wait_writable(c, 1);
		return;
	}
	if (!(c->flags & CLIENT_DRAINING)) {
		client_wait_writable(c, 0);
		return;
	}
	if (!(c->flags & CLIENT_SHUTWR)) {
		if ((r = conn_shutdown(&c->conn)) == 0) {
			client_wait_writable(c, 1);	/* not sent yet */
			return;
		}
		if (r == -1) {
			client_finish(c);
			return;
		}
		c->flags |= CLIENT_SHUTWR;
	}
	client_wait_writable(c, 0);
	/* When stopping, all is said once it is written: do not wait for
	 * peers that keep their end open. */
	if (c->flags & CLIENT_EOF || c->srv->stopping)
		client_done(c);
}

/* The connection takes output again. */
static void
client_writable(struct conn *conn)
{
	client_flush(container_of(conn, struct client, conn));
}

/* A draining client sent something: discard it; its EOF ends it. */
static void
client_drain_read(struct client *c)
{
	char	 sink[4096];
	ssize_t	 n;

	n = conn_read(&c->conn, sink, sizeof sink);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return;
	c->flags |= CLIENT_EOF;
	conn_want(&c->conn, CONN_READ, 0);
	if (n == -1)
		client_finish(c);
	else if (c->out.count == 0)
		client_done(c);
}

/*
 * The most input bytes a client may send at once: a second's worth, and at
 * least one line of max_line, so the longest line is read in one go.
 */
static double
client_bytes_burst(const struct config *cfg)
{
	long long	b = cfg->bytes_per_second;

	if (b < cfg->max_line + 2)
		b = cfg->max_line + 2;
	return ((double)b);
}

/*
 * How many bytes the input byte bucket lets a client read now, at most
 * avail; 0 when it is empty, and then reading stops until it holds
 * CHATD_READ_CHUNK bytes again.  Lines are counted by client_take_token();
 * this bounds what a client costs in reads, framing and telnet parsing
 * when it sends no lines at all (one that never ends, telnet noise), and
 * while an over-long line is discarded.
 */
static size_t
client_take_bytes(struct client *c, size_t avail)
{
	struct config	*cfg = &c->srv->cfg;
	ev_tstamp	 now = ev_now(c->srv->loop);
	double		 cap = client_bytes_burst(cfg), want;

	if (cfg->bytes_per_second == 0)
		return (avail);
	c->btokens += (now - c->btokens_at) * (double)cfg->bytes_per_second;
	if (c->btokens > cap)
		c->btokens = cap;
	c->btokens_at = now;
	if (c->btokens >= 1.)
		return (c->btokens < (double)avail ? (size_t)c->btokens : avail);
	want = cap < CHATD_READ_CHUNK ? cap : CHATD_READ_CHUNK;
	conn_want(&c->conn, CONN_READ, 0);
	ev_timer_set(&c->throttle,
	    (want - c->btokens) / (double)cfg->bytes_per_second, 0.);
	ev_timer_start(c->srv->loop, &c->throttle);
	c->flags |= CLIENT_THROTTLED;
	return (0);
}

/* Input may have arrived. */
static void
client_readable(struct conn *conn)
{
	struct client	*c = container_of(conn, struct client, conn);
	char		*space;
	size_t		 avail;
	ssize_t		 n;

	if (c->flags & CLIENT_DRAINING) {
		client_drain_read(c);
		return;
	}
	space = linebuf_space(&c->in, &avail);
	if (avail == 0) {
		client_process(c);
		return;
	}
	if ((avail = client_take_bytes(c, avail)) == 0)
		return;
	n = conn_read(&c->conn, space, avail);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_debug("client %llu: read: %s", (unsigned long long)c->id,
		    strerror(errno));
		c->flags |= CLIENT_EOF;
		client_drop(c, CHATD_LEAVE_CLOSED);
		return;
	}
	if (n == 0) {
		c->flags |= CLIENT_EOF;
		client_close(c, CHATD_LEAVE_CLOSED);
		return;
	}
	if (c->srv->cfg.bytes_per_second > 0)
		c->btokens -= (double)n;
	linebuf_commit(&c->in, telnet_filter(&c->telnet, space, (size_t)n));
	client_process(c);
}

/*
 * Take one token from the input rate bucket.  Without one, stop reading
 * the socket until the bucket refills: excess input waits in the kernel
 * (TCP backpressure) and is delayed, never dropped.
 */
static int
client_take_token(struct client *c)
{
	struct config	*cfg = &c->srv->cfg;
	ev_tstamp	 now = ev_now(c->srv->loop);

	if (cfg->lines_per_second == 0)
		return (1);
	c->tokens += (now - c->tokens_at) * (double)cfg->lines_per_second;
	if (c->tokens > (double)cfg->burst)
		c->tokens = (double)cfg->burst;
	c->tokens_at = now;
	if (c->tokens >= 1.) {
		c->tokens -= 1.;
		return (1);
	}
	conn_want(&c->conn, CONN_READ, 0);
	ev_timer_set(&c->throttle,
	    (1. - c->tokens) / (double)cfg->lines_per_second, 0.);
	ev_timer_start(c->srv->loop, &c->throttle);
	c->flags |= CLIENT_THROTTLED;
	return (0);
}

/*
 * The bucket has a token again: go on with buffered lines, then read.  For
 * a draining client the same timer polls whether the kernel has sent all.
 */
static void
client_throttle_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct client	*c = container_of(w, struct client, throttle);

	if (c->flags & CLIENT_DRAINING) {	/* client_done() waits */
		if (conn_unsent(&c->conn) == 0)
			client_finish(c);
		return;
	}
	c->flags &= ~CLIENT_THROTTLED;
	client_process(c);
	if (client_is_online(c) &&
	    !(c->flags & (CLIENT_THROTTLED | CLIENT_WAITING)))
		conn_want(&c->conn, CONN_READ, 1);
}

/*
 * Hold a client's input while a plugin's command waits (for a name that
 * another server may hold): its later lines keep their place behind it.
 */
void
client_wait(struct client *c)
{
	c->flags |= CLIENT_WAITING;
	conn_want(&c->conn, CONN_READ, 0);
}

/* The wait is over: go on with the lines buffered, then read again. */
void
client_unwait(struct client *c)
{
	if (!(c->flags & CLIENT_WAITING))
		return;
	c->flags &= ~CLIENT_WAITING;
	client_process(c);
	if (client_is_online(c) &&
	    !(c->flags & (CLIENT_THROTTLED | CLIENT_WAITING)))
		conn_want(&c->conn, CONN_READ, 1);
}

/*
 * Charge a client's rate for what its line made chatd send it.  A line is
 * cheap to send and its answer may not be: a "who" in a room of 2000 is
 * 60 KB, so 40 clients asking at the line rate had chatd send 48 MB/s.
 * Each output_per_line bytes of answer past the first costs one more
 * line's token (the bucket may go below zero: the client then waits until
 * it has paid), so what one client can make chatd send it is bounded by
 * lines_per_second times output_per_line, whatever the commands do.
 */
static void
client_charge(struct client *c, uint64_t spent)
{
	struct config	*cfg = &c->srv->cfg;

	if (cfg->output_per_line == 0 || cfg->lines_per_second == 0 ||
	    spent <= (uint64_t)cfg->output_per_line)
		return;
	c->tokens -= (double)(spent - (uint64_t)cfg->output_per_line) /
	    (double)cfg->output_per_line;
}

/* Hand one complete line to the plugins, unless it is blank. */
static void
client_line(struct client *c, const char *line, size_t len)
{
	char		*text;
	size_t		 n;
	uint64_t	 before = c->queued;

	text = server_scratch(c->srv, TEXT_CLEAN_MAX(len));
	n = text_clean(line, len, text);
	if (text_is_blank(text, n))
		return;
	plugin_line(c->srv->script, c, line, len, text, n);
	client_charge(c, c->queued - before);
}

/* Handle every complete line buffered, as far as the rate allows. */
static void
client_process(struct client *c)
{
	const char	*line;
	size_t		 len;
	int		 ev;
	char		 msg[64];

	while (client_is_online(c) &&
	    !(c->flags & (CLIENT_THROTTLED | CLIENT_WAITING))) {
		if (c->in.len == c->in.start)
			break;		/* nothing buffered */
		if (!client_take_token(c))
			break;
		ev = linebuf_next(&c->in, &line, &len);
		if (ev == LB_NONE) {
			c->tokens += 1.;	/* give it back */
			break;
		}
		c->last_active = ev_now(c->srv->loop);
		metric_inc(METRIC_LINES_IN);
		if (ev == LB_TOOLONG) {
			snprintf(msg, sizeof msg, "! line too long (max %lld "
			    "bytes)", c->srv->cfg.max_line);
			client_send_text(c, msg, strlen(msg));
			continue;
		}
		client_line(c, line, len);
	}
	linebuf_release(&c->in);	/* no partial line: no buffer */
}

/* The idle deadline passed, or a draining client's linger time ran out. */
static void
client_idle_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct client	*c = container_of(w, struct client, idle);
	ev_tstamp	 deadline;

	if (c->flags & CLIENT_DRAINING) {
		log_debug("client %llu: linger time over, closing",
		    (unsigned long long)c->id);
		client_finish(c);
		return;
	}
	if (c->flags & CLIENT_HANDSHAKE) {
		conn_expired(&c->conn, ev_now(loop) - c->joined);
		client_finish(c);
		return;
	}
	if (!client_is_online(c) || c->srv->cfg.idle_timeout == 0)
		return;
	deadline = c->last_active + (ev_tstamp)c->srv->cfg.idle_timeout;
	if (deadline > ev_now(loop) + 0.01) {
		client_arm_idle(c);	/* there was activity meanwhile */
		return;
	}
	client_close(c, CHATD_LEAVE_TIMEOUT);
}

/* Apply a reloaded configuration to a connected client. */
void
client_apply_config(struct client *c)
{
	struct config	*cfg = &c->srv->cfg;

	if (!client_is_online(c) || (c->flags & CLIENT_REMOTE))
		return;
	linebuf_set_max(&c->in, (size_t)cfg->max_line);
	client_set_sndbuf(c);
	if (c->tokens > (double)cfg->burst)
		c->tokens = (double)cfg->burst;
	if (c->btokens > client_bytes_burst(cfg))
		c->btokens = client_bytes_burst(cfg);
	client_arm_idle(c);
	if (c->out.bytes > (size_t)cfg->output_limit)
		client_drop(c, CHATD_LEAVE_SLOW);
}
