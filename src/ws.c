/*
 * The WebSocket transport (RFC 6455): chat lines as text messages, one
 * message one line each way, over another transport (plain TCP; TLS for
 * wss://).  The HTTP upgrade has been answered by web.c before a
 * connection gets here; this file writes that answer and then frames.
 * Over TLS the HTTP door has run the TLS handshake (the request comes
 * inside it), and the session comes here with the socket.
 *
 * Input is framed by wslay: unmasking, fragments, control frames inside
 * fragments, reserved bits, UTF-8 across fragments, ping and pong, and the
 * close handshake.  wslay runs without buffering messages: each chunk of a
 * text message goes straight into the caller's buffer (the client's line
 * buffer), and the end of the message becomes "\n", so max_line and the
 * line rules are the client's, exactly as on TCP.  A CR or LF inside a
 * message is taken as a blank: one message stays one line.  A binary
 * message is refused (close 1003).
 *
 * A wslay context holds about 8 KiB of buffers.  An idle connection must
 * not hold them, so the context is made when input arrives and freed
 * again as soon as wslay stands between frames with nothing to send: the
 * sizes wslay reports for each frame tell how many of the bytes it was
 * given it has finished with.
 *
 * Output frames are written here, not by wslay: a server frame is two or
 * four bytes of header before the line (no mask), written with the line
 * in one writev, which needs no context.  Short lines are copied with
 * their headers into one run; long ones stay in the broadcast's shared
 * buffer.  wslay's own output (pong,
 * close) and these frames never interleave: a frame is begun only when
 * wslay has nothing left to send, and wslay is run only when no frame is
 * half written.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "chatd.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_HEAD_MAX	10	/* bytes of a frame header, no mask */
/* A frame longer than this is closed with 1009; a message longer than
 * max_line but within it gets the usual "line too long", as on TCP. */
#define WS_FRAME_MAX	(16 * 1024 * 1024)
/* Lines up to WS_STAGE_LINE bytes are framed by copying into a buffer of
 * WS_STAGE bytes per write: a header iovec per line costs the kernel more
 * than copying a short line; longer lines are written from where they
 * are. */
#define WS_STAGE	16384
#define WS_STAGE_LINE	512

struct ws {
	const struct transport *lower;
	struct wslay_event_context *ctx;	/* NULL while idle */
	struct conn	*conn;
	char		*hs;		/* the 101 response, until written */
	size_t		 hslen;
	size_t		 hsoff;
	char		*rest;		/* input read with the request */
	size_t		 restlen;
	size_t		 restoff;
	char		*pend;		/* a frame's unwritten tail */
	size_t		 pendlen;
	size_t		 pendoff;

	char		*out;		/* during ws_read: the caller's */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 budget;	/* bytes recv may still read */
	uint64_t	 fed;		/* bytes given to this context */
	uint64_t	 done;		/* ... in frames it has finished */
	uint64_t	 framelen;	/* of the frame being received */
	int		 err;		/* errno of a failed lower call */

	unsigned short	 flags;
#define WS_EOF		0x01	/* no more input: tell the caller */
#define WS_FAILED	0x02	/* the lower transport failed: err */
#define WS_CTRL		0x04	/* the frame being received is control */
#define WS_TEXT		0x08	/* inside a text message */
#define WS_OWED_NL	0x10	/* a message's "\n" did not fit */
#define WS_SHUTDOWN	0x20	/* we began the close */
#define WS_LOGGED	0x40	/* the close was logged */
#define WS_FIN		0x100	/* the text frame being received ends it */
#define WS_EOF_TOLD	0x200	/* ws_read has returned the EOF */
	char		 addr[CHATD_ADDR_MAX];
};

static ssize_t	ws_recv_cb(wslay_event_context_ptr, uint8_t *, size_t, int,
		    void *);
static ssize_t	ws_send_cb(wslay_event_context_ptr, const uint8_t *, size_t,
		    int, void *);
static void	ws_frame_start_cb(wslay_event_context_ptr,
		    const struct wslay_event_on_frame_recv_start_arg *,
		    void *);
static void	ws_frame_chunk_cb(wslay_event_context_ptr,
		    const struct wslay_event_on_frame_recv_chunk_arg *,
		    void *);
static void	ws_frame_end_cb(wslay_event_context_ptr, void *);

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_frame_recv_start_callback = ws_frame_start_cb,
	.on_frame_recv_chunk_callback = ws_frame_chunk_cb,
	.on_frame_recv_end_callback = ws_frame_end_cb,
};

/*
 * The Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455, 4.2.2):
 * base64(SHA-1(key GUID)), 28 characters and a NUL into out.  Returns -1
 * if key is not the base64 of 16 bytes, as a client must send.
 */
int
ws_accept_key(const char *key, char *out)
{
	unsigned char	 raw[20], md[EVP_MAX_MD_SIZE];
	char		 buf[64];
	unsigned int	 mdlen;
	size_t		 i;

	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return (-1);
	for (i = 0; i < 22; i++) {
		if (!((key[i] >= 'A' && key[i] <= 'Z') ||
		    (key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= '0' && key[i] <= '9') || key[i] == '+' ||
		    key[i] == '/'))
			return (-1);
	}
	if (EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
		return (-1);	/* 16 bytes and the two of the padding */
	snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	if (EVP_Digest(buf, strlen(buf), md, &mdlen, EVP_sha1(), NULL) != 1)
		return (-1);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	return (0);
}

/* Set up a connection that has been upgraded: ctx is a ws_upgrade. */
static int
ws_open(struct conn *conn, void *arg)
{
	const struct ws_upgrade	*up = arg;
	struct ws		*ws;

	ws = xcalloc(1, sizeof *ws);
	ws->lower = up->lower;
	ws->conn = conn;
	conn->layer = ws;
	/* The lower connection is open and past its handshake: the HTTP
	 * door ran them before it could read the request. */
	if (up->lower_state != NULL)
		conn->state = up->lower_state;
	ws->hslen = strlen(up->response);
	ws->hs = xstrdup(up->response);
	if (up->restlen > 0) {
		ws->rest = xmalloc(up->restlen);
		memcpy(ws->rest, up->rest, up->restlen);
		ws->restlen = up->restlen;
	}
	snprintf(ws->addr, sizeof ws->addr, "%s", up->addr);
	return (0);
}

/* Write the 101 response: 1 done, 0 not yet, -1 failed. */
static int
ws_handshake(struct conn *conn, char *why, size_t len)
{
	struct ws	*ws = conn->layer;
	struct iovec	 iov;
	ssize_t		 w;

	while (ws->hsoff < ws->hslen) {
		iov.iov_base = ws->hs + ws->hsoff;
		iov.iov_len = ws->hslen - ws->hsoff;
		conn->blocked = EV_WRITE;
		w = ws->lower->writev(conn, &iov, 1);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (w <= 0) {
			snprintf(why, len, "writing the 101 response: %s",
			    w == 0 ? "nothing written" : strerror(errno));
			return (-1);
		}
		ws->hsoff += (size_t)w;
	}
	free(ws->hs);
	ws->hs = NULL;
	return (1);
}

/* A context for the input that has come; -1 if none can be made. */
static int
ws_context(struct ws *ws)
{
	if (ws->ctx != NULL)
		return (0);
	if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks,
	    ws) != 0) {
		ws->ctx = NULL;
		return (-1);
	}
	wslay_event_config_set_no_buffering(ws->ctx, 1);
	wslay_event_config_set_allowed_rsv_bits(ws->ctx, WSLAY_RSV_NONE);
	wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_FRAME_MAX);
	ws->fed = ws->done = 0;
	return (0);
}

/*
 * Free the context if it holds nothing: every byte it was given is in a
 * finished frame, no message is open, nothing waits to be sent, and the
 * close has not begun (the flags of a closing connection live there).
 */
static void
ws_context_idle(struct ws *ws)
{
	if (ws->ctx == NULL || ws->fed != ws->done || ws->framelen != 0 ||
	    ws->flags & WS_TEXT || wslay_event_want_write(ws->ctx) ||
	    !wslay_event_get_read_enabled(ws->ctx) ||
	    !wslay_event_get_write_enabled(ws->ctx))
		return;
	wslay_event_context_free(ws->ctx);
	ws->ctx = NULL;
}

/* wslay wants input: the bytes read with the request, then the lower. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    __unused int flags, void *arg)
{
	struct ws	*ws = arg;
	ssize_t		 n;

	if (len > ws->budget)
		len = ws->budget;
	if (len == 0 || ws->flags & (WS_EOF | WS_FAILED)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	if (ws->restoff < ws->restlen) {
		if (len > ws->restlen - ws->restoff)
			len = ws->restlen - ws->restoff;
		memcpy(buf, ws->rest + ws->restoff, len);
		ws->restoff += len;
		if (ws->restoff == ws->restlen) {
			free(ws->rest);
			ws->rest = NULL;
			ws->restlen = ws->restoff = 0;
		}
		n = (ssize_t)len;
	} else {
		n = ws->lower->read(ws->conn, (char *)buf, len);
		if (n == 0)
			ws->flags |= WS_EOF;	/* closed without a close */
		else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			ws->flags |= WS_FAILED;
			ws->err = errno;
		}
		if (n <= 0) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
			return (-1);
		}
	}
	ws->budget -= (size_t)n;
	ws->fed += (uint64_t)n;
	return (n);
}

/* wslay has a control frame to send: through the lower transport. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    __unused int flags, void *arg)
{
	struct ws	*ws = arg;
	struct iovec	 iov;
	ssize_t		 w;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	w = ws->lower->writev(ws->conn, &iov, 1);
	if (w > 0)
		return (w);
	if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
	else {
		ws->flags |= WS_FAILED;
		ws->err = w == -1 ? errno : EPIPE;
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
	}
	return (-1);
}

/* The bytes of a client frame's header: it is masked (or refused). */
static uint64_t
ws_head_len(uint64_t payload)
{
	return (2 + (payload > 65535 ? 8 : payload > 125 ? 2 : 0) + 4);
}

/* A frame begins: a text message goes on, anything else is not ours. */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *a, void *arg)
{
	static const char	 why[] = "binary messages are not accepted";
	struct ws		*ws = arg;

	ws->framelen = ws_head_len(a->payload_length) + a->payload_length;
	ws->flags &= ~WS_CTRL;
	if (a->opcode == WSLAY_CONNECTION_CLOSE && a->payload_length == 1) {
		/* Half a status code: wslay would take it for none. */
		wslay_event_queue_close(ctx, WSLAY_CODE_PROTOCOL_ERROR, NULL,
		    0);
		wslay_event_shutdown_read(ctx);
	}
	if (a->opcode & 0x8) {
		ws->flags |= WS_CTRL;	/* wslay answers it */
		return;
	}
	if (a->opcode == WSLAY_BINARY_FRAME) {
		log_info("websocket %s: %s; closing with 1003", ws->addr, why);
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA,
		    (const uint8_t *)why, sizeof why - 1);
		wslay_event_shutdown_read(ctx);
		ws->flags |= WS_LOGGED | WS_CTRL;
		return;
	}
	ws->flags |= WS_TEXT;	/* a text frame or its continuation */
	if (a->fin)
		ws->flags |= WS_FIN;
	else
		ws->flags &= ~WS_FIN;
}

/* Payload of a text message: into the caller's buffer, CR and LF blank. */
static void
ws_frame_chunk_cb(__unused wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *a, void *arg)
{
	struct ws	*ws = arg;
	size_t		 i, n = a->data_length;
	char		 ch;

	if (ws->flags & WS_CTRL)
		return;
	if (n > ws->outcap - ws->outlen) {
		/* Cannot happen: the budget keeps the output within the
		 * input read; but never write past the buffer. */
		log_warn("websocket %s: %zu bytes of a message lost", ws->addr,
		    n - (ws->outcap - ws->outlen));
		n = ws->outcap - ws->outlen;
	}
	for (i = 0; i < n; i++) {
		ch = (char)a->data[i];
		ws->out[ws->outlen++] = ch == '\r' || ch == '\n' ? ' ' : ch;
	}
}

/* A frame is over; the last of a text message ends its line. */
static void
ws_frame_end_cb(__unused wslay_event_context_ptr ctx, void *arg)
{
	struct ws	*ws = arg;

	ws->done += ws->framelen;
	ws->framelen = 0;
	if (ws->flags & WS_CTRL || !(ws->flags & WS_FIN))
		return;
	ws->flags &= ~(WS_TEXT | WS_FIN);
	if (ws->outlen < ws->outcap)
		ws->out[ws->outlen++] = '\n';
	else
		ws->flags |= WS_OWED_NL;
}

/* Log how a close went, once. */
static void
ws_log_close(struct ws *ws)
{
	if (ws->ctx == NULL || ws->flags & WS_LOGGED ||
	    !wslay_event_get_close_sent(ws->ctx))
		return;
	ws->flags |= WS_LOGGED;
	if (wslay_event_get_close_received(ws->ctx))
		log_debug("websocket %s: closed by the peer (%u)", ws->addr,
		    wslay_event_get_status_code_received(ws->ctx));
	else if (!(ws->flags & WS_SHUTDOWN))
		log_info("websocket %s: protocol error; closed with %u",
		    ws->addr, wslay_event_get_status_code_sent(ws->ctx));
}

/* Write the tail of a half-written frame: 1 all out, 0 not yet, -1. */
static int
ws_write_pend(struct ws *ws)
{
	struct iovec	 iov;
	ssize_t		 w;

	while (ws->pend != NULL) {
		iov.iov_base = ws->pend + ws->pendoff;
		iov.iov_len = ws->pendlen - ws->pendoff;
		w = ws->lower->writev(ws->conn, &iov, 1);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (w <= 0) {
			if (w == 0)
				errno = EPIPE;
			return (-1);
		}
		ws->pendoff += (size_t)w;
		if (ws->pendoff == ws->pendlen) {
			free(ws->pend);
			ws->pend = NULL;
		}
	}
	return (1);
}

/* Send what wslay has queued: 1 all out, 0 not yet, -1 failed. */
static int
ws_write_wslay(struct ws *ws)
{
	int	r;

	if (ws->ctx == NULL || !wslay_event_want_write(ws->ctx))
		return (1);
	if ((r = ws_write_pend(ws)) != 1)
		return (r);
	if (wslay_event_send(ws->ctx) != 0 || ws->flags & WS_FAILED) {
		errno = ws->flags & WS_FAILED ? ws->err : EPIPE;
		return (-1);
	}
	ws_log_close(ws);
	return (wslay_event_want_write(ws->ctx) ? 0 : 1);
}

/*
 * A frame wslay's frame layer refused (a control frame fragmented or
 * over 125 bytes, a close of one byte): wslay has queued a close without
 * a status.  Nothing of the old context matters any more, so a fresh one
 * sends the close with 1002, as for the errors found above that layer.
 */
static void
ws_protocol_error(struct ws *ws)
{
	wslay_event_context_free(ws->ctx);
	ws->ctx = NULL;
	if (ws_context(ws) == -1) {
		ws->flags |= WS_FAILED;
		ws->err = ENOMEM;
		return;
	}
	wslay_event_queue_close(ws->ctx, WSLAY_CODE_PROTOCOL_ERROR, NULL, 0);
	wslay_event_shutdown_read(ws->ctx);
}

/* Read: the text of whole messages, each ending in "\n". */
static ssize_t
ws_read(struct conn *conn, char *buf, size_t len)
{
	struct ws	*ws = conn->layer;
	uint64_t	 fed;
	size_t		 n;

	if (len == 0) {
		errno = EAGAIN;
		return (-1);
	}
	ws->out = buf;
	ws->outlen = 0;
	ws->outcap = len;
	if (ws->flags & WS_OWED_NL) {
		ws->flags &= ~WS_OWED_NL;
		buf[ws->outlen++] = '\n';
	}
	/* The text given back is never longer than the bytes read, but for
	 * the "\n" of a message whose header came in an earlier call. */
	ws->budget = len - ws->outlen > 1 ? len - ws->outlen - 1 :
	    len - ws->outlen;
	if (!(ws->flags & (WS_EOF | WS_FAILED)) && ws_context(ws) == -1) {
		ws->flags |= WS_FAILED;
		ws->err = ENOMEM;
	}
	/* Bytes that only made up headers give nothing back: go on while
	 * wslay took some, until the transport below has no more.  (wslay
	 * also stops, without asking again, when a read falls short of what
	 * it wanted.) */
	do {
		fed = ws->fed;
		if (ws->ctx == NULL || !wslay_event_get_read_enabled(ws->ctx) ||
		    ws->budget == 0)
			break;
		if (wslay_event_recv(ws->ctx) != 0 &&
		    !(ws->flags & WS_FAILED))
			ws_protocol_error(ws);
		if (ws->outlen == 0)
			ws->budget = len > 1 ? len - 1 : len;
	} while (ws->outlen == 0 && ws->fed != fed);
	if (ws->ctx != NULL && !wslay_event_get_read_enabled(ws->ctx))
		ws->flags |= WS_EOF;	/* a close, or a protocol error */
	ws->out = NULL;
	n = ws->outlen;
	/* A pong or a close to answer with; a half-written frame of the
	 * owner's goes first, then writev sends it. */
	if (ws->pend == NULL && ws_write_wslay(ws) == -1 &&
	    !(ws->flags & WS_FAILED)) {
		ws->flags |= WS_FAILED;
		ws->err = errno;
	}
	ws_context_idle(ws);
	if (n > 0)
		return ((ssize_t)n);
	if (ws->flags & WS_FAILED) {
		ws->flags |= WS_EOF_TOLD;
		errno = ws->err;
		return (-1);
	}
	if (ws->flags & WS_EOF) {
		ws->flags |= WS_EOF_TOLD;
		return (0);
	}
	errno = EAGAIN;
	return (-1);
}

/*
 * Input waits inside: bytes read with the request, a "\n" owed, or the
 * end of the input (a close, an error) found after text that ws_read
 * returned first, which no socket event will announce again.
 */
static int
ws_pending(struct conn *conn)
{
	struct ws	*ws = conn->layer;

	if (ws->restlen > ws->restoff || ws->flags & WS_OWED_NL)
		return (1);
	if (ws->flags & (WS_EOF | WS_FAILED))	/* nothing more to read */
		return (!(ws->flags & WS_EOF_TOLD));
	return (ws->lower->pending != NULL && ws->lower->pending(conn));
}

/* Write the header of a server text frame of len bytes; its length. */
size_t
ws_frame_head(unsigned char *h, uint64_t len)
{
	int	i;

	h[0] = 0x80 | WSLAY_TEXT_FRAME;		/* FIN, text */
	if (len <= 125) {
		h[1] = (unsigned char)len;
		return (2);
	}
	if (len <= 65535) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return (4);
	}
	h[1] = 127;
	for (i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return (10);
}

/*
 * Write queued lines, each as one text frame without its CRLF.  Lines
 * are taken whole: a frame the lower transport takes part of has its
 * tail copied to ws->pend, written before anything else.
 */
static ssize_t
ws_writev(struct conn *conn, const struct iovec *iov, int n)
{
	struct ws	*ws = conn->layer;
	struct iovec	 v[2 * CHATD_IOV_MAX];
	unsigned char	 head[CHATD_IOV_MAX][WS_HEAD_MAX];
	size_t		 body[CHATD_IOV_MAX], hl[CHATD_IOV_MAX];
	unsigned char	 stage[WS_STAGE];
	size_t		 taken = 0, left, k, staged = 0;
	ssize_t		 w;
	int		 i, m, r;
	const char	*p;

	if ((r = ws_write_pend(ws)) != 1 || (r = ws_write_wslay(ws)) != 1) {
		if (r == 0)
			errno = EAGAIN;
		return (-1);
	}
	if (ws->ctx != NULL && wslay_event_get_close_sent(ws->ctx)) {
		/* Nothing may follow a close: what is queued is dropped. */
		for (i = 0; i < n; i++)
			taken += iov[i].iov_len;
		return ((ssize_t)taken);
	}
	if (n > CHATD_IOV_MAX)
		n = CHATD_IOV_MAX;
	for (i = m = 0; i < n; i++) {
		p = iov[i].iov_base;
		body[i] = iov[i].iov_len;
		if (body[i] >= 2 && p[body[i] - 2] == '\r' &&
		    p[body[i] - 1] == '\n')
			body[i] -= 2;
		else if (body[i] >= 1 && p[body[i] - 1] == '\n')
			body[i] -= 1;
		hl[i] = ws_frame_head(head[i], body[i]);
		if (body[i] <= WS_STAGE_LINE &&
		    hl[i] + body[i] <= sizeof stage - staged) {
			/* A short line: header and text copied together, next
			 * to the previous short one, so that a run of them is
			 * one iovec for the kernel. */
			memcpy(stage + staged, head[i], hl[i]);
			memcpy(stage + staged + hl[i], p, body[i]);
			if (m > 0 && (unsigned char *)v[m - 1].iov_base +
			    v[m - 1].iov_len == stage + staged)
				v[m - 1].iov_len += hl[i] + body[i];
			else {
				v[m].iov_base = stage + staged;
				v[m++].iov_len = hl[i] + body[i];
			}
			staged += hl[i] + body[i];
			continue;
		}
		v[m].iov_base = head[i];
		v[m++].iov_len = hl[i];
		if (body[i] > 0) {
			v[m].iov_base = iov[i].iov_base;
			v[m++].iov_len = body[i];
		}
	}
	w = ws->lower->writev(conn, v, m);
	if (w <= 0) {
		if (w == 0)
			errno = EAGAIN;
		return (-1);
	}
	left = (size_t)w;
	for (i = 0; i < n && left > 0; i++) {
		taken += iov[i].iov_len;
		if (left >= hl[i] + body[i]) {
			left -= hl[i] + body[i];
			continue;
		}
		/* This frame is cut: keep its tail. */
		ws->pendlen = hl[i] + body[i] - left;
		ws->pendoff = 0;
		ws->pend = xmalloc(ws->pendlen);
		k = 0;
		if (left < hl[i]) {
			memcpy(ws->pend, head[i] + left, hl[i] - left);
			k = hl[i] - left;
			left = 0;
		} else
			left -= hl[i];
		memcpy(ws->pend + k, (const char *)iov[i].iov_base + left,
		    body[i] - left);
		left = 0;
	}
	return ((ssize_t)taken);
}

/*
 * End the output: the close frame (1000, or 1001 when the server stops)
 * after what is queued, then the lower transport's own end.
 */
static int
ws_shutdown(struct conn *conn)
{
	static const char	 bye[] = "server shutting down";
	struct ws		*ws = conn->layer;
	int			 r;

	if ((r = ws_write_pend(ws)) != 1)
		return (r);
	if (!(ws->flags & WS_SHUTDOWN)) {
		ws->flags |= WS_SHUTDOWN;
		if (ws->flags & WS_FAILED)
			return (-1);
		if (ws_context(ws) == -1)
			return (-1);
		if (!wslay_event_get_close_sent(ws->ctx)) {
			if (conn->srv != NULL && conn->srv->stopping)
				wslay_event_queue_close(ws->ctx,
				    WSLAY_CODE_GOING_AWAY,
				    (const uint8_t *)bye, sizeof bye - 1);
			else
				wslay_event_queue_close(ws->ctx,
				    WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
		}
	}
	if ((r = ws_write_wslay(ws)) != 1)
		return (r);
	return (ws->lower->shutdown(conn));
}

/* Free everything, and let the lower transport close the socket. */
static void
ws_close(struct conn *conn)
{
	struct ws		*ws = conn->layer;
	const struct transport	*lower = ws->lower;

	metric_ws_closed(ws->ctx != NULL && wslay_event_get_close_sent(
	    ws->ctx) ? wslay_event_get_status_code_sent(ws->ctx) : 0);
	if (ws->ctx != NULL)
		wslay_event_context_free(ws->ctx);
	free(ws->hs);
	free(ws->rest);
	free(ws->pend);
	free(ws);
	conn->layer = NULL;
	lower->close(conn);
}

const struct transport transport_ws = {
	.name = "websocket",
	.open = ws_open,
	.handshake = ws_handshake,
	.read = ws_read,
	.writev = ws_writev,
	.pending = ws_pending,
	.shutdown = ws_shutdown,
	.close = ws_close,
};
