/*
 * test_wsframe.c - the WebSocket transport over an in-memory one: the
 * accept key, server frame headers, the 101 response as the handshake,
 * client messages (whole, fragmented, with control frames between the
 * fragments, read into buffers of one byte and up), lines written as
 * frames (also when the transport below takes a few bytes at a time),
 * the close handshake, and the protocol errors with their close codes.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE "HTTP/1.1 101 Switching Protocols\r\n\r\n"

static unsigned char wire[65536];	/* what the client sends */
static size_t wirelen;

/* Append a masked client frame. */
static void
frame(int fin, int opcode, const char *payload, size_t len)
{
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t	i;

	wire[wirelen++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len <= 125)
		wire[wirelen++] = (unsigned char)(0x80 | len);
	else {
		wire[wirelen++] = 0x80 | 126;
		wire[wirelen++] = (unsigned char)(len >> 8);
		wire[wirelen++] = (unsigned char)len;
	}
	memcpy(wire + wirelen, key, 4);
	wirelen += 4;
	for (i = 0; i < len; i++)
		wire[wirelen++] = (unsigned char)payload[i] ^ key[i % 4];
}

static void
text(int fin, int opcode, const char *s)
{
	frame(fin, opcode, s, strlen(s));
}

/* Open a WebSocket connection over m, the handshake done. */
static void
open_ws(struct conn *c, struct memconn *m, const char *rest, size_t restlen)
{
	struct ws_upgrade	up;
	char			why[128];

	memset(m, 0, sizeof *m);
	m->in = wire;
	m->inlen = m->inavail = wirelen;
	memset(&up, 0, sizeof up);
	up.lower = &memconn_transport;
	up.response = RESPONSE;
	up.rest = rest;
	up.restlen = restlen;
	up.addr = "test";
	if (memconn_open(c, m, &transport_ws, &up) != 0 ||
	    transport_ws.handshake(c, why, sizeof why) != 1)
		abort();
	m->outlen = 0;		/* forget the response */
}

/* Read everything into out with reads of at most step bytes; returns
 * the last read's result (0 at the end, -1 for EAGAIN). */
static ssize_t
read_all(struct conn *c, char *out, size_t cap, size_t step, size_t *len)
{
	ssize_t	n;

	*len = 0;
	for (;;) {
		if (*len + step > cap)
			step = cap - *len;
		n = transport_ws.read(c, out + *len, step);
		if (n <= 0)
			return (n);
		*len += (size_t)n;
	}
}

static void
test_accept_key(void)
{
	char	out[32];

	ok(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out) == 0,
	    "the key of RFC 6455's example");
	is_str(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "its accept value");
	ok(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out) == -1, "23 chars");
	ok(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!=", out) == -1, "not base64");
	ok(ws_accept_key("dGhlIHNhbXBsZSBub25jZ===", out) == -1,
	    "padding inside");
	ok(ws_accept_key("", out) == -1, "empty");
}

static void
test_frame_head(void)
{
	unsigned char	h[10];

	is_int(ws_frame_head(h, 0), 2, "empty: 2 bytes");
	ok(h[0] == 0x81 && h[1] == 0, "FIN, text, no mask");
	is_int(ws_frame_head(h, 125), 2, "125: 2 bytes");
	is_int(ws_frame_head(h, 126), 4, "126: 4 bytes");
	ok(h[1] == 126 && h[2] == 0 && h[3] == 126, "16-bit length");
	is_int(ws_frame_head(h, 65536), 10, "65536: 10 bytes");
	ok(h[1] == 127 && h[7] == 1 && h[9] == 0, "64-bit length");
}

static void
test_handshake(void)
{
	struct ws_upgrade	up;
	struct memconn		m;
	struct conn		c;
	char			why[64];
	int			r;

	memset(&m, 0, sizeof m);
	m.wmax = 5;
	memset(&up, 0, sizeof up);
	up.lower = &memconn_transport;
	up.response = RESPONSE;
	up.addr = "test";
	memconn_open(&c, &m, &transport_ws, &up);
	m.wblocked = 1;
	is_int(transport_ws.handshake(&c, why, sizeof why), 0,
	    "the handshake waits while the response cannot be written");
	ok(c.blocked == EV_WRITE, "for writing");
	m.wblocked = 0;
	r = transport_ws.handshake(&c, why, sizeof why);
	is_int(r, 1, "then it ends, in writes of 5 bytes");
	is_mem(m.out, m.outlen, RESPONSE, strlen(RESPONSE), "the response");
	transport_ws.close(&c);
	ok(m.closed, "close closes the lower transport");
	free(m.out);
}

static void
test_messages(void)
{
	struct memconn	m;
	struct conn	c;
	char		out[4096];
	const char	want[] = "hello\none message\ngr\xc3\xbc\xc3\x9f"
			    "e\nblank  lines\n\n";
	size_t		len, step;
	ssize_t		r;

	for (step = 1; step <= 64; step = step * 2 + 1) {
		wirelen = 0;
		text(1, 1, "hello");
		text(0, 1, "one ");
		text(1, 9, "ping!");		/* inside the fragments */
		text(0, 0, "mess");
		text(1, 10, "unasked pong");
		text(1, 0, "age");
		text(0, 1, "gr\xc3");		/* UTF-8 split */
		text(1, 0, "\xbc\xc3\x9f" "e");
		text(1, 1, "blank\r\nlines");
		text(1, 1, "");
		open_ws(&c, &m, NULL, 0);
		r = read_all(&c, out, sizeof out, step, &len);
		is_int(r, -1, "reads of %zu: then nothing for now", step);
		is_mem(out, len, want, sizeof want - 1, "reads of %zu: the "
		    "messages as lines", step);
		ok(m.outlen == 7 && m.out[0] == 0x8a && m.out[1] == 5 &&
		    memcmp(m.out + 2, "ping!", 5) == 0, "reads of %zu: the "
		    "ping answered", step);
		transport_ws.close(&c);
		free(m.out);
	}

	/* The first frame came with the request. */
	wirelen = 0;
	text(1, 1, "early");
	memcpy(out, wire, wirelen);
	len = wirelen;
	wirelen = 0;
	text(1, 1, "later");
	open_ws(&c, &m, out, len);
	ok(transport_ws.pending(&c), "the bytes of the request are pending");
	r = read_all(&c, out, sizeof out, 100, &len);
	is_mem(out, len, "early\nlater\n", 12, "read first, then the rest");
	transport_ws.close(&c);
	free(m.out);
}

/* What the server sent after a bad frame: its close code, or -1. */
static int
close_code(const struct memconn *m)
{
	size_t	i;

	for (i = 0; i + 1 < m->outlen; i += 2 + m->out[i + 1]) {
		if (m->out[i] == 0x88)
			return (m->out[i + 1] >= 2 ?
			    m->out[i + 2] << 8 | m->out[i + 3] : 0);
	}
	return (-1);
}

static void
bad(const char *what, int want)
{
	struct memconn	m;
	struct conn	c;
	char		out[256];
	size_t		len;
	ssize_t		r;

	open_ws(&c, &m, NULL, 0);
	r = read_all(&c, out, sizeof out, sizeof out, &len);
	is_int(r, 0, "%s: the input ends", what);
	ok(memchr(out, '\n', len) == NULL, "%s: no line", what);
	is_int(close_code(&m), want, "%s: closed with %d", what, want);
	ok(transport_ws.pending(&c) == 0, "%s: nothing pending after", what);
	transport_ws.close(&c);
	free(m.out);
}

static void
test_errors(void)
{
	wirelen = 0;
	wire[wirelen++] = 0x81;		/* unmasked */
	wire[wirelen++] = 2;
	wire[wirelen++] = 'h';
	wire[wirelen++] = 'i';
	bad("unmasked", 1002);
	wirelen = 0;
	frame(1, 1 | 0x40, "x", 1);		/* RSV1 */
	bad("reserved bit", 1002);
	wirelen = 0;
	frame(1, 2, "\x01", 1);
	bad("binary", 1003);
	wirelen = 0;
	text(1, 1, "caf\xc3");
	bad("invalid UTF-8", 1007);
	wirelen = 0;
	text(0, 1, "split ");
	text(1, 0, "\xff");
	bad("invalid UTF-8 in a fragment", 1007);
	wirelen = 0;
	text(1, 0, "orphan");
	bad("continuation of nothing", 1002);
	wirelen = 0;
	text(0, 9, "x");
	bad("fragmented ping", 1002);
	wirelen = 0;
	frame(1, 8, "\x03", 1);
	bad("one-byte close", 1002);
	wirelen = 0;
	frame(1, 8, "\x03\xe8", 2);
	bad("close 1000", 1000);
}

static void
test_writev(void)
{
	struct memconn	m;
	struct conn	c;
	struct iovec	iov[3];
	const unsigned char want[] = { 0x81, 1, 'a', 0x81, 2, 'b', 'c',
			    0x81, 0 };
	ssize_t		w;
	size_t		i;
	char		big[300], l1[] = "a\r\n", l2[] = "bc\r\n", l3[] = "\r\n";

	wirelen = 0;
	open_ws(&c, &m, NULL, 0);
	iov[0].iov_base = l1;
	iov[0].iov_len = 3;
	iov[1].iov_base = l2;
	iov[1].iov_len = 4;
	iov[2].iov_base = l3;
	iov[2].iov_len = 2;
	w = transport_ws.writev(&c, iov, 3);
	is_int(w, 9, "three lines taken");
	is_mem(m.out, m.outlen, want, sizeof want, "as three frames");

	/* Three bytes at a time: lines are taken whole, the rest of a cut
	 * frame goes out first on the next call. */
	m.outlen = 0;
	m.wmax = 3;
	is_int(transport_ws.writev(&c, iov, 3), 3, "3 bytes: the first frame");
	is_int(transport_ws.writev(&c, iov + 1, 2), 4,
	    "3 bytes of the second: its line taken whole");
	m.wblocked = 1;
	ok(transport_ws.writev(&c, iov + 2, 1) == -1 && errno == EAGAIN,
	    "blocked: EAGAIN");
	m.wblocked = 0;
	is_int(transport_ws.writev(&c, iov + 2, 1), 2,
	    "the cut frame's tail, then the third");
	for (i = 0; i < 10 && transport_ws.shutdown(&c) == 0; i++)
		;
	ok(m.outlen >= sizeof want + 4 &&
	    memcmp(m.out, want, sizeof want) == 0, "the frames in order");
	ok(m.out[sizeof want] == 0x88 && m.out[sizeof want + 1] == 2 &&
	    m.out[sizeof want + 2] == 0x03 && m.out[sizeof want + 3] == 0xe8,
	    "then the close, 1000");
	ok(m.shut, "then the lower shutdown");
	transport_ws.close(&c);
	free(m.out);

	memset(big, 'x', sizeof big);
	wirelen = 0;
	open_ws(&c, &m, NULL, 0);
	iov[0].iov_base = big;
	iov[0].iov_len = sizeof big;
	is_int(transport_ws.writev(&c, iov, 1), sizeof big, "a long line");
	ok(m.outlen == sizeof big + 4 && m.out[1] == 126 && m.out[2] == 1 &&
	    m.out[3] == 44, "with a 16-bit length");
	transport_ws.close(&c);
	free(m.out);
}

int
main(void)
{
	test_accept_key();
	test_frame_head();
	test_handshake();
	test_messages();
	test_errors();
	test_writev();
	return (done_testing());
}
