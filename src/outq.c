/*
 * Output: reference-counted buffers and per-client queues of them.
 *
 * A broadcast is formatted once into one buffer; every recipient's queue
 * holds a reference, never a copy, and only the oldest buffer of a queue
 * can be partly sent.  A queue is handed to its connection's transport in
 * runs of many buffers (one writev() each over TCP, coalesced into
 * records over TLS).
 */

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

/*
 * Make a buffer holding one protocol line: text with control characters
 * removed and invalid UTF-8 repaired, then CRLF.  Whatever a plugin passes,
 * what goes on the wire is exactly one clean line.
 */
struct buf *
buf_line(const char *text, size_t len)
{
	struct buf	*b;
	size_t		 i, n;

	for (i = 0; i < len; i++) {
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] >= 0x7f)
			break;
	}
	if (i == len) {		/* printable ASCII: the exact size */
		b = xmalloc(sizeof *b + len + 2);
		memcpy(b->data, text, len);
		n = len;
	} else {
		b = xmalloc(sizeof *b + TEXT_CLEAN_MAX(len) + 2);
		n = text_clean(text, len, b->data);
		b = xrealloc(b, sizeof *b + n + 2);
	}
	b->data[n++] = '\r';
	b->data[n++] = '\n';
	b->refs = 1;
	b->len = n;
	return (b);
}

/* Take another reference to a buffer. */
void
buf_ref(struct buf *b)
{
	b->refs++;
}

/* Drop a reference; the last one frees the buffer. */
void
buf_unref(struct buf *b)
{
	if (--b->refs == 0)
		free(b);
}

/*
 * The pool of spare chunks.  A broadcast to ten thousand clients takes a
 * chunk for each and the flush gives them all back, so after the first
 * turn the hot path allocates nothing.  The pool keeps at most
 * OUTQ_POOL_MAX chunks (1 MiB); a burst beyond that is returned to malloc.
 */
#define OUTQ_POOL_MAX	4096
static struct outq_chunk	*outq_pool;
static size_t			 outq_npool;

/* A chunk from the pool, or a new one. */
static struct outq_chunk *
outq_chunk_get(void)
{
	struct outq_chunk	*k;

	if ((k = outq_pool) != NULL) {
		outq_pool = k->next;
		outq_npool--;
	} else
		k = xmalloc(sizeof *k);
	k->next = NULL;
	return (k);
}

/* Give a chunk back to the pool. */
static void
outq_chunk_put(struct outq_chunk *k)
{
	if (outq_npool >= OUTQ_POOL_MAX) {
		free(k);
		return;
	}
	k->next = outq_pool;
	outq_pool = k;
	outq_npool++;
}

/*
 * Free the spare chunks: when the server goes quiet, and at exit so that
 * every byte is accounted for.
 */
void
outq_pool_free(void)
{
	struct outq_chunk	*k;

	while ((k = outq_pool) != NULL) {
		outq_pool = k->next;
		free(k);
	}
	outq_npool = 0;
}

/* Set up an empty queue. */
void
outq_init(struct outq *q)
{
	memset(q, 0, sizeof *q);
}

/* Drop the oldest buffer; its chunk goes back once it is used up. */
static void
outq_pop(struct outq *q)
{
	struct outq_chunk	*k = q->head;

	buf_unref(k->bufs[q->first++]);
	q->off = 0;
	q->count--;
	if (q->count == 0) {
		outq_chunk_put(k);
		q->head = q->tail = NULL;
		q->first = q->last = 0;
	} else if (q->first == OUTQ_CHUNK_BUFS) {
		q->head = k->next;
		q->first = 0;
		outq_chunk_put(k);
	}
}

/* Drop everything queued. */
void
outq_free(struct outq *q)
{
	while (q->count > 0)
		outq_pop(q);
	q->bytes = 0;
}

/*
 * Drop everything queued but the rest of a line already begun, so that
 * what the peer gets next ends where a line ends.
 */
void
outq_cut(struct outq *q)
{
	struct buf	*b, *rest = NULL;

	if (q->count > 0 && q->off > 0) {
		b = q->head->bufs[q->first];
		rest = xmalloc(sizeof *rest + b->len - q->off);
		rest->refs = 1;
		rest->len = b->len - q->off;
		memcpy(rest->data, b->data + q->off, rest->len);
	}
	outq_free(q);
	if (rest != NULL) {
		outq_push(q, rest);
		buf_unref(rest);
	}
}

/* Queue a buffer; the queue takes a reference of its own. */
void
outq_push(struct outq *q, struct buf *b)
{
	struct outq_chunk	*k;

	if (q->tail == NULL || q->last == OUTQ_CHUNK_BUFS) {
		k = outq_chunk_get();
		if (q->tail == NULL)
			q->head = k;
		else
			q->tail->next = k;
		q->tail = k;
		q->last = 0;
	}
	buf_ref(b);
	q->tail->bufs[q->last++] = b;
	q->count++;
	q->bytes += b->len;
}

/* Forget n written bytes from the front of the queue. */
static void
outq_consume(struct outq *q, size_t n)
{
	struct buf	*b;
	size_t		 left;

	q->bytes -= n;
	while (n > 0) {
		b = q->head->bufs[q->first];
		left = b->len - q->off;
		if (n < left) {
			q->off += n;
			return;
		}
		n -= left;
		outq_pop(q);
	}
}

/*
 * Write as much of the queue as the connection takes, up to CHATD_IOV_MAX
 * buffers per call of its transport.  Returns the bytes written (0 when
 * the connection is full) or -1 with errno set on an error that ends it.
 */
ssize_t
outq_flush(struct outq *q, struct conn *conn)
{
	struct iovec		 iov[CHATD_IOV_MAX];
	struct outq_chunk	*k;
	struct buf		*b;
	size_t			 i, n, j, want, total = 0;
	ssize_t			 w;

	while (q->count > 0) {
		n = q->count < CHATD_IOV_MAX ? q->count : CHATD_IOV_MAX;
		k = q->head;
		j = q->first;
		want = 0;
		for (i = 0; i < n; i++) {
			if (j == OUTQ_CHUNK_BUFS) {
				k = k->next;
				j = 0;
			}
			b = k->bufs[j++];
			iov[i].iov_base = b->data;
			iov[i].iov_len = b->len;
			want += b->len;
		}
		iov[0].iov_base = (char *)iov[0].iov_base + q->off;
		iov[0].iov_len -= q->off;
		want -= q->off;
		w = conn_writev(conn, iov, (int)n);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return (-1);
		}
		outq_consume(q, (size_t)w);
		total += (size_t)w;
		if ((size_t)w < want)
			break;		/* the kernel is full for now */
	}
	return ((ssize_t)total);
}

/* Append the bytes a queue has not written yet to b, in order. */
void
outq_copy(const struct outq *q, struct clbuf *b)
{
	const struct outq_chunk	*k = q->head;
	const struct buf	*buf;
	size_t			 i, j = q->first, off = q->off;

	for (i = 0; i < q->count; i++) {
		if (j == OUTQ_CHUNK_BUFS) {
			k = k->next;
			j = 0;
		}
		buf = k->bufs[j++];
		clbuf_append(b, buf->data + off, buf->len - off);
		off = 0;
	}
}
