/*
 * The [websocket] listener: an HTTP door that serves the web chat page
 * (GET / and the page's own files from the www directory) and turns a
 * valid RFC 6455 upgrade on the configured path into a chat client whose
 * transport is ws.c.  Everything else is answered with its status and
 * closed: 404, 405, 426 (not an upgrade, or a version other than 13), 400
 * (a broken upgrade), 403 (an Origin not allowed), 503 (the connection
 * limits); the door itself answers 400, 408, 413, 414 and 431.
 *
 * The Origin check is what keeps a page of another site from driving a
 * user's browser into the room: a browser always sends Origin with an
 * upgrade, so one that names a page chatd does not serve (the Host the
 * browser asked for) or that [websocket] origins does not list is
 * refused.  A request without Origin is not from a page (chatbench, a
 * script) and is let in, as a TCP client would be.
 *
 * With tls = true the door speaks TLS with the [tls] context (the one a
 * SIGHUP replaces, taken at each accept) and handshake_timeout: the page
 * is served over https, and an upgrade hands the TLS session to the
 * WebSocket transport as its lower one (wss://).  The chat client that
 * comes of it knows only that its transport is "websocket".
 *
 * Behind a reverse proxy every connection comes from the proxy: the
 * address in X-Forwarded-For is believed only from an address listed in
 * trusted_proxies, and then it is the user's address for the log, the
 * per-IP limit and plugins.  Everyone else's header is ignored.
 */

#include "config.h"

#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chatd.h"

#define WEB_CONNS	1024		/* HTTP requests at once; more: 503 */
#define WEB_FILE_MAX	(1024 * 1024)	/* bytes of a page file */
#define WEB_LIST_SEP	" \t,"
#define WEB_PAGE_HEADERS \
	"X-Content-Type-Options: nosniff\r\n" \
	"Content-Security-Policy: default-src 'self'; " \
	"connect-src 'self' ws: wss:; frame-ancestors 'none'\r\n"

struct web {
	struct server	*srv;
	struct listener	*listener;
	struct http_door door;
};

/* Whether a comma-separated header value holds token (any case). */
static int
web_has_token(const char *value, const char *token)
{
	size_t	n, len = strlen(token);

	while (value != NULL && *value != '\0') {
		value += strspn(value, " \t,");
		n = strcspn(value, ",");
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == len && strncasecmp(value, token, len) == 0)
			return (1);
		value += strcspn(value, ",");
	}
	return (0);
}

/* Whether word (of length n) is in a blank- or comma-separated list. */
static int
web_in_list(const char *list, const char *word, size_t n)
{
	size_t	k;

	while (list != NULL && *list != '\0') {
		list += strspn(list, WEB_LIST_SEP);
		k = strcspn(list, WEB_LIST_SEP);
		if (k == n && k > 0 && strncasecmp(list, word, n) == 0)
			return (1);
		list += k;
	}
	return (0);
}

/*
 * Whether a page of origin (NULL: the request is not from a page) may
 * open a chat connection: the page chatd serves itself (the origin names
 * the Host that was asked for), any listed in allowed, or any at all if
 * allowed lists "*".
 */
int
web_origin_ok(const char *origin, const char *allowed, const char *host)
{
	const char	*rest;

	if (origin == NULL || web_in_list(allowed, "*", 1))
		return (1);
	if (web_in_list(allowed, origin, strlen(origin)))
		return (1);
	if (host == NULL)
		return (0);
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return (0);
	return (strcasecmp(rest, host) == 0);
}

/* Whether sa's address is in a list of numeric addresses. */
static int
web_addr_listed(const char *list, const struct sockaddr *sa)
{
	char	addr[CHATD_ADDR_MAX], *colon;
	char	*p = addr;

	client_format_addr(sa, addr, sizeof addr);	/* ip:port, [ip]:port */
	if (*p == '[') {
		p++;
		colon = strchr(p, ']');
	} else
		colon = strrchr(p, ':');
	if (colon == NULL)
		return (0);
	*colon = '\0';
	return (web_in_list(list, p, strlen(p)));
}

/* An address as a sockaddr (port 0); -1 if it is not numeric. */
static int
web_parse_addr(const char *s, size_t n, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;
	char			 buf[INET6_ADDRSTRLEN + 2];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return (-1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return (0);
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return (0);
	}
	return (-1);
}

/*
 * The user's address behind a trusted proxy: if peer is listed in
 * trusted, the rightmost address of X-Forwarded-For (xff) that is not
 * itself a trusted proxy goes to out and 1 is returned.  0: the header is
 * absent or not to be believed (peer is the user); -1: a trusted proxy
 * sent one that is not a list of addresses.
 */
int
web_forwarded(const char *xff, const char *trusted,
    const struct sockaddr *peer, struct sockaddr_storage *out)
{
	const char	*item[16], *p;
	size_t		 len[16], n, i;

	if (xff == NULL || trusted == NULL || !web_addr_listed(trusted, peer))
		return (0);
	for (n = 0, p = xff;; p++) {	/* the last 16 items */
		if (n == 16) {
			memmove(item, item + 1, 15 * sizeof item[0]);
			memmove(len, len + 1, 15 * sizeof len[0]);
			n--;
		}
		p += strspn(p, " \t");
		item[n] = p;
		len[n] = strcspn(p, ",");
		p += len[n];
		while (len[n] > 0 && (item[n][len[n] - 1] == ' ' ||
		    item[n][len[n] - 1] == '\t'))
			len[n]--;
		n++;
		if (*p == '\0')
			break;
	}
	for (i = n; i-- > 0;) {
		if (web_parse_addr(item[i], len[i], out) != 0)
			return (-1);
		if (!web_addr_listed(trusted, (struct sockaddr *)out))
			return (1);
	}
	return (1);	/* proxies all the way: the first is the user */
}

/* The content type of a page file, by its extension. */
static const char *
web_type(const char *name)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++) {
		if (strcmp(dot, types[i].ext) == 0)
			return (types[i].type);
	}
	return (NULL);
}

/*
 * GET / and the page's files: a name of letters, digits, '-', '_' and
 * '.' (not first) directly in the www directory, of a known type.
 */
static void
web_file(struct web *w, struct http_conn *hc, const struct http_request *req)
{
	const char	*method = http_request_method(req);
	const char	*path = http_request_path(req), *name, *type, *dir;
	char		 file[4096], *body;
	struct stat	 st;
	ssize_t		 n;
	size_t		 got;
	int		 fd;

	name = strcmp(path, "/") == 0 ? "index.html" : path + 1;
	if (*name == '.' || *name == '\0' || strspn(name, "abcdefghijklmnopq"
	    "rstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	    strlen(name) || (type = web_type(name)) == NULL) {
		http_respond_error(hc, 404, NULL);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_respond_error(hc, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	dir = w->srv->cfg.ws_www != NULL ? w->srv->cfg.ws_www : CHATD_WWWDIR;
	snprintf(file, sizeof file, "%s/%s", dir, name);
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("web page: %s: %s", file, strerror(errno));
		http_respond_error(hc, 404, NULL);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > WEB_FILE_MAX) {
		close(fd);
		http_respond_error(hc, 404, NULL);
		return;
	}
	body = xmalloc((size_t)st.st_size + 1);
	for (got = 0; got < (size_t)st.st_size; got += (size_t)n) {
		n = read(fd, body + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
	}
	close(fd);
	http_respond(hc, 200, type, WEB_PAGE_HEADERS, body, got);
	free(body);
}

/* Refuse an upgrade with a status and a one-line reason in the log. */
static void
web_refuse(struct http_conn *hc, int status, const char *extra,
    const char *why)
{
	log_info("websocket %s: refused (%d): %s", http_conn_addr(hc), status,
	    why);
	http_respond_error(hc, status, extra);
}

/* GET <path>: check the upgrade, answer 101 and make a chat client. */
static void
web_upgrade(struct web *w, struct http_conn *hc,
    const struct http_request *req)
{
	struct server		*srv = w->srv;
	struct sockaddr_storage	 user, fwd;
	const struct sockaddr	*sa;
	const char		*key, *version, *why, *msg;
	char			 accept[32], response[160], addr[CHATD_ADDR_MAX];
	char			*rest;
	size_t			 restlen;
	struct ws_upgrade	 up;
	const struct transport	*lower;
	void			*lower_state;
	int			 fd, r;

	if (strcmp(http_request_method(req), "GET") != 0) {
		web_refuse(hc, 405, "Allow: GET\r\n", "not a GET");
		return;
	}
	if (!http_request_upgrade(req) || !web_has_token(
	    http_request_header(req, "Upgrade"), "websocket") ||
	    !web_has_token(http_request_header(req, "Connection"),
	    "upgrade")) {
		web_refuse(hc, 426, "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n", "not a WebSocket upgrade");
		return;
	}
	if (http_request_version(req) < 11) {
		web_refuse(hc, 400, NULL, "an upgrade needs HTTP/1.1");
		return;
	}
	version = http_request_header(req, "Sec-WebSocket-Version");
	if (version == NULL || strcmp(version, "13") != 0) {
		web_refuse(hc, 426, "Sec-WebSocket-Version: 13\r\n",
		    "not WebSocket version 13");
		return;
	}
	key = http_request_header(req, "Sec-WebSocket-Key");
	if (key == NULL || ws_accept_key(key, accept) != 0) {
		web_refuse(hc, 400, NULL, "no valid Sec-WebSocket-Key");
		return;
	}
	if (!web_origin_ok(http_request_header(req, "Origin"),
	    srv->cfg.ws_origins, http_request_header(req, "Host"))) {
		web_refuse(hc, 403, NULL, "Origin not allowed");
		return;
	}
	/* A copy: the door's connection goes with http_conn_detach(). */
	memcpy(&user, http_conn_peer(hc), sizeof user);
	sa = (const struct sockaddr *)&user;
	r = web_forwarded(http_request_header(req, "X-Forwarded-For"),
	    srv->cfg.ws_trusted_proxies, sa, &fwd);
	if (r == -1) {
		web_refuse(hc, 400, NULL, "a trusted proxy's X-Forwarded-For "
		    "is not a list of addresses");
		return;
	}
	if (r == 1)
		memcpy(&user, &fwd, sizeof user);
	if ((why = listener_limit(srv, sa, &msg)) != NULL) {
		metric_label_inc(METRIC_REFUSED, why);
		/* The message without its "! " and CRLF. */
		snprintf(response, sizeof response, "%.*s",
		    (int)strlen(msg) - 4, msg + 2);
		web_refuse(hc, 503, "Retry-After: 5\r\n", response);
		return;
	}
	snprintf(response, sizeof response, "HTTP/1.1 101 Switching "
	    "Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	client_format_addr(sa, addr, sizeof addr);
	metric_label_inc(METRIC_HTTP_REQUESTS, "101");
	metric_inc(METRIC_WS_UPGRADES);
	fd = http_conn_detach(hc, &lower, &lower_state, &rest, &restlen);
	memset(&up, 0, sizeof up);
	up.lower = lower;
	up.lower_state = lower_state;
	up.response = response;
	up.rest = rest;
	up.restlen = restlen;
	up.addr = addr;
	listener_take(w->listener, fd, sa, &up);
	free(rest);
}

/* One request on the [websocket] port. */
static void
web_handle(struct http_conn *hc, const struct http_request *req, void *arg)
{
	struct web	*w = arg;

	if (strcmp(http_request_path(req), w->srv->cfg.ws_path) == 0)
		web_upgrade(w, hc, req);
	else
		web_file(w, hc, req);
}

/* A connection accepted by the [websocket] listener: the door takes it. */
void
web_admit(struct listener *l, int fd, const struct sockaddr *sa)
{
	struct server	*srv = l->srv;
	struct web	*w = srv->web;

	if (w == NULL) {		/* not set up yet: cannot happen */
		close(fd);
		return;
	}
	/* Both may have changed with a SIGHUP. */
	w->door.handshake_timeout = (double)srv->cfg.tls_handshake_timeout;
	http_door_accept(&w->door, fd, sa, srv->cfg.ws_tls ?
	    tls_context(srv) : NULL);
}

/*
 * Start serving the page and upgrades if a [websocket] listener is open.
 * NULL when there is none.
 */
struct web *
web_open(struct server *srv)
{
	struct web	*w;
	struct stat	 st;
	const char	*dir;
	size_t		 i;

	for (i = 0; i < srv->nlisteners; i++) {
		if (srv->listeners[i].kind->admit == web_admit)
			break;
	}
	if (i == srv->nlisteners)
		return (NULL);
	w = xcalloc(1, sizeof *w);
	w->srv = srv;
	w->listener = &srv->listeners[i];
	http_door_init(&w->door, srv, web_handle, w, 0, WEB_CONNS);
	if (srv->cfg.ws_tls)
		w->door.transport = &transport_tls;
	dir = srv->cfg.ws_www != NULL ? srv->cfg.ws_www : CHATD_WWWDIR;
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		log_warn("[websocket] www: %s is not a directory; the web "
		    "page is not served (WebSocket clients still are)", dir);
	log_info("serving the web chat at %s://%s/ (WebSocket at %s)",
	    srv->cfg.ws_tls ? "https" : "http", w->listener->addr,
	    srv->cfg.ws_path);
	return (w);
}

/* Stop serving: every HTTP connection still open.  (Upgraded ones are
 * clients; the listener is closed with the others.) */
void
web_close(struct web *w)
{
	if (w == NULL)
		return;
	http_door_close(&w->door);
	free(w);
}
