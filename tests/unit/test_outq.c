/*
 * test_outq.c - output queues: order, partial writes, chunk boundaries,
 * references, and that an empty queue holds no memory.
 *
 * Buffers are queued to one end of a socket pair whose send buffer is
 * small, so writev() takes only part of the queue, often stopping inside
 * a buffer; the other end is read between flushes and must receive
 * exactly the bytes queued, in order.  The queue goes through the plain
 * TCP transport, as a client's does.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct server	srv;	/* only its loop is used */

/* A connection over the plain transport on fd. */
static void
open_conn(struct conn *conn, int fd)
{
	if (srv.loop == NULL)
		srv.loop = ev_default_loop(0);
	conn_init(conn, &srv, fd, &transport_tcp, NULL);
}

/* Read what is waiting on fd into out at *got. */
static void
drain(int fd, char *out, size_t cap, size_t *got)
{
	ssize_t	n;

	while (*got < cap && (n = read(fd, out + *got, cap - *got)) > 0)
		*got += (size_t)n;
}

/* Queue count buffers of varying sizes; flush through a small socket. */
static void
test_stream(size_t count)
{
	struct outq	 q;
	struct conn	 conn;
	struct buf	*b;
	char		*want, *got, text[300];
	size_t		 wantlen = 0, gotlen = 0, i, len, queued = 0, flushes = 0;
	int		 sv[2], small = 4096, broken = 0;
	ssize_t		 w;

	if (!ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair"))
		return;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	open_conn(&conn, sv[0]);
	want = malloc(count * 300);
	got = malloc(count * 300);
	outq_init(&q);
	for (i = 0; i < count; i++) {
		len = 1 + (i * 37) % 250;
		memset(text, 'a' + (int)(i % 26), len);
		snprintf(text, len, "%zu", i);	/* a NUL inside: fine */
		b = buf_line(text, len);
		memcpy(want + wantlen, b->data, b->len);
		wantlen += b->len;
		outq_push(&q, b);
		buf_unref(b);
		queued++;
		if (q.count != queued)
			broken = 1;
		if (i % 97 == 96) {	/* flush now and then, mid-stream */
			if ((w = outq_flush(&q, &conn)) < 0)
				broken = 1;
			flushes++;
			drain(sv[1], got, count * 300, &gotlen);
			queued = q.count;
		}
	}
	ok(!broken, "%zu buffers: counts right while queueing", count);
	while (q.count > 0 && flushes < 100000) {
		if (outq_flush(&q, &conn) < 0)
			break;
		flushes++;
		drain(sv[1], got, count * 300, &gotlen);
	}
	drain(sv[1], got, count * 300, &gotlen);
	is_int(q.count, 0, "%zu buffers: all written", count);
	is_int(q.bytes, 0, "%zu buffers: no bytes left", count);
	ok(q.head == NULL && q.tail == NULL,
	    "%zu buffers: an empty queue holds no chunk", count);
	is_mem(got, gotlen, want, wantlen, "%zu buffers: the bytes, in order",
	    count);
	outq_free(&q);
	close(sv[0]);
	close(sv[1]);
	free(want);
	free(got);
}

/* References: queues share one buffer; outq_free drops theirs. */
static void
test_refs(void)
{
	struct outq	 q1, q2;
	struct buf	*b;
	int		 i;

	outq_init(&q1);
	outq_init(&q2);
	b = buf_line("hello", 5);
	for (i = 0; i < 3 * OUTQ_CHUNK_BUFS + 1; i++) {
		outq_push(&q1, b);
		outq_push(&q2, b);
	}
	is_int(b->refs, 1 + 2 * (3 * OUTQ_CHUNK_BUFS + 1),
	    "one reference per queued entry");
	is_int(q1.bytes, (3 * OUTQ_CHUNK_BUFS + 1) * 7, "bytes counted");
	outq_free(&q1);
	is_int(b->refs, 1 + 3 * OUTQ_CHUNK_BUFS + 1,
	    "outq_free drops the queue's references");
	ok(q1.head == NULL && q1.count == 0 && q1.bytes == 0,
	    "a freed queue is empty");
	outq_push(&q1, b);		/* usable again */
	is_int(q1.count, 1, "a freed queue takes buffers again");
	outq_free(&q1);
	outq_free(&q2);
	is_int(b->refs, 1, "every reference given back");
	buf_unref(b);
}

/* A write error is reported; what is queued stays for outq_free. */
static void
test_error(void)
{
	struct outq	 q;
	struct conn	 conn;
	struct buf	*b;
	int		 sv[2];

	if (!ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair"))
		return;
	close(sv[1]);
	open_conn(&conn, sv[0]);
	outq_init(&q);
	b = buf_line("x", 1);
	outq_push(&q, b);
	buf_unref(b);
	signal(SIGPIPE, SIG_IGN);
	is_int(outq_flush(&q, &conn), -1, "a dead socket: -1");
	is_int(errno, EPIPE, "errno EPIPE");
	is_int(q.count, 1, "nothing consumed");
	outq_free(&q);
	close(sv[0]);
}

/* outq_cut keeps the rest of a begun line only, and nothing if none. */
static void
test_cut(void)
{
	struct outq	 q;
	struct buf	*a = buf_line("hello", 5), *b = buf_line("world", 5);

	outq_init(&q);
	outq_push(&q, a);
	outq_push(&q, b);
	q.off = 2;		/* "he" written */
	q.bytes -= 2;
	outq_cut(&q);
	is_int(q.count, 1, "cut: one buffer left");
	is_int((long long)q.bytes, 5, "cut: the rest of the line, llo CR LF");
	ok(q.off == 0 && memcmp(q.head->bufs[q.first]->data, "llo\r\n", 5) ==
	    0, "cut: the rest as a buffer of its own");
	is_int(a->refs, 1, "cut: the shared buffer let go");
	outq_free(&q);
	outq_push(&q, a);
	outq_cut(&q);
	is_int(q.count, 0, "cut: nothing begun, nothing kept");
	buf_unref(a);
	buf_unref(b);
}

int
main(void)
{
	test_cut();
	test_stream(1);
	test_stream(OUTQ_CHUNK_BUFS);
	test_stream(OUTQ_CHUNK_BUFS + 1);
	test_stream(CHATD_IOV_MAX + 3);
	test_stream(5000);
	test_refs();
	test_error();
	outq_pool_free();
	return (done_testing());
}
