/*
 * memconn.h - an in-memory transport for the tests of layered transports
 * (the WebSocket transport's unit test and fuzz target): the bytes a peer
 * sent are read from a buffer, what is written goes to another, and each
 * call may be held to a few bytes to make reads and writes short.
 */

#ifndef CHATD_MEMCONN_H
#define CHATD_MEMCONN_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

struct memconn {
	const unsigned char *in;	/* what the peer sent */
	size_t		 inlen;
	size_t		 inoff;
	size_t		 inavail;	/* of it, readable now */
	int		 ineof;		/* after inavail: the peer is done */
	unsigned char	*out;		/* what was written */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 wmax;		/* bytes per writev; 0: any */
	int		 wblocked;	/* writev says EAGAIN */
	int		 shut;		/* shutdown was called */
	int		 closed;
};

static struct memconn *memconn_of(struct conn *c)
{
	return (c->state);
}

static ssize_t
memconn_read(struct conn *c, char *buf, size_t len)
{
	struct memconn	*m = memconn_of(c);
	size_t		 n = m->inavail - m->inoff;

	if (n == 0) {
		if (m->ineof && m->inavail == m->inlen)
			return (0);
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
			m->out = realloc(m->out, m->outcap);
			if (m->out == NULL)
				abort();
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

static const struct transport memconn_transport = {
	.name = "memory",
	.read = memconn_read,
	.writev = memconn_writev,
	.shutdown = memconn_shutdown,
	.close = memconn_close,
};

/* A connection over m with transport t (opened with ctx): -1 on error. */
static int
memconn_open(struct conn *c, struct memconn *m, const struct transport *t,
    void *ctx)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->fd = -1;
	c->state = m;
	return (t->open != NULL ? t->open(c, ctx) : 0);
}

#endif /* CHATD_MEMCONN_H */
