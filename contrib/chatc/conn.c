/*
 * chatc: the connection.  Each address of the server in turn, TLS over
 * it with --tls (tls.c), the bytes both ways, and --reconnect.
 */

#include "config.h"

#include "chatc.h"

static void	 conn_up(struct chatc *);
static void	 conn_next(struct chatc *);
static void	 conn_failed(struct chatc *);
static void	 conn_lost(struct chatc *, const char *);

/* ---- the connection ------------------------------------------------- */

/* Resolve the server's name and start trying its addresses. */
void
conn_start(struct chatc *c)
{
	struct addrinfo	hints;
	int		err;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	c->ai_list = NULL;
	err = getaddrinfo(c->host, c->port, &hints, &c->ai_list);
	if (err != 0) {
		c->ai_list = NULL;
		c->ai = NULL;
		c->last_errno = 0;
		if (!c->ever_connected && !c->reconnect) {
			fprintf(stderr, "chatc: cannot resolve %s: %s\n",
			    c->host, err == EAI_SYSTEM ? strerror(errno) :
			    gai_strerror(err));
			c->status = 1;
			ev_break(c->loop, EVBREAK_ALL);
			return;
		}
		status(c, 1, "cannot resolve %s: %s", c->host,
		    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		conn_failed(c);
		return;
	}
	c->ai = c->ai_list;
	c->last_errno = ECONNREFUSED;
	conn_next(c);
}

/* One step of the TLS handshake; the connection is up once it is done. */
static void
conn_handshake(struct chatc *c)
{
	char	why[512];
	int	want = 0, r;

	if ((r = ctls_handshake(c->tls, &want, why, sizeof why)) == 1) {
		conn_up(c);
		return;
	}
	if (r == 0) {
		ev_io_stop(c->loop, &c->rio);
		ev_io_stop(c->loop, &c->wio);
		ev_io_set(want == CTLS_WANT_WRITE ? &c->wio : &c->rio, c->fd,
		    want == CTLS_WANT_WRITE ? EV_WRITE : EV_READ);
		ev_io_start(c->loop, want == CTLS_WANT_WRITE ? &c->wio :
		    &c->rio);
		return;
	}
	ev_timer_stop(c->loop, &c->timer);
	if (!c->ever_connected && !c->reconnect) {
		fprintf(stderr, "chatc: TLS handshake with %s failed: %s\n",
		    c->label, why);
		ev_io_stop(c->loop, &c->rio);
		ev_io_stop(c->loop, &c->wio);
		ctls_free(c->tls);
		c->tls = NULL;
		close(c->fd);
		c->fd = -1;
		c->state = ST_IDLE;
		c->status = 1;
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	conn_lost(c, why);
}

/* The socket is connected: start TLS, or the session at once. */
static void
conn_ready(struct chatc *c)
{
	ev_io_stop(c->loop, &c->wio);
	if (c->tls_ctx == NULL) {
		conn_up(c);
		return;
	}
	if ((c->tls = ctls_new(c->tls_ctx, c->fd, c->host)) == NULL)
		fatal("out of memory");
	c->state = ST_HANDSHAKE;
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, CHATC_CONNECT_TIMEOUT, 0.);
	ev_timer_start(c->loop, &c->timer);
	conn_handshake(c);
}

/* The connection is up. */
static void
conn_up(struct chatc *c)
{
	char	tls[128];

	ev_timer_stop(c->loop, &c->timer);
	ev_io_stop(c->loop, &c->wio);
	ev_io_stop(c->loop, &c->rio);
	freeaddrinfo(c->ai_list);
	c->ai_list = c->ai = NULL;
	c->state = ST_CONNECTED;
	c->ever_connected = 1;
	c->connected_at = ev_now(c->loop);

	c->in.len = 0;
	c->in_cut = 0;
	c->out.len = 0;
	c->block = BLOCK_NONE;
	strset_clear(&c->names);
	free(c->myname);
	c->myname = NULL;

	ev_io_set(&c->rio, c->fd, EV_READ);
	ev_io_start(c->loop, &c->rio);
	if (c->tls != NULL)
		status(c, 0, "connected to %s (%s)", c->label,
		    ctls_describe(c->tls, tls, sizeof tls));
	else
		status(c, 0, "connected to %s", c->label);

	/* Ask for the server's commands; the answer is not shown. */
	c->help_pending = 1;
	buf_adds(&c->out, "help\n");
	out_flush(c);
	if (c->state != ST_CONNECTED)
		return;
	if (c->tty_in)
		rl_start(c);
	else
		stdin_update(c);
}

/* Try the next address of the server. */
static void
conn_next(struct chatc *c)
{
	struct addrinfo	*ai;
	int		 fd;

	for (; (ai = c->ai) != NULL; c->ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			c->last_errno = errno;
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			conn_ready(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = ST_CONNECTING;
			ev_io_stop(c->loop, &c->wio);
			ev_io_set(&c->wio, fd, EV_WRITE);
			ev_io_start(c->loop, &c->wio);
			ev_timer_stop(c->loop, &c->timer);
			ev_timer_set(&c->timer, CHATC_CONNECT_TIMEOUT, 0.);
			ev_timer_start(c->loop, &c->timer);
			return;
		}
		c->last_errno = errno;
		close(fd);
		c->fd = -1;
	}
	conn_failed(c);
}

/* A pending connect() has finished (the socket is writable). */
static void
conn_check(struct chatc *c)
{
	int		err = 0;
	socklen_t	len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		conn_ready(c);
		return;
	}
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->timer);
	close(c->fd);
	c->fd = -1;
	c->last_errno = err;
	c->ai = c->ai->ai_next;
	conn_next(c);
}

/* Wait before the next attempt, doubling the delay each time. */
static void
conn_retry_later(struct chatc *c)
{
	c->state = ST_WAITING;
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, c->backoff, 0.);
	ev_timer_start(c->loop, &c->timer);
	c->backoff *= 2;
	if (c->backoff > CHATC_BACKOFF_MAX)
		c->backoff = CHATC_BACKOFF_MAX;
}

/* No address of the server could be reached. */
static void
conn_failed(struct chatc *c)
{
	char	why[512];

	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	c->ai_list = c->ai = NULL;
	c->state = ST_IDLE;
	if (c->last_errno != 0)
		snprintf(why, sizeof why, "cannot connect to %s: %s",
		    c->label, strerror(c->last_errno));
	else
		why[0] = '\0';
	if (c->quitting) {
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	if (c->reconnect) {
		if (why[0] != '\0')
			status(c, 1, "%s; retrying in %.0f s", why,
			    c->backoff);
		else
			status(c, 1, "retrying in %.0f s", c->backoff);
		conn_retry_later(c);
		return;
	}
	if (why[0] != '\0')
		fprintf(stderr, "chatc: %s\n", why);
	c->status = 1;
	ev_break(c->loop, EVBREAK_ALL);
}

/*
 * The connection is over: the server closed it (why == NULL) or an error
 * broke it.  After the user asked to leave, that is the end; otherwise it
 * is reported, and with --reconnect another attempt is scheduled.
 */
static void
conn_lost(struct chatc *c, const char *why)
{
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->timer);
	ctls_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	c->out.len = 0;
	c->shut_pending = 0;
	if (c->in.len > 0 && !c->in_cut)	/* a last line without LF */
		server_raw_line(c, c->in.data, c->in.len);
	c->in.len = 0;
	c->in_cut = 0;
	screen_flush(c);
	stdin_update(c);

	if (c->quitting) {
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	if (c->reconnect) {
		if (ev_now(c->loop) - c->connected_at >= CHATC_STABLE)
			c->backoff = CHATC_BACKOFF_MIN;
		if (why == NULL)
			status(c, 1, "connection closed by the server; "
			    "reconnecting in %.0f s", c->backoff);
		else
			status(c, 1, "connection to %s lost: %s; "
			    "reconnecting in %.0f s", c->label, why,
			    c->backoff);
		conn_retry_later(c);
		return;
	}
	if (why == NULL)
		status(c, 1, "connection closed by the server");
	else
		status(c, 1, "connection to %s lost: %s", c->label, why);
	c->status = 1;
	ev_break(c->loop, EVBREAK_ALL);
}

/* Write what the socket takes; wait for it to be writable for the rest. */
void
out_flush(struct chatc *c)
{
	ssize_t	n;
	int	want;

	while (c->out.len > 0) {
		if (c->tls != NULL)
			n = ctls_write(c->tls, c->out.data, c->out.len, &want);
		else
			n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!ev_is_active(&c->wio)) {
					ev_io_set(&c->wio, c->fd, EV_WRITE);
					ev_io_start(c->loop, &c->wio);
				}
				stdin_update(c);
				return;
			}
			conn_lost(c, strerror(errno));
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	ev_io_stop(c->loop, &c->wio);
	if (c->shut_pending) {
		/* All is said: the server answers our EOF by closing. */
		c->shut_pending = 0;
		if (c->tls != NULL)
			ctls_shutdown(c->tls);
		shutdown(c->fd, SHUT_WR);
	}
	stdin_update(c);
}

/* The server has sent something, or closed. */
void
sock_read_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct chatc	*c = w->data;
	char		 data[65536];
	ssize_t		 n;
	int		 want;

	if (c->state == ST_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	/* Over TLS, read until OpenSSL has nothing left: records it has
	 * decoded already would wake no watcher. */
	do {
		if (c->tls != NULL)
			n = ctls_read(c->tls, data, sizeof data, &want);
		else
			n = read(c->fd, data, sizeof data);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			conn_lost(c, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_lost(c, NULL);
			return;
		}
		server_bytes(c, data, (size_t)n);
	} while (c->tls != NULL && c->state == ST_CONNECTED);
	screen_flush(c);
}

/* The socket is writable: a connect() finished, or output can go. */
void
sock_write_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->state == ST_CONNECTING)
		conn_check(c);
	else if (c->state == ST_HANDSHAKE)
		conn_handshake(c);
	else
		out_flush(c);
}

/* A connect() took too long, or the --reconnect delay is over. */
void
timer_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->state == ST_CONNECTING) {
		ev_io_stop(loop, &c->wio);
		close(c->fd);
		c->fd = -1;
		c->last_errno = ETIMEDOUT;
		c->ai = c->ai->ai_next;
		conn_next(c);
	} else if (c->state == ST_HANDSHAKE) {
		if (!c->ever_connected && !c->reconnect) {
			fprintf(stderr, "chatc: TLS handshake with %s failed: "
			    "no answer within %.0f s\n", c->label,
			    CHATC_CONNECT_TIMEOUT);
			c->status = 1;
			ev_break(loop, EVBREAK_ALL);
			return;
		}
		conn_lost(c, "TLS handshake timed out");
	} else if (c->state == ST_WAITING) {
		conn_start(c);
	}
}

/* The server did not close after we said goodbye: leave anyway. */
void
quit_timer_cb(struct ev_loop *loop, __unused ev_timer *w, __unused int revents)
{
	ev_break(loop, EVBREAK_ALL);
}
