/*
 * Output: reference-counted buffers and per-client queues of them.
 *
 * A broadcast is formatted once into one buffer; every recipient's queue
 * holds a reference and how much of it that recipient has been sent, never
 * a copy.  Queues are flushed with writev(), many buffers per system call.
 */

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define OUTQ_INITIAL	8

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

/* Set up an empty queue. */
void
outq_init(struct outq *q)
{
	memset(q, 0, sizeof *q);
}

/* Drop everything queued and free the queue. */
void
outq_free(struct outq *q)
{
	while (q->count > 0) {
		buf_unref(q->ents[q->head].buf);
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
	free(q->ents);
	outq_init(q);
}

/* Queue a buffer; the queue takes a reference of its own. */
void
outq_push(struct outq *q, struct buf *b)
{
	struct outq_ent	*ents;
	size_t		 cap, i;

	if (q->count == q->cap) {
		cap = q->cap == 0 ? OUTQ_INITIAL : q->cap * 2;
		ents = xmalloc(cap * sizeof *ents);
		for (i = 0; i < q->count; i++)
			ents[i] = q->ents[(q->head + i) % q->cap];
		free(q->ents);
		q->ents = ents;
		q->cap = cap;
		q->head = 0;
	}
	buf_ref(b);
	q->ents[(q->head + q->count) % q->cap] = (struct outq_ent){ b, 0 };
	q->count++;
	q->bytes += b->len;
}

/* Forget n written bytes from the front of the queue. */
static void
outq_consume(struct outq *q, size_t n)
{
	struct outq_ent	*e;
	size_t		 left;

	q->bytes -= n;
	while (n > 0) {
		e = &q->ents[q->head];
		left = e->buf->len - e->off;
		if (n < left) {
			e->off += n;
			return;
		}
		n -= left;
		buf_unref(e->buf);
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
}

/*
 * Write as much of the queue as the socket takes.  Returns the bytes
 * written (0 when the socket is full) or -1 with errno set on an error that
 * ends the connection.
 */
ssize_t
outq_flush(struct outq *q, int fd)
{
	struct iovec	 iov[CHATD_IOV_MAX];
	struct outq_ent	*e;
	size_t		 i, n, want, total = 0;
	ssize_t		 w;

	while (q->count > 0) {
		want = 0;
		n = q->count < CHATD_IOV_MAX ? q->count : CHATD_IOV_MAX;
		for (i = 0; i < n; i++) {
			e = &q->ents[(q->head + i) % q->cap];
			iov[i].iov_base = e->buf->data + e->off;
			iov[i].iov_len = e->buf->len - e->off;
			want += iov[i].iov_len;
		}
		w = writev(fd, iov, (int)n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
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
