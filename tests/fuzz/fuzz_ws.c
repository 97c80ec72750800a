/*
 * fuzz_ws.c - libFuzzer target for the WebSocket path: the upgrade
 * request (the HTTP door's parser and the accept key) and then the
 * client's frames through the WebSocket transport, over an in-memory
 * transport that hands them over in pieces and reads them into buffers
 * whose sizes both come from the input.
 *
 * Input: a first byte of options (bit 0: the input is frames only, no
 * request; bits 1-7: the seed of the piece and buffer sizes), then the
 * bytes a peer sends.  Checked:
 *   - no read returns more than it was asked for, and none after the
 *     end of the input;
 *   - every complete line (a message) is valid UTF-8 holding no CR or
 *     LF: the room never sees a message wslay did not validate;
 *   - once the input ends nothing is pending, and what chatd sent is
 *     server frames only (unmasked, FIN set), a close last if any, with
 *     a code RFC 6455 lets an endpoint send;
 *   - lines then written come out as one text frame each.
 */

#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_OUT	65536

/*
 * Check the frames chatd wrote: each unmasked and final, a close last;
 * returns how many are text frames, and in *closed whether a close is.
 */
static size_t
check_output(const unsigned char *p, size_t len, int *closedp)
{
	size_t		 off = 0, n, texts = 0;
	unsigned int	 code;
	int		 closed = 0;

	while (off < len) {
		if (closed || off + 2 > len || !(p[off] & 0x80) ||
		    p[off + 1] & 0x80)
			abort();
		n = p[off + 1];
		off += 2;
		if (n == 126) {
			if (off + 2 > len)
				abort();
			n = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
		} else if (n == 127)
			abort();	/* no line this long here */
		if (off + n > len)
			abort();
		switch (p[off - 2 - (n > 125 ? 2 : 0)] & 0x0f) {
		case 0x1:
			texts++;
			break;
		case 0xA:			/* a pong */
			if (n > 125)
				abort();
			break;
		case 0x8:
			closed = 1;
			if (n == 1 || n > 125)
				abort();
			if (n >= 2) {
				code = (unsigned int)p[off] << 8 | p[off + 1];
				if (!(code == 1000 || code == 1001 ||
				    code == 1002 || code == 1003 ||
				    code == 1007 || code == 1009 ||
				    (code >= 3000 && code <= 4999) ||
				    code == 1008 || code == 1010 ||
				    code == 1011))
					abort();
			}
			break;
		default:
			abort();
		}
		off += n;
	}
	*closedp = closed;
	return (texts);
}

/* Check the complete lines read so far; returns the bytes of them. */
static size_t
check_lines(const char *buf, size_t len)
{
	const char	*nl, *p = buf;

	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		if (!text_utf8_valid(p, (size_t)(nl - p)) ||
		    memchr(p, '\r', (size_t)(nl - p)) != NULL)
			abort();
		p = nl + 1;
	}
	return ((size_t)(p - buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 in[FUZZ_OUT];
	struct http_request	*req = NULL;
	struct ws_upgrade	 up;
	struct memconn		 m;
	struct conn		 c;
	struct iovec		 iov[2];
	const char		*key;
	char			 accept[32], why[64];
	char			 l1[] = "* welcome\r\n", l2[] = "[a]: b\r\n";
	size_t			 used = 0, len = 0, done = 0, want, sent = 0;
	uint32_t		 seed;
	ssize_t			 n;
	int			 rc, frames_only, ended = 0, i, closed, closed2;
	size_t			 pre;

	if (size < 1)
		return (0);
	frames_only = data[0] & 1;
	seed = data[0] >> 1;
	data++;
	size--;
	if (!frames_only) {
		req = http_request_new(0);
		rc = http_request_feed(req, (const char *)data, size, &used);
		if (rc != HTTP_DONE) {
			http_request_free(req);
			return (0);
		}
		key = http_request_header(req, "Sec-WebSocket-Key");
		if (key != NULL && ws_accept_key(key, accept) == 0 &&
		    strlen(accept) != 28)
			abort();
		http_request_free(req);
	}

	memset(&m, 0, sizeof m);
	m.in = data + used;
	m.inlen = size - used;
	m.ineof = 1;
	memset(&up, 0, sizeof up);
	up.lower = &memconn_transport;
	up.response = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
	up.addr = "fuzz";
	if (memconn_open(&c, &m, &transport_ws, &up) != 0 ||
	    transport_ws.handshake(&c, why, sizeof why) != 1)
		abort();
	m.outlen = 0;

	/* Hand the input over in pieces, and read into short buffers. */
	for (i = 0; i < 100000 && !ended; i++) {
		seed = seed * 1103515245u + 12345u;
		if (m.inavail < m.inlen) {
			m.inavail += 1 + (seed >> 16) % 64;
			if (m.inavail > m.inlen)
				m.inavail = m.inlen;
		}
		want = 1 + (seed >> 8) % 200;
		if (want > sizeof in - len)
			want = sizeof in - len;
		if (want == 0) {		/* full: keep the last line */
			memmove(in, in + done, len - done);
			len -= done;
			done = 0;
			if (len == sizeof in)
				break;
			continue;
		}
		n = transport_ws.read(&c, in + len, want);
		if (n > (ssize_t)want)
			abort();
		if (n > 0) {
			len += (size_t)n;
			done = check_lines(in, len);
		} else if (n == 0 || errno != EAGAIN)
			ended = 1;
		else if (m.inavail == m.inlen && !transport_ws.pending(&c))
			break;		/* all read, waiting for more */
	}
	if (ended) {
		if (transport_ws.pending(&c) ||
		    transport_ws.read(&c, in, 16) > 0)
			abort();
	}

	/* Two lines out, then the close: after a close already sent the
	 * lines are dropped. */
	pre = check_output(m.out, m.outlen, &closed);
	if (pre != 0)
		abort();
	iov[0].iov_base = l1;
	iov[0].iov_len = sizeof l1 - 1;
	iov[1].iov_base = l2;
	iov[1].iov_len = sizeof l2 - 1;
	n = transport_ws.writev(&c, iov, 2);
	if (n > 0)
		sent = n == (ssize_t)(iov[0].iov_len + iov[1].iov_len) ? 2 : 1;
	for (i = 0; i < 4 && transport_ws.shutdown(&c) == 0; i++)
		;
	if (check_output(m.out, m.outlen, &closed2) != (closed ? 0 : sent) ||
	    !closed2)
		abort();
	transport_ws.close(&c);
	free(m.out);
	return (0);
}
