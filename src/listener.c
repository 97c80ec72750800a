/*
 * The listening sockets, one per configured kind of listener: accept(),
 * the connection limits, max_clients fitted to the descriptor limit, and a
 * pause instead of a busy loop when the process runs out of descriptors
 * all the same.
 */

#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define MSG_FULL	"! server full\r\n"
#define MSG_PER_IP	"! too many connections from your address\r\n"
#define MSG_RATE	"! connecting too often from your address\r\n"

/* The connect rate of one address: a token bucket. */
struct connect_rate {
	double		 tokens;
	ev_tstamp	 at;
};

static void	listener_admit(struct listener *, int, const struct sockaddr *);

/*
 * The kinds of listener, in the order they open (so the first "listening
 * on" line of the log is the plain one).
 */
const struct listener_kind listener_kinds[] = {
	{ NULL, "server", &transport_tcp, NULL, listener_admit },
	{ "tls", "tls", &transport_tls, tls_context, listener_admit },
	{ "metrics", "metrics", NULL, NULL, exporter_admit },
	{ "websocket", "websocket", &transport_ws, NULL, web_admit },
	{ NULL, NULL, NULL, NULL, NULL }
};

/* Make a descriptor non-blocking and close-on-exec. */
static int
set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return (-1);
	return (0);
}

/*
 * Tell a connection why it is refused, and close it.  A transport with a
 * handshake (TLS) would have to run it to say anything, at the cost a
 * refusal is there to spare: such a connection is closed without a word.
 */
static void
listener_refuse(struct listener *l, int fd, const char *msg,
    const char *addr, const char *why)
{
	ssize_t	n;

	metric_label_inc(METRIC_REFUSED, why);
	if (lograte_allow(LOGRATE_REFUSE, ev_now(l->srv->loop), addr))
		log_info("refused %s%s%s: %.*s", addr, l->kind->name != NULL ?
		    " on " : "", l->kind->name != NULL ? l->kind->name : "",
		    (int)strlen(msg) - 4, msg + 2);
	if (l->kind->transport->handshake == NULL) {
		n = write(fd, msg, strlen(msg));	/* a new socket takes it */
		(void)n;
		shutdown(fd, SHUT_WR);
	}
	close(fd);
}

/* Decrease the connection count of an address. */
void
listener_release_ip(struct server *srv, const unsigned char *key, size_t len)
{
	uintptr_t	n;

	n = (uintptr_t)map_get(&srv->per_ip, key, len);
	if (n <= 1)
		map_del(&srv->per_ip, key, len);
	else
		map_put(&srv->per_ip, key, len, (void *)(n - 1));
}

/* Refill a connect bucket to now. */
static void
listener_refill(struct server *srv, struct connect_rate *r)
{
	ev_tstamp	now = ev_now(srv->loop);

	r->tokens += (now - r->at) * (double)srv->cfg.connects_per_second;
	if (r->tokens > (double)srv->cfg.connect_burst)
		r->tokens = (double)srv->cfg.connect_burst;
	r->at = now;
}

/* Whether a bucket is full again, so forgetting it changes nothing. */
static int
listener_rate_full(void *v, void *arg)
{
	struct connect_rate	*r = v;
	struct server		*srv = arg;

	listener_refill(srv, r);
	if (r->tokens < (double)srv->cfg.connect_burst)
		return (0);
	free(r);
	return (1);
}

/*
 * Take a token from the connect bucket of an address; 0 if it has none.
 * Buckets of addresses that have not connected for a while are full and
 * are swept once there are many (at most once a second), so the map
 * holds about the addresses of the last connect_burst /
 * connects_per_second seconds.
 */
static int
listener_take_connect(struct server *srv, const unsigned char *key,
    size_t keylen)
{
	struct connect_rate	*r;

	if (srv->cfg.connects_per_second == 0)
		return (1);
	if ((r = map_get(&srv->connects, key, keylen)) == NULL) {
		if (srv->connects.count >= CHATD_RATE_SWEEP &&
		    ev_now(srv->loop) - srv->connects_swept >= 1.) {
			map_sweep(&srv->connects, listener_rate_full, srv);
			srv->connects_swept = ev_now(srv->loop);
		}
		r = xmalloc(sizeof *r);
		r->tokens = (double)srv->cfg.connect_burst;
		r->at = ev_now(srv->loop);
		map_put(&srv->connects, key, keylen, r);
	}
	listener_refill(srv, r);
	if (r->tokens < 1.)
		return (0);
	r->tokens -= 1.;
	return (1);
}

/* Forget every connect bucket (at exit). */
static int
listener_rate_free(void *v, __unused void *arg)
{
	free(v);
	return (1);
}

/* Free what the connection limits hold. */
void
listener_free_limits(struct server *srv)
{
	map_sweep(&srv->connects, listener_rate_free, NULL);
	map_free(&srv->connects);
}

/*
 * An upgrade: the connect bucket of every address goes into the state,
 * so that an address at its connects_per_second limit stays limited in
 * the new process (listener_adopt_rate()).
 */
void
listener_put_rates(struct server *srv, struct clbuf *state)
{
	struct ustate_rate	 ur;
	struct map_entry	*e;
	struct connect_rate	*r;
	size_t			 i;

	for (i = 0; i < srv->connects.nbuckets; i++) {
		for (e = srv->connects.buckets[i]; e != NULL; e = e->next) {
			if (e->klen > sizeof ur.ipkey)
				continue;
			r = e->value;
			memset(&ur, 0, sizeof ur);
			memcpy(ur.ipkey, e->key, e->klen);
			ur.ipkeylen = e->klen;
			ur.tokens = r->tokens;
			ur.at = r->at;
			ustate_put_rate(state, &ur);
		}
	}
}

/* A connect bucket the old process of an upgrade had. */
void
listener_adopt_rate(struct server *srv, const struct ustate_rate *ur)
{
	struct connect_rate	*r;

	if ((r = map_get(&srv->connects, ur->ipkey, ur->ipkeylen)) == NULL) {
		r = xmalloc(sizeof *r);
		map_put(&srv->connects, ur->ipkey, ur->ipkeylen, r);
	}
	r->tokens = ur->tokens;
	r->at = ur->at;
}

/* Increase the connection count of an address. */
void
listener_hold_ip(struct server *srv, const unsigned char *key, size_t len)
{
	uintptr_t	n;

	n = (uintptr_t)map_get(&srv->per_ip, key, len);
	map_put(&srv->per_ip, key, len, (void *)(n + 1));
}

/*
 * Which connection limit a new client from sa would not pass: NULL if
 * none, else the reason it is refused ("full", "per_ip", "rate", as
 * counted in chatd_refused_total) with the message for it in *msg.  A
 * connect token is taken when the others pass.
 */
const char *
listener_limit(struct server *srv, const struct sockaddr *sa,
    const char **msg)
{
	unsigned char	key[17];
	size_t		keylen;
	uintptr_t	n;

	if (srv->nseats >= srv->max_clients) {
		*msg = MSG_FULL;
		return ("full");
	}
	keylen = client_ipkey(sa, key, (int)srv->cfg.ipv6_prefix);
	n = (uintptr_t)map_get(&srv->per_ip, key, keylen);
	if (srv->cfg.max_per_ip > 0 && n >= (uintptr_t)srv->cfg.max_per_ip) {
		*msg = MSG_PER_IP;
		return ("per_ip");
	}
	if (!listener_take_connect(srv, key, keylen)) {
		*msg = MSG_RATE;
		return ("rate");
	}
	return (NULL);
}

/*
 * Count a connection that passed the limits against its address and make
 * it a client of l's transport, set up with ctx.  Another door (the
 * WebSocket upgrade) calls this once it has checked listener_limit().
 */
struct client *
listener_take(struct listener *l, int fd, const struct sockaddr *sa,
    void *ctx)
{
	struct server	*srv = l->srv;
	unsigned char	 key[17];
	size_t		 keylen;
	int		 one = 1;

	keylen = client_ipkey(sa, key, (int)srv->cfg.ipv6_prefix);
	listener_hold_ip(srv, key, keylen);
	/* Lines are small and already batched per loop turn: send them now. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return (client_new(srv, l, fd, sa, ctx));
}

/* Take one accepted connection through the limits to a new client. */
static void
listener_admit(struct listener *l, int fd, const struct sockaddr *sa)
{
	struct server		*srv = l->srv;
	char			 addr[CHATD_ADDR_MAX];
	const char		*why, *msg;

	if ((why = listener_limit(srv, sa, &msg)) != NULL) {
		client_format_addr(sa, addr, sizeof addr);
		listener_refuse(l, fd, msg, addr, why);
		return;
	}
	listener_take(l, fd, sa, l->kind->context != NULL ?
	    l->kind->context(srv) : NULL);
}

/*
 * Keep the client descriptors within max_clients (as the descriptor limit
 * fitted it): seats are given up when users leave, but their sockets
 * linger up to CHATD_LINGER to deliver the goodbye, so a crowd of leavers
 * and newcomers could otherwise run the process out of descriptors.  The
 * oldest lingering connections are closed first: they have had the
 * longest to be read.
 */
void
listener_make_room(struct server *srv)
{
	struct client	*c;

	while (srv->nclients >= srv->max_clients &&
	    (c = TAILQ_FIRST(&srv->draining)) != NULL) {
		log_debug("client %llu: closed before its linger time is "
		    "over, for a newcomer's descriptor",
		    (unsigned long long)c->id);
		metric_inc(METRIC_LINGER_CUT);
		client_finish(c);
	}
}

/* Accept what is waiting, a bounded batch at a time. */
static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct listener		*l = container_of(w, struct listener, io);
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i;

	for (i = 0; i < CHATD_ACCEPT_BATCH; i++) {
		listener_make_room(l->srv);
		sslen = sizeof ss;
		fd = accept(l->fd, (struct sockaddr *)&ss, &sslen);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Waiting connections would wake us at once
				 * again: rest the listener for a moment. */
				log_warn("accept: %s; pausing new connections "
				    "for %.0f s", strerror(errno),
				    CHATD_EMFILE_PAUSE);
				ev_io_stop(loop, &l->io);
				ev_timer_set(&l->pause, CHATD_EMFILE_PAUSE, 0.);
				ev_timer_start(loop, &l->pause);
				return;
			default:
				log_warn("accept: %s", strerror(errno));
				return;
			}
		}
		if (set_nonblock(fd) == -1) {
			log_warn("accept: fcntl: %s", strerror(errno));
			close(fd);
			continue;
		}
		l->kind->admit(l, fd, (struct sockaddr *)&ss);
	}
}

/* The pause after EMFILE is over. */
static void
listener_resume_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct listener	*l = container_of(w, struct listener, pause);

	ev_io_start(loop, &l->io);
}

/*
 * How many descriptors are open: from /proc/self/fd where there is one,
 * else by asking for each below limit (capped at 4096).
 */
static size_t
count_open_fds(rlim_t limit)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;
	int		 fd, top;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.')
				n++;
		}
		closedir(d);
		return (n > 0 ? n - 1 : 0);	/* less the one reading it */
	}
	top = limit == RLIM_INFINITY || limit > 4096 ? 4096 : (int)limit;
	for (fd = 0; fd < top; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	}
	return (n);
}

/*
 * Fit max_clients to the descriptor limit: each client takes one, and
 * chatd keeps what it had open before the first client (the standard
 * streams, the listener, the event loop) plus CHATD_FD_SPARE for the files
 * plugins and reloads open.  A soft limit too low is raised toward the
 * hard one; what still does not fit is logged, and srv->max_clients is
 * what fits.  Run at startup and after each reload.
 */
void
listener_fit_clients(struct server *srv)
{
	struct rlimit		 rl;
	rlim_t			 need, old;
	unsigned long long	 want;

	want = (unsigned long long)srv->cfg.max_clients;
	srv->max_clients = (size_t)want;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s; not checking "
		    "max_clients against it", strerror(errno));
		return;
	}
	if (srv->fd_base == 0)
		srv->fd_base = count_open_fds(rl.rlim_cur);
	need = (rlim_t)(want + srv->fd_base + CHATD_FD_SPARE);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;

	old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
	    need : rl.rlim_max;
	if (rl.rlim_cur > old) {
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("raised the descriptor limit (RLIMIT_NOFILE) "
			    "from %llu to %llu for max_clients %llu",
			    (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur, want);
		else {
			log_warn("cannot raise the descriptor limit "
			    "(RLIMIT_NOFILE) from %llu to %llu: %s",
			    (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur, strerror(errno));
			rl.rlim_cur = old;
		}
	}
	if (rl.rlim_cur >= need)
		return;
	srv->max_clients = rl.rlim_cur > srv->fd_base + CHATD_FD_SPARE ?
	    (size_t)rl.rlim_cur - srv->fd_base - CHATD_FD_SPARE : 0;
	log_warn("max_clients %llu needs %llu descriptors but the limit "
	    "(RLIMIT_NOFILE) is %llu (hard limit %llu); serving at most %zu "
	    "clients", want, (unsigned long long)need,
	    (unsigned long long)rl.rlim_cur,
	    (unsigned long long)rl.rlim_max, srv->max_clients);
}

/*
 * A listening socket for a kind: the one systemd passed under the kind's
 * name ("chat" for the plain one), else one bound to addr:port (none when
 * port is -1), with SO_REUSEPORT if reuse_port.  Its address goes to bound ("ip:port"), how it was had to
 * how ("" or "descriptor 3 (chat) from systemd").  Returns the fd
 * (non-blocking, close-on-exec), or -1 with the reason in err (empty when
 * the kind is not configured and systemd passed nothing for it).
 */
static int
listener_socket(const struct listener_kind *kind, const char *addr,
    int port, int reuse_port, char *bound, size_t boundlen, char *how, size_t howlen,
    char *err, size_t errlen)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			 portstr[16];
	int			 fd, one = 1, rc;

	*how = '\0';
	*err = '\0';
	fd = systemd_listen_take(kind->name != NULL ? kind->name : "chat", how,
	    howlen);
	if (fd != -1) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
			snprintf(err, errlen, "%s: getsockname: %s", how,
			    strerror(errno));
			close(fd);
			return (-1);
		}
		client_format_addr((struct sockaddr *)&ss, bound, boundlen);
		return (fd);
	}
	if (port < 0)
		return (-1);		/* not configured */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%d", port);
	if ((rc = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "bind address '%s': %s", addr,
		    gai_strerror(rc));
		return (-1);
	}
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return (-1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Several processes on one port: the kernel spreads connections. */
	if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
	    &one, sizeof one) == -1) {
		snprintf(err, errlen, "reuse_port: setsockopt(SO_REUSEPORT): "
		    "%s", strerror(errno));
		freeaddrinfo(res);
		close(fd);
		return (-1);
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1 || set_nonblock(fd) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "listen on %s port %d%s%s: %s", addr,
		    port, kind->name != NULL ? " for " : "",
		    kind->name != NULL ? kind->name : "", strerror(errno));
		freeaddrinfo(res);
		close(fd);
		return (-1);
	}
	freeaddrinfo(res);
	client_format_addr((struct sockaddr *)&ss, bound, boundlen);
	return (fd);
}

/*
 * Listen for kind (on addr:port, or on systemd's socket for it) and start
 * accepting.  Returns 1, 0 if the kind is not configured, or -1 with the
 * reason in err.
 */
static int
listener_open(struct listener *l, struct server *srv,
    const struct listener_kind *kind, const char *addr, int port, char *err,
    size_t errlen)
{
	char	how[96];

	memset(l, 0, sizeof *l);
	l->srv = srv;
	l->kind = kind;
	/* Only chat is spread over processes: a scrape of /metrics must
	 * reach the process it names. */
	l->fd = listener_socket(kind, addr, port, kind->transport != NULL &&
	    srv->cfg.reuse_port, l->addr, sizeof l->addr,
	    how, sizeof how, err, errlen);
	if (l->fd == -1)
		return (*err != '\0' ? -1 : 0);
	if (kind->context != NULL && kind->context(srv) == NULL) {
		/* systemd's socket, and nothing to serve it with */
		snprintf(err, errlen, "%s: [%s] has no cert and key to serve "
		    "it with", how, kind->section);
		close(l->fd);
		return (-1);
	}
	ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
	ev_init(&l->pause, listener_resume_cb);
	ev_io_start(srv->loop, &l->io);
	log_info("listening on %s%s%s%s%s%s", l->addr,
	    kind->name != NULL || *how != '\0' ? " (" : "",
	    kind->name != NULL ? kind->name : "",
	    kind->name != NULL && *how != '\0' ? ", " : "", how,
	    kind->name != NULL || *how != '\0' ? ")" : "");
	return (1);
}

/* The name a kind is known by across an upgrade: "chat" for plain. */
const char *
listener_kind_name(const struct listener_kind *kind)
{
	return (kind->name != NULL ? kind->name : "chat");
}

/* Take the settings of a listener's section that apply live. */
static void
listener_configure(struct listener *l)
{
	const struct config_key	*k;

	k = config_find(l->kind->section, "handshake_timeout");
	l->handshake_timeout = k != NULL ?
	    (double)config_int(&l->srv->cfg, k) : 0.;
}

/*
 * Open a listener for each kind whose section sets a port, or for which
 * systemd passed a socket.  Returns 0, or -1 with the reason in err (what
 * was opened is closed by listener_close_all).
 */
int
listener_open_all(struct server *srv, char *err, size_t errlen)
{
	const struct listener_kind	*kind;
	const struct config_key		*kbind, *kport;
	struct listener			*l;
	char				 names[128];
	int				 rc;

	for (kind = listener_kinds; kind->section != NULL; kind++) {
		kbind = config_find(kind->section, "bind");
		kport = config_find(kind->section, "port");
		if (srv->nlisteners == CHATD_LISTENER_MAX)
			fatal("more than %d listeners", CHATD_LISTENER_MAX);
		l = &srv->listeners[srv->nlisteners];
		rc = listener_open(l, srv, kind, config_str(&srv->cfg, kbind),
		    (int)config_int(&srv->cfg, kport), err, errlen);
		if (rc == -1)
			return (-1);
		if (rc == 0)
			continue;	/* not configured */
		srv->nlisteners++;
		listener_configure(l);
	}
	/* A socket from systemd that no kind took has a name we do not
	 * know: say which we do. */
	names[0] = '\0';
	for (kind = listener_kinds; kind->section != NULL; kind++) {
		snprintf(names + strlen(names), sizeof names - strlen(names),
		    "%s%s", names[0] != '\0' ? ", " : "", kind->name != NULL ?
		    kind->name : "chat");
	}
	return (systemd_listen_check(names, err, errlen));
}

/*
 * Listen on a socket the old process of an upgrade handed over, for the
 * kind it names.  Returns 0, or -1 with the reason in err (a kind this
 * binary does not have).
 */
int
listener_adopt(struct server *srv, const char *name, int fd, const char *addr,
    char *err, size_t errlen)
{
	const struct listener_kind	*kind;
	struct listener			*l;

	for (kind = listener_kinds; kind->section != NULL; kind++) {
		if (strcmp(listener_kind_name(kind), name) == 0)
			break;
	}
	if (kind->section == NULL) {
		snprintf(err, errlen, "a listener of kind '%s', which this "
		    "chatd does not have", name);
		return (-1);
	}
	if (srv->nlisteners == CHATD_LISTENER_MAX) {
		snprintf(err, errlen, "more than %d listeners",
		    CHATD_LISTENER_MAX);
		return (-1);
	}
	/* The old process serves this kind: this one must be able to. */
	if (kind->context != NULL && kind->context(srv) == NULL) {
		snprintf(err, errlen, "a %s listener (%s) was handed over, and "
		    "[%s] here sets up none", name, addr, kind->section);
		return (-1);
	}
	if (set_nonblock(fd) == -1) {
		snprintf(err, errlen, "listener %s: fcntl: %s", addr,
		    strerror(errno));
		return (-1);
	}
	l = &srv->listeners[srv->nlisteners++];
	memset(l, 0, sizeof *l);
	l->srv = srv;
	l->kind = kind;
	l->fd = fd;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	ev_io_init(&l->io, listener_accept_cb, l->fd, EV_READ);
	ev_init(&l->pause, listener_resume_cb);
	ev_io_start(srv->loop, &l->io);
	listener_configure(l);
	log_info("listening on %s%s%s (handed over)", l->addr,
	    kind->name != NULL ? " for " : "", kind->name != NULL ?
	    kind->name : "");
	return (0);
}

/* A reloaded configuration: the handshake timeouts. */
void
listener_apply_config(struct server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nlisteners; i++)
		listener_configure(&srv->listeners[i]);
}

/* Stop accepting and close the sockets. */
void
listener_close_all(struct server *srv)
{
	struct listener	*l;
	size_t		 i;

	for (i = 0; i < srv->nlisteners; i++) {
		l = &srv->listeners[i];
		ev_io_stop(srv->loop, &l->io);
		ev_timer_stop(srv->loop, &l->pause);
		close(l->fd);
	}
	srv->nlisteners = 0;
}
