/*
 * The HTTP door: one HTTP/1.x request read from a connection and parsed
 * by http-parser, one response written, and the connection closed.
 *
 * chatd needs HTTP for a few requests (the metrics, a WebSocket upgrade
 * and its page), not as a web server: there is no keep-alive, no
 * pipelining (what follows the first request is ignored, or handed over
 * with the socket on an upgrade), and a body only up to a bound the door's
 * owner sets.  Every request is bounded in size (HTTP_HEAD_MAX bytes of
 * request line and fields, answered 431; a target over HTTP_URL_MAX, 414;
 * a body over body_max, 413) and in time (HTTP_TIMEOUT seconds for the
 * whole request, 408).  The door answers those errors itself; a request
 * that passes them goes to the owner's handler, which answers with
 * http_respond() or takes the socket with http_conn_detach().
 *
 * Two layers: struct http_request is the parser alone, fed bytes and
 * asked questions (the unit tests and the fuzz target drive it
 * directly); struct http_conn is one connection, its timer and its
 * response.  Its bytes go through the door's transport (transport.c):
 * plain TCP, or TLS when the door serves https (the [websocket] listener
 * with tls = true), whose handshake runs before the request is read,
 * under the door's handshake_timeout, and whose session goes with the
 * socket on an upgrade.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>

#include "chatd.h"

#define HTTP_NONE	((size_t)-1)	/* no offset: a part not present */
#define HTTP_READ	4096		/* bytes per read */
/* The head, then the path and query copied out of the target, and the
 * few NUL bytes written past the head's bound before it is checked. */
#define HTTP_STORE	(HTTP_HEAD_MAX + HTTP_URL_MAX + 16)

struct http_field {
	size_t		 name;		/* offsets into store */
	size_t		 value;
};

struct http_request {
	http_parser	 parser;
	int		 status;	/* HTTP_MORE, HTTP_DONE or an error */
	int		 headers_done;
	int		 last;		/* what store ends with: */
#define HTTP_LAST_NONE	0
#define HTTP_LAST_NAME	1
#define HTTP_LAST_VALUE	2
	size_t		 head;		/* bytes of the head fed so far */
	size_t		 body_max;
	char		*body;
	size_t		 bodylen;
	char		 method[24];
	size_t		 target;	/* offsets into store */
	size_t		 targetlen;
	size_t		 path;
	size_t		 query;
	struct http_field fields[HTTP_FIELDS_MAX];
	size_t		 nfields;
	size_t		 used;		/* bytes of store used */
	char		 store[HTTP_STORE];
};

enum http_state {
	HTTP_HANDSHAKE,			/* the transport's (TLS) */
	HTTP_READING,			/* the request */
	HTTP_HANDLING,			/* the handler has it */
	HTTP_WRITING,			/* the response */
	HTTP_LINGERING			/* written; until the peer's EOF */
};

struct http_conn {
	LIST_ENTRY(http_conn) entry;	/* door->conns */
	struct http_door *door;
	struct conn	 conn;		/* the socket and its transport */
	enum http_state	 state;
	char		 addr[CHATD_ADDR_MAX];
	struct sockaddr_storage peer;
	struct http_request *req;
	char		*out;
	size_t		 outlen;
	size_t		 outoff;
	char		*rest;		/* bytes after the request */
	size_t		 restlen;
	ev_timer	 timer;		/* the deadline of the state */
};

static int	http_on_url(http_parser *, const char *, size_t);
static int	http_on_field(http_parser *, const char *, size_t);
static int	http_on_value(http_parser *, const char *, size_t);
static int	http_on_headers(http_parser *);
static int	http_on_body(http_parser *, const char *, size_t);
static int	http_on_complete(http_parser *);
static void	http_conn_free(struct http_conn *);
static void	http_conn_write(struct http_conn *);
static void	http_conn_ready(struct conn *);
static void	http_conn_failed(struct conn *);
static void	http_conn_readable(struct conn *);
static void	http_conn_writable(struct conn *);

static const struct conn_owner http_owner = {
	.ready = http_conn_ready,
	.failed = http_conn_failed,
	.readable = http_conn_readable,
	.writable = http_conn_writable,
};

static const http_parser_settings http_settings = {
	.on_url = http_on_url,
	.on_header_field = http_on_field,
	.on_header_value = http_on_value,
	.on_headers_complete = http_on_headers,
	.on_body = http_on_body,
	.on_message_complete = http_on_complete,
};

/* The reason phrase of a status chatd sends. */
const char *
http_status_text(int status)
{
	switch (status) {
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 413: return ("Content Too Large");
	case 414: return ("URI Too Long");
	case 426: return ("Upgrade Required");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	}
	return ("Unknown");
}

/* A parser for one request taking at most body_max bytes of body. */
struct http_request *
http_request_new(size_t body_max)
{
	struct http_request	*r;

	r = xcalloc(1, sizeof *r);
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	r->body_max = body_max;
	r->target = r->path = r->query = HTTP_NONE;
	return (r);
}

/* Free a request. */
void
http_request_free(struct http_request *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r);
}

/* Stop parsing with an error status; the callback returns its result. */
static int
http_fail(struct http_request *r, int status)
{
	if (r->status == HTTP_MORE)
		r->status = status;
	return (-1);
}

/* Append bytes to the store; -1 (and 431) when the head is too big. */
static int
http_store(struct http_request *r, const char *at, size_t len)
{
	if (r->used >= HTTP_HEAD_MAX || len > HTTP_HEAD_MAX - r->used)
		return (http_fail(r, 431));
	memcpy(r->store + r->used, at, len);
	r->used += len;
	return (0);
}

/* End the string being stored, trimming the spaces at its end. */
static void
http_store_end(struct http_request *r, size_t start)
{
	while (r->used > start && (r->store[r->used - 1] == ' ' ||
	    r->store[r->used - 1] == '\t'))
		r->used--;
	r->store[r->used++] = '\0';	/* store has room past HEAD_MAX */
}

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_request	*r = p->data;

	if (r->target == HTTP_NONE)
		r->target = r->used;
	if (len > HTTP_URL_MAX - r->targetlen)
		return (http_fail(r, 414));
	r->targetlen += len;
	return (http_store(r, at, len));
}

static int
http_on_field(http_parser *p, const char *at, size_t len)
{
	struct http_request	*r = p->data;

	if (r->last != HTTP_LAST_NAME) {
		if (r->last == HTTP_LAST_VALUE)
			http_store_end(r, r->fields[r->nfields - 1].value);
		else if (r->target != HTTP_NONE)
			r->store[r->used++] = '\0';	/* after the target */
		if (r->nfields == HTTP_FIELDS_MAX)
			return (http_fail(r, 431));
		r->fields[r->nfields].name = r->used;
		r->fields[r->nfields].value = HTTP_NONE;
		r->nfields++;
		r->last = HTTP_LAST_NAME;
	}
	return (http_store(r, at, len));
}

static int
http_on_value(http_parser *p, const char *at, size_t len)
{
	struct http_request	*r = p->data;

	if (r->last != HTTP_LAST_VALUE) {
		r->store[r->used++] = '\0';	/* after the name */
		r->fields[r->nfields - 1].value = r->used;
		r->last = HTTP_LAST_VALUE;
	}
	return (http_store(r, at, len));
}

/* Copy a part of the target into the store as a string of its own. */
static size_t
http_store_part(struct http_request *r, const struct http_parser_url *u,
    int part)
{
	size_t	at = r->used;

	memcpy(r->store + r->used, r->store + r->target +
	    u->field_data[part].off, u->field_data[part].len);
	r->used += u->field_data[part].len;
	r->store[r->used++] = '\0';
	return (at);
}

/* Whether a field name is a token (RFC 9110, 5.6.2), as the lenient
 * build of http-parser does not check. */
static int
http_token(const char *s)
{
	static const char	 tchar[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(tchar, *s) != NULL))
			return (0);
	}
	return (1);
}

/* The head is complete: check it as a whole. */
static int
http_on_headers(http_parser *p)
{
	struct http_request	*r = p->data;
	struct http_parser_url	 u;
	size_t			 i;

	if (r->last == HTTP_LAST_VALUE)
		http_store_end(r, r->fields[r->nfields - 1].value);
	else if (r->last == HTTP_LAST_NONE && r->target != HTTP_NONE)
		r->store[r->used++] = '\0';
	r->headers_done = 1;
	snprintf(r->method, sizeof r->method, "%s",
	    http_method_str((enum http_method)p->method));
	if (p->http_major != 1)
		return (http_fail(r, 505));
	if (r->target == HTTP_NONE)
		return (http_fail(r, 400));
	for (i = 0; i < r->nfields; i++) {
		if (!http_token(r->store + r->fields[i].name))
			return (http_fail(r, 400));
	}
	/* HTTP/1.1 requires Host (RFC 9112, 3.2). */
	if (p->http_minor >= 1 && http_request_header(r, "Host") == NULL)
		return (http_fail(r, 400));
	http_parser_url_init(&u);
	if (http_parser_parse_url(r->store + r->target, r->targetlen,
	    p->method == HTTP_CONNECT, &u) != 0)
		return (http_fail(r, 400));
	if (u.field_set & (1 << UF_PATH))
		r->path = http_store_part(r, &u, UF_PATH);
	else {
		r->path = r->used;
		memcpy(r->store + r->used, "/", 2);
		r->used += 2;
	}
	if (u.field_set & (1 << UF_QUERY))
		r->query = http_store_part(r, &u, UF_QUERY);
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->body_max)
		return (http_fail(r, 413));
	if ((p->flags & F_CHUNKED) && r->body_max == 0)
		return (http_fail(r, 413));
	return (0);
}

static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_request	*r = p->data;

	if (len > r->body_max - r->bodylen)
		return (http_fail(r, 413));
	if (r->body == NULL)
		r->body = xmalloc(r->body_max + 1);
	memcpy(r->body + r->bodylen, at, len);
	r->bodylen += len;
	r->body[r->bodylen] = '\0';
	return (0);
}

/* One request is all: pause, so what follows stays unparsed. */
static int
http_on_complete(http_parser *p)
{
	struct http_request	*r = p->data;

	if (r->status == HTTP_MORE)
		r->status = HTTP_DONE;
	http_parser_pause(p, 1);
	return (0);
}

/*
 * Feed len bytes of the connection to the parser.  *used gets how many
 * belong to the request (the rest is a pipelined request, ignored, or the
 * first bytes of an upgraded protocol).  Returns HTTP_MORE, HTTP_DONE, or
 * the error status to answer with; once it is not HTTP_MORE it stays so.
 */
int
http_request_feed(struct http_request *r, const char *data, size_t len,
    size_t *used)
{
	size_t		 n;
	enum http_errno	 e;

	*used = 0;
	if (r->status != HTTP_MORE)
		return (r->status);
	if (len == 0)
		return (HTTP_MORE);
	n = http_parser_execute(&r->parser, &http_settings, data, len);
	*used = n;
	if (r->status != HTTP_MORE)
		return (r->status);
	e = HTTP_PARSER_ERRNO(&r->parser);
	if (e != HPE_OK && e != HPE_PAUSED)
		return (r->status = e == HPE_HEADER_OVERFLOW ? 431 : 400);
	/*
	 * An upgrade is done when the parser says the message is (after its
	 * head, or after a body if it has one): done at the end of the head
	 * would take a piece ending inside a malformed body for a request.
	 */
	if (!r->headers_done) {
		r->head += n;
		if (r->head > HTTP_HEAD_MAX)
			return (r->status = 431);
	}
	return (HTTP_MORE);
}

/* The method, as http-parser names it ("GET"); "" before the head. */
const char *
http_request_method(const struct http_request *r)
{
	return (r->method);
}

/* The request target as sent ("/metrics?x=1"). */
const char *
http_request_target(const struct http_request *r)
{
	return (r->target == HTTP_NONE ? "" : r->store + r->target);
}

/* The path of the target, not decoded ("/metrics"). */
const char *
http_request_path(const struct http_request *r)
{
	return (r->path == HTTP_NONE ? "" : r->store + r->path);
}

/* The query of the target without its "?", NULL if there is none. */
const char *
http_request_query(const struct http_request *r)
{
	return (r->query == HTTP_NONE ? NULL : r->store + r->query);
}

/* The value of the first field named name (any case), NULL if none. */
const char *
http_request_header(const struct http_request *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nfields; i++) {
		if (r->fields[i].value != HTTP_NONE &&
		    strcasecmp(r->store + r->fields[i].name, name) == 0)
			return (r->store + r->fields[i].value);
	}
	return (NULL);
}

/* How many header fields the request has. */
size_t
http_request_nfields(const struct http_request *r)
{
	return (r->nfields);
}

/* Field i: its name and value. */
void
http_request_field(const struct http_request *r, size_t i, const char **name,
    const char **value)
{
	*name = r->store + r->fields[i].name;
	*value = r->fields[i].value == HTTP_NONE ? "" :
	    r->store + r->fields[i].value;
}

/* The version as 10 or 11. */
int
http_request_version(const struct http_request *r)
{
	return (r->parser.http_major * 10 + r->parser.http_minor);
}

/* Whether the request asks for another protocol (Connection: upgrade). */
int
http_request_upgrade(const struct http_request *r)
{
	return (r->parser.upgrade);
}

/* The body (NUL-terminated), NULL if there was none. */
const char *
http_request_body(const struct http_request *r, size_t *len)
{
	*len = r->bodylen;
	return (r->body);
}

/* ---- connections --------------------------------------------------- */

/*
 * Set up a door: handler gets each request that passes the limits.  Its
 * connections are plain TCP; an owner that serves another transport sets
 * d->transport (and d->handshake_timeout) before the first accept.
 */
void
http_door_init(struct http_door *d, struct server *srv,
    http_handler *handler, void *arg, size_t body_max, size_t max_conns)
{
	memset(d, 0, sizeof *d);
	d->srv = srv;
	d->loop = srv->loop;
	d->transport = &transport_tcp;
	d->handler = handler;
	d->arg = arg;
	d->body_max = body_max;
	d->max_conns = max_conns;
	LIST_INIT(&d->conns);
}

/* Close every connection of a door. */
void
http_door_close(struct http_door *d)
{
	struct http_conn	*c;

	while ((c = LIST_FIRST(&d->conns)) != NULL)
		http_conn_free(c);
}

/* The address of the peer, "ip:port". */
const char *
http_conn_addr(const struct http_conn *c)
{
	return (c->addr);
}

/* The address of the peer. */
const struct sockaddr *
http_conn_peer(const struct http_conn *c)
{
	return ((const struct sockaddr *)&c->peer);
}

/* Free a connection whose conn is closed or detached already. */
static void
http_conn_release(struct http_conn *c)
{
	ev_timer_stop(c->door->loop, &c->timer);
	LIST_REMOVE(c, entry);
	c->door->nconns--;
	http_request_free(c->req);
	free(c->out);
	free(c->rest);
	free(c);
}

/* Close a connection and free it. */
static void
http_conn_free(struct http_conn *c)
{
	conn_close(&c->conn);
	http_conn_release(c);
}

/*
 * Take the socket away from the door (a WebSocket upgrade): the watchers
 * stop and the connection is freed, but the fd stays open and is
 * returned, with its transport in *t and that one's state in *state (a
 * TLS session past its handshake; NULL over TCP), and the bytes read past
 * the request in *rest (the caller frees it; NULL when there are none).
 */
int
http_conn_detach(struct http_conn *c, const struct transport **t,
    void **state, char **rest, size_t *restlen)
{
	int	fd = c->conn.fd;

	*t = c->conn.t;
	*state = conn_detach(&c->conn);
	*rest = c->rest;
	*restlen = c->restlen;
	c->rest = NULL;
	http_conn_release(c);
	return (fd);
}

/* Seconds a peer has for the transport's handshake. */
static double
http_handshake_timeout(const struct http_door *d)
{
	return (d->handshake_timeout > 0. ? d->handshake_timeout :
	    HTTP_TIMEOUT);
}

/* Restart the deadline of a state. */
static void
http_conn_deadline(struct http_conn *c, double after)
{
	ev_timer_stop(c->door->loop, &c->timer);
	ev_timer_set(&c->timer, after, 0.);
	ev_timer_start(c->door->loop, &c->timer);
}

/*
 * Answer the request and close: a status, a content type, any extra
 * header lines (each ending in CRLF, e.g. "Allow: GET\r\n"; NULL for
 * none) and a body, which a HEAD request does not get.
 */
void
http_respond(struct http_conn *c, int status, const char *type,
    const char *extra, const char *body, size_t len)
{
	const char	*method = c->req != NULL ?
			    http_request_method(c->req) : "";
	size_t		 cap, n;
	int		 head = strcmp(method, "HEAD") == 0;
	char		 code[8];

	if (c->state != HTTP_READING && c->state != HTTP_HANDLING)
		return;			/* answered already */
	if (extra == NULL)
		extra = "";
	cap = 256 + strlen(type) + strlen(extra) + (head ? 0 : len);
	c->out = xmalloc(cap);
	n = (size_t)snprintf(c->out, cap, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s\r\n", status, http_status_text(status), type, len, extra);
	if (!head && len > 0) {
		memcpy(c->out + n, body, len);
		n += len;
	}
	c->outlen = n;
	c->outoff = 0;
	log_debug("http %s: %s %s: %d", c->addr, *method != '\0' ? method :
	    "-", c->req != NULL ? http_request_target(c->req) : "-", status);
	snprintf(code, sizeof code, "%d", status); /* one listed above */
	metric_label_inc(METRIC_HTTP_REQUESTS, code);
	c->state = HTTP_WRITING;
	conn_want(&c->conn, CONN_READ, 0);
	http_conn_deadline(c, HTTP_TIMEOUT);
	http_conn_write(c);
}

/* Answer with an error status and a one-line text body. */
void
http_respond_error(struct http_conn *c, int status, const char *extra)
{
	char	body[80];
	int	n;

	n = snprintf(body, sizeof body, "%d %s\n", status,
	    http_status_text(status));
	http_respond(c, status, "text/plain; charset=utf-8", extra, body,
	    (size_t)n);
}

/*
 * Write what is left of the response.  Once it is all out, end our side
 * (FIN; close_notify first over TLS) and read (and discard) until the
 * peer closes: closing with its bytes unread would make the kernel reset
 * the connection, which can destroy the response before the peer reads
 * it.
 */
static void
http_conn_write(struct http_conn *c)
{
	struct iovec	 iov;
	ssize_t		 n;
	int		 r;

	while (c->outoff < c->outlen) {
		iov.iov_base = c->out + c->outoff;
		iov.iov_len = c->outlen - c->outoff;
		n = conn_writev(&c->conn, &iov, 1);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want(&c->conn, CONN_WRITE, 1);
			return;
		}
		if (n <= 0) {
			http_conn_free(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if ((r = conn_shutdown(&c->conn)) == 0) {
		conn_want(&c->conn, CONN_WRITE, 1);
		return;
	}
	if (r == -1) {
		http_conn_free(c);
		return;
	}
	conn_want(&c->conn, CONN_WRITE, 0);
	c->state = HTTP_LINGERING;
	http_conn_deadline(c, HTTP_LINGER);
	conn_want(&c->conn, CONN_READ, 1);
}

/* The connection can take more of the response. */
static void
http_conn_writable(struct conn *conn)
{
	http_conn_write(container_of(conn, struct http_conn, conn));
}

/* The request is complete: keep what followed it and call the handler. */
static void
http_conn_handle(struct http_conn *c, const char *rest, size_t restlen)
{
	if (restlen > 0) {
		c->rest = xmalloc(restlen);
		memcpy(c->rest, rest, restlen);
		c->restlen = restlen;
	}
	c->state = HTTP_HANDLING;
	conn_want(&c->conn, CONN_READ, 0);
	c->door->handler(c, c->req, c->door->arg);
}

/* The transport's handshake is over (or there was none): the request. */
static void
http_conn_ready(struct conn *conn)
{
	struct http_conn	*c = container_of(conn, struct http_conn, conn);

	c->state = HTTP_READING;
	http_conn_deadline(c, HTTP_TIMEOUT);
	conn_want(conn, CONN_READ, 1);
}

/* The handshake failed: say why, once, as a chat listener does. */
static void
http_conn_failed(struct conn *conn)
{
	http_conn_free(container_of(conn, struct http_conn, conn));
}

/* Bytes from the peer: the request, or what is discarded after it. */
static void
http_conn_readable(struct conn *conn)
{
	struct http_conn	*c = container_of(conn, struct http_conn, conn);
	char			 buf[HTTP_READ];
	ssize_t			 n;
	size_t			 used;
	int			 rc;

	n = conn_read(conn, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (c->state == HTTP_LINGERING) {
		if (n <= 0)
			http_conn_free(c);
		return;
	}
	if (n == -1) {
		http_conn_free(c);
		return;
	}
	if (n == 0) {
		/* A peer that sent part of a request is told it is broken;
		 * one that sent nothing is not answered. */
		if (c->req->used == 0 && c->req->head == 0)
			http_conn_free(c);
		else
			http_respond_error(c, 400, NULL);
		return;
	}
	rc = http_request_feed(c->req, buf, (size_t)n, &used);
	if (rc == HTTP_DONE)
		http_conn_handle(c, buf + used, (size_t)n - used);
	else if (rc != HTTP_MORE)
		http_respond_error(c, rc, NULL);
}

/* The deadline of the state passed. */
static void
http_conn_timer_cb(__unused struct ev_loop *loop, ev_timer *w,
    __unused int revents)
{
	struct http_conn	*c = container_of(w, struct http_conn, timer);

	if (c->state == HTTP_HANDSHAKE) {
		conn_expired(&c->conn, http_handshake_timeout(c->door));
		http_conn_free(c);
	} else if (c->state == HTTP_READING)
		http_respond_error(c, 408, NULL);
	else
		http_conn_free(c);	/* a peer that neither reads nor ends */
}

/*
 * A connection accepted for the door (non-blocking already), its
 * transport set up with ctx (the TLS context).  Past max_conns it is
 * answered 503 at once (and its request read and dropped, so that the
 * close does not reset the answer); past twice that, or past max_conns
 * over a transport with a handshake (which a refusal is there to spare),
 * it is closed unanswered, so a flood of connections costs no memory.
 */
void
http_door_accept(struct http_door *d, int fd, const struct sockaddr *sa,
    void *ctx)
{
	struct http_conn	*c;

	if (d->nconns >= 2 * d->max_conns || (d->nconns >= d->max_conns &&
	    d->transport->handshake != NULL)) {
		metric_label_inc(METRIC_HTTP_REQUESTS, "503");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->door = d;
	c->req = http_request_new(d->body_max);
	client_format_addr(sa, c->addr, sizeof c->addr);
	memcpy(&c->peer, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	conn_init(&c->conn, d->srv, fd, d->transport, &http_owner);
	c->conn.peer = c->addr;
	ev_init(&c->timer, http_conn_timer_cb);
	LIST_INSERT_HEAD(&d->conns, c, entry);
	if (conn_open(&c->conn, ctx) == -1) {
		log_warn("http %s: %s: %s", c->addr, d->transport->name,
		    strerror(errno));
		d->nconns++;
		http_conn_free(c);
		return;
	}
	if (d->nconns++ >= d->max_conns) {
		c->state = HTTP_READING;
		http_respond_error(c, 503, "Retry-After: 1\r\n");
		return;
	}
	if (c->conn.flags & CONN_HANDSHAKE) {
		c->state = HTTP_HANDSHAKE;
		http_conn_deadline(c, http_handshake_timeout(d));
	}
	conn_start(&c->conn);	/* may free c */
}
