/*
 * The plain TCP transport: the socket's own read(), writev() and
 * shutdown().  It keeps no state and has no handshake.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <unistd.h>

#include "chatd.h"

/* read(2), with EINTR as "nothing now". */
static ssize_t
sock_read(struct conn *conn, char *buf, size_t len)
{
	ssize_t	n;

	n = read(conn->fd, buf, len);
	if (n == -1 && errno == EINTR)
		errno = EAGAIN;
	return (n);
}

/* writev(2), with EINTR as "nothing now". */
static ssize_t
sock_writev(struct conn *conn, const struct iovec *iov, int n)
{
	ssize_t	w;

	w = writev(conn->fd, iov, n);
	if (w == -1 && errno == EINTR)
		errno = EAGAIN;
	return (w);
}

/* Send FIN; the peer's end stays open for reading. */
static int
sock_shutdown(struct conn *conn)
{
	return (shutdown(conn->fd, SHUT_WR) == 0 || errno == ENOTCONN ? 1 : -1);
}

/* Close the socket. */
static void
sock_close(struct conn *conn)
{
	close(conn->fd);
}

const struct transport transport_tcp = {
	.name = "tcp",
	.read = sock_read,
	.writev = sock_writev,
	.shutdown = sock_shutdown,
	.close = sock_close,
	.movable = 1,		/* all of it is in the socket */
};
