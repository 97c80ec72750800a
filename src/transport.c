/*
 * A connection between its owner and its transport: which socket events
 * to watch, the handshake, and input that waits inside a transport.
 *
 * The owner says what it wants (to read, to write); each transport call
 * says which socket event it is blocked on.  The watchers follow from the
 * two: a read that can only go on once a record is sent (TLS) is woken by
 * the write watcher.  Input a transport has decoded but not handed over
 * (SSL_has_pending) is announced by no socket event at all; such connections
 * wait on srv->buffered, which is read before the loop sleeps, and the
 * loop does not sleep while it holds any.
 */

#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>

#ifdef __linux__
#include <linux/sockios.h>
#endif

#include "chatd.h"

static void	conn_rio_cb(struct ev_loop *, ev_io *, int);
static void	conn_wio_cb(struct ev_loop *, ev_io *, int);

/* Nothing: an active idle watcher only keeps the loop from sleeping. */
static void
conn_idle_cb(__unused struct ev_loop *loop, __unused ev_idle *w,
    __unused int revents)
{
}

/* Set up the list of buffered connections; called once per server. */
void
conn_setup(struct server *srv)
{
	TAILQ_INIT(&srv->buffered);
	srv->nbuffered = 0;
	ev_idle_init(&srv->buffered_idle, conn_idle_cb);
}

/* Set up a connection on an accepted socket; nothing is watched yet. */
void
conn_init(struct conn *conn, struct server *srv, int fd,
    const struct transport *t, const struct conn_owner *owner)
{
	conn->t = t;
	conn->owner = owner;
	conn->state = NULL;
	conn->layer = NULL;
	conn->srv = srv;
	conn->peer = "a peer";		/* the owner names it */
	conn->fd = fd;
	conn->want = 0;
	conn->flags = t->handshake != NULL ? CONN_HANDSHAKE : 0;
	conn->rblock = EV_READ;
	conn->wblock = EV_WRITE;
	conn->blocked = 0;
	ev_io_init(&conn->rio, conn_rio_cb, fd, EV_READ);
	ev_io_init(&conn->wio, conn_wio_cb, fd, EV_WRITE);
}

/* Let the transport set up its state; 0, or -1 with errno set. */
int
conn_open(struct conn *conn, void *ctx)
{
	if (conn->t->open == NULL)
		return (0);
	return (conn->t->open(conn, ctx));
}

/* Start or stop one watcher. */
static void
conn_watch(struct ev_loop *loop, ev_io *w, int on)
{
	if (on)
		ev_io_start(loop, w);	/* no-ops when already so */
	else
		ev_io_stop(loop, w);
}

/* Watch the socket for what the handshake or the owner waits for. */
static void
conn_update(struct conn *conn)
{
	struct ev_loop	*loop = conn->srv->loop;
	unsigned	 need = 0;

	if (conn->fd < 0)
		return;		/* no socket: see conn_wake() */
	if (conn->flags & CONN_HANDSHAKE)
		need = conn->rblock;
	else {
		if (conn->want & CONN_READ)
			need |= conn->rblock;
		if (conn->want & CONN_WRITE)
			need |= conn->wblock;
	}
	conn_watch(loop, &conn->rio, need & EV_READ);
	conn_watch(loop, &conn->wio, need & EV_WRITE);
}

/* Take a connection off srv->buffered. */
static void
conn_unbuffer(struct conn *conn)
{
	struct server	*srv = conn->srv;

	if (!(conn->flags & CONN_BUFFERED))
		return;
	TAILQ_REMOVE(&srv->buffered, conn, buffered_entry);
	conn->flags &= ~CONN_BUFFERED;
	srv->nbuffered--;
}

/*
 * Put a connection on srv->buffered if its transport holds input and the
 * owner wants to read it; the idle watcher keeps the loop from sleeping
 * until it has been read.
 */
static void
conn_check_buffered(struct conn *conn)
{
	struct server	*srv = conn->srv;

	if (conn->t->pending == NULL || conn->flags & CONN_BUFFERED)
		return;
	if (!(conn->want & CONN_READ) || !conn->t->pending(conn))
		return;
	TAILQ_INSERT_TAIL(&srv->buffered, conn, buffered_entry);
	conn->flags |= CONN_BUFFERED;
	srv->nbuffered++;
	ev_idle_start(srv->loop, &srv->buffered_idle);
}

/*
 * A transport says that input waits inside it which no socket event will
 * announce (an in-memory peer wrote): it is read before the loop sleeps.
 */
void
conn_wake(struct conn *conn)
{
	conn_check_buffered(conn);
}

/*
 * Read what transports hold for the connections on srv->buffered, each
 * once: a connection that still holds input after its turn (its owner's
 * buffer was full) waits for the next loop turn, behind the others.
 */
void
conn_run_buffered(struct server *srv)
{
	struct conn	*conn;
	size_t		 n = srv->nbuffered;

	while (n-- > 0 && (conn = TAILQ_FIRST(&srv->buffered)) != NULL) {
		conn_unbuffer(conn);
		if (conn->want & CONN_READ)
			conn->owner->readable(conn);
	}
	if (srv->nbuffered == 0)
		ev_idle_stop(srv->loop, &srv->buffered_idle);
}

/*
 * One step of the handshake; calls the owner once it ends either way.  A
 * failure is logged here, once, whoever owns the connection.
 */
static void
conn_handshake(struct conn *conn)
{
	char	why[256];
	int	r;

	why[0] = '\0';
	conn->blocked = EV_READ;
	r = conn->t->handshake(conn, why, sizeof why);
	if (r == 0) {
		conn->rblock = conn->blocked;
		conn_update(conn);
		return;
	}
	conn->flags &= ~CONN_HANDSHAKE;
	conn->rblock = EV_READ;
	if (r < 0)
		conn->want = 0;
	conn_update(conn);
	if (r < 0) {
		log_info("%s handshake with %s failed: %s", conn->t->name,
		    conn->peer, why[0] != '\0' ? why : "handshake failed");
		conn->owner->failed(conn);
		return;
	}
	conn->owner->ready(conn);
}

/*
 * The owner gave up on the handshake after secs (its timer ran out): it
 * is logged once, as a failed handshake is, and the transport may count
 * it, before the owner closes the connection.
 */
void
conn_expired(struct conn *conn, double secs)
{
	log_info("%s handshake with %s failed: not done within %.0f s",
	    conn->t->name, conn->peer, secs);
	if (conn->t->expired != NULL)
		conn->t->expired(conn);
}

/*
 * Begin: run the handshake, if the transport has one, and call the
 * owner's ready (or failed) when it is over; at once without one.
 */
void
conn_start(struct conn *conn)
{
	if (conn->flags & CONN_HANDSHAKE)
		conn_handshake(conn);
	else
		conn->owner->ready(conn);
}

/* The owner wants (on) or no longer wants to read or write (what). */
void
conn_want(struct conn *conn, unsigned what, int on)
{
	if (on)
		conn->want |= what;
	else
		conn->want &= ~what;
	if (conn->flags & CONN_HANDSHAKE)
		return;		/* the handshake watches for itself */
	conn_update(conn);
	if (what & CONN_READ) {
		if (on)
			conn_check_buffered(conn);
		else
			conn_unbuffer(conn);
	}
}

/*
 * After a transport call: remember the event a blocked direction waits
 * for (block, one of rblock and wblock), or the usual one again (usual)
 * if the call went through; rewatch if that changed.
 */
static void
conn_blocked(struct conn *conn, unsigned char *block, unsigned char usual,
    int waits)
{
	unsigned char	 ev = waits ? conn->blocked : usual;
	int		 saved;

	if (*block == ev)
		return;
	*block = ev;
	saved = errno;
	conn_update(conn);
	errno = saved;
}

/* Read through the transport; see struct transport for what it returns. */
ssize_t
conn_read(struct conn *conn, char *buf, size_t len)
{
	ssize_t	n;

	conn->blocked = EV_READ;
	n = conn->t->read(conn, buf, len);
	conn_blocked(conn, &conn->rblock, EV_READ, n == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK));
	if (n > 0)
		conn_check_buffered(conn);
	return (n);
}

/* Write a run of buffers through the transport; see struct transport. */
ssize_t
conn_writev(struct conn *conn, const struct iovec *iov, int n)
{
	ssize_t	w;

	conn->blocked = EV_WRITE;
	w = conn->t->writev(conn, iov, n);
	conn_blocked(conn, &conn->wblock, EV_WRITE, w == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK));
	return (w);
}

/* End the output direction in order: 1 done, 0 not yet, -1 failed. */
int
conn_shutdown(struct conn *conn)
{
	int	r;

	conn->blocked = EV_WRITE;
	r = conn->t->shutdown(conn);
	conn_blocked(conn, &conn->wblock, EV_WRITE, r == 0);
	return (r);
}

/*
 * Let another connection carry on with this one's socket and transport
 * state (a WebSocket upgrade takes the HTTP door's TLS session): nothing
 * is watched any more, and this connection has neither to close.  Returns
 * the transport's state; the socket stays open.
 */
void *
conn_detach(struct conn *conn)
{
	struct ev_loop	*loop = conn->srv->loop;
	void		*state = conn->state;

	ev_io_stop(loop, &conn->rio);
	ev_io_stop(loop, &conn->wio);
	conn_unbuffer(conn);
	conn->want = 0;
	conn->state = NULL;
	conn->fd = -1;
	return (state);
}

/* Stop watching, and let the transport free its state and the socket. */
void
conn_close(struct conn *conn)
{
	struct ev_loop	*loop = conn->srv->loop;

	ev_io_stop(loop, &conn->rio);	/* no-ops when not started */
	ev_io_stop(loop, &conn->wio);
	conn_unbuffer(conn);
	conn->want = 0;
	conn->t->close(conn);
	conn->fd = -1;
}

/*
 * Bytes the kernel holds for this socket that it has not sent yet (not
 * counting those sent and waiting for an acknowledgement), or 0 where the
 * system cannot tell.
 */
size_t
conn_unsent(const struct conn *conn)
{
#ifdef SIOCOUTQNSD
	int	n = 0;	/* valgrind knows no SIOCOUTQNSD: it writes n unseen */

	if (ioctl(conn->fd, SIOCOUTQNSD, &n) == 0 && n > 0)
		return ((size_t)n);
#else
	(void)conn;
#endif
	return (0);
}

/*
 * Close with a reset: the kernel frees the socket and whatever it still
 * holds for the peer at once.  A plain close() of a socket whose peer does
 * not read leaves it orphaned with its full send buffer for minutes, memory
 * that no limit of chatd's counts while the peer reconnects at once.
 */
void
conn_abort(struct conn *conn)
{
	struct linger	lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	conn_close(conn);
}

/* The socket is readable: the handshake or a direction waiting for it. */
static void
conn_rio_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct conn	*conn = container_of(w, struct conn, rio);

	if (conn->flags & CONN_HANDSHAKE)
		conn_handshake(conn);
	else if (conn->want & CONN_WRITE && conn->wblock == EV_READ)
		conn->owner->writable(conn);
	else if (conn->want & CONN_READ)
		conn->owner->readable(conn);
}

/* The socket is writable: the handshake or a direction waiting for it. */
static void
conn_wio_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct conn	*conn = container_of(w, struct conn, wio);

	if (conn->flags & CONN_HANDSHAKE)
		conn_handshake(conn);
	else if (conn->want & CONN_READ && conn->rblock == EV_WRITE)
		conn->owner->readable(conn);
	else if (conn->want & CONN_WRITE)
		conn->owner->writable(conn);
}
