/*
 * The in-memory transport: a connection without a socket.  What the peer
 * sent is read from a buffer, what chatd writes goes to another, and a
 * call may be held to a few bytes to make reads and writes short.  The
 * plugin test harness (luatest.c) connects its simulated users with it,
 * below client.c as TCP is; the WebSocket transport's unit test and fuzz
 * target put their layer over it.
 *
 * It has no descriptor (conn->fd == -1): transport.c watches nothing, and
 * memconn_feed()'s caller announces new input with conn_wake(), which
 * pending() confirms.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

static struct memconn *
memconn_of(struct conn *c)
{
	return (c->state);
}

/* ctx: the memconn, when a connection is set up by conn_open(). */
static int
memconn_conn_open(struct conn *c, void *ctx)
{
	if (ctx != NULL)
		c->state = ctx;
	return (0);
}

static ssize_t
memconn_read(struct conn *c, char *buf, size_t len)
{
	struct memconn	*m = memconn_of(c);
	size_t		 n = m->inavail - m->inoff;

	if (n == 0) {
		if (m->ineof && m->inavail == m->inlen) {
			m->eofread = 1;
			return (0);
		}
		errno = EAGAIN;
		return (-1);
	}
	if (n > len)
		n = len;
	memcpy(buf, m->in + m->inoff, n);
	m->inoff += n;
	return ((ssize_t)n);
}

static ssize_t
memconn_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct memconn	*m = memconn_of(c);
	size_t		 total = 0, k;
	int		 i;

	if (m->wblocked) {
		errno = EAGAIN;
		return (-1);
	}
	for (i = 0; i < n; i++) {
		k = iov[i].iov_len;
		if (m->wmax > 0 && k > m->wmax - total)
			k = m->wmax - total;
		if (m->outlen + k > m->outcap) {
			m->outcap = (m->outlen + k) * 2 + 64;
			m->out = xrealloc(m->out, m->outcap);
		}
		memcpy(m->out + m->outlen, iov[i].iov_base, k);
		m->outlen += k;
		total += k;
		if (m->wmax > 0 && total == m->wmax)
			break;
	}
	if (total == 0 && n > 0) {
		errno = EAGAIN;
		return (-1);
	}
	return ((ssize_t)total);
}

/* Input not read yet, or an end of input not yet reported. */
static int
memconn_pending(struct conn *c)
{
	struct memconn	*m = memconn_of(c);

	return (m->inoff < m->inavail ||
	    (m->ineof && m->inavail == m->inlen && !m->eofread));
}

static int
memconn_shutdown(struct conn *c)
{
	memconn_of(c)->shut = 1;
	return (1);
}

static void
memconn_close(struct conn *c)
{
	memconn_of(c)->closed = 1;
}

const struct transport memconn_transport = {
	.name = "memory",
	.open = memconn_conn_open,
	.read = memconn_read,
	.writev = memconn_writev,
	.pending = memconn_pending,
	.shutdown = memconn_shutdown,
	.close = memconn_close,
};

/* A connection over m with transport t (opened with ctx): -1 on error. */
int
memconn_open(struct conn *c, struct memconn *m, const struct transport *t,
    void *ctx)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->fd = -1;
	c->state = m;
	return (t->open != NULL ? t->open(c, ctx) : 0);
}

/*
 * The peer sends len more bytes (all readable at once), into a buffer m
 * owns; what was read already is dropped first.
 */
void
memconn_feed(struct memconn *m, const void *data, size_t len)
{
	size_t	keep = m->inlen - m->inoff;

	if (m->own == NULL) {		/* the first bytes: nothing to keep */
		m->owncap = len + 256;
		m->own = xmalloc(m->owncap);
	} else {
		memmove(m->own, m->own + m->inoff, keep);
		if (keep + len > m->owncap) {
			m->owncap = (keep + len) * 2;
			m->own = xrealloc(m->own, m->owncap);
		}
	}
	if (len > 0)
		memcpy(m->own + keep, data, len);
	m->in = m->own;
	m->inlen = m->inavail = keep + len;
	m->inoff = 0;
}

/* Free what m owns (not m). */
void
memconn_free(struct memconn *m)
{
	free(m->own);
	free(m->out);
	m->own = m->out = NULL;
}
