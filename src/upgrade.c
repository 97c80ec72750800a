/*
 * Upgrading the binary under a live room: the old process starts the new
 * one and hands it every listening socket and every client's socket with
 * the client's state, so that users see a short pause, not a reconnect.
 *
 * The two processes speak over a socketpair; the new one finds its end
 * in $CHATD_UPGRADE_FD.  A message is a frame: a u32 type and a u32
 * payload length (little-endian), then the payload; descriptors ride as
 * SCM_RIGHTS on the first byte of an 'F' frame, at most
 * UPGRADE_FDS_MAX per frame (the kernel's SCM_MAX_FD is 253).
 *
 *   old                                 new
 *   fork, exec the installed binary --> reads its config, loads plugins
 *   (goes on serving meanwhile)    <--  'R' version   (or 'E' why not)
 *   settles: reaps, flushes; from here it reads no socket
 *   'S' state bytes ... 'F' fds ... 'Z' counts  -->
 *                                  <--  'A'  adopted every descriptor
 *   MAINPID= to systemd; 'G'       -->  serves: reads the sockets,
 *   exits without touching a socket      runs the "upgrade" hooks
 *
 * Until 'G' only the old process serves, and after it only the new one:
 * nothing is ever served by both.  Whatever fails before 'G' is sent (the
 * new binary exits, hangs past upgrade_timeout, refuses the state, a
 * descriptor is refused with MSG_CTRUNC) ends the new process and the old
 * one carries on with every connection: it never gave any up, it only
 * stopped reading while it waited, and what clients sent meanwhile is in
 * the kernel's buffers.  Lines that arrive during the hand-over are read
 * by the new process, in order, from the same buffers.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chatd.h"

#define UPGRADE_ENV		"CHATD_UPGRADE_FD"
#define UPGRADE_FDS_MAX		253	/* descriptors per message */
#define UPGRADE_CHUNK		(1u << 20)	/* state bytes per frame */
#define UPGRADE_FRAME_MAX	(4u << 20)	/* payload accepted */
#define UPGRADE_STEP		2.0	/* seconds for a step once begun */

enum {
	UP_READY = 'R',		/* new: config and plugins loaded */
	UP_ERROR = 'E',		/* new: cannot go on; payload says why */
	UP_STATE = 'S',		/* old: bytes of the state */
	UP_FDS = 'F',		/* old: u32 count, the descriptors beside */
	UP_END = 'Z',		/* old: u32 descriptors, u64 state bytes */
	UP_ADOPTED = 'A',	/* new: took everything */
	UP_GO = 'G'		/* old: serve; I am leaving */
};

/* The old process's side of an upgrade under way. */
struct upgrade {
	struct server	*srv;
	pid_t		 pid;
	int		 fd;
	ev_io		 io;
	ev_timer	 timer;
	ev_child	 child;		/* libev reaps it: the status is here */
};

static char		*upgrade_exe;	/* the installed binary */
static char	       **upgrade_argv;	/* as chatd was started */

/* Seconds on a clock that no one sets. */
static double
upgrade_clock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * Remember how chatd was started: an upgrade starts the binary at the
 * same path (where a package puts the new one) with the same arguments.
 */
void
upgrade_init(int argc, char **argv)
{
	char	path[4096];
	ssize_t	n;
	int	i;

	n = readlink("/proc/self/exe", path, sizeof path - 1);
	path[n > 0 ? n : 0] = '\0';	/* readlink() does not end it */
	if (n > 0 && strstr(path, " (deleted)") == NULL)
		upgrade_exe = xstrdup(path);
	else
		upgrade_exe = xstrdup(argv[0]);
	upgrade_argv = xcalloc((size_t)argc + 1, sizeof *upgrade_argv);
	for (i = 0; i < argc; i++)
		upgrade_argv[i] = xstrdup(argv[i]);
}

/* Free what upgrade_init() kept. */
void
upgrade_free(void)
{
	char	**p;

	if (upgrade_argv != NULL) {
		for (p = upgrade_argv; *p != NULL; p++)
			free(*p);
	}
	free(upgrade_argv);
	free(upgrade_exe);
	upgrade_argv = NULL;
	upgrade_exe = NULL;
}

/* Wait until fd is ready for events, at most until deadline. */
static int
upgrade_poll(int fd, short events, double deadline, char *err, size_t errlen)
{
	struct pollfd	pfd;
	double		left;
	int		r;

	for (;;) {
		left = deadline - upgrade_clock();
		if (left <= 0) {
			snprintf(err, errlen, "timed out");
			return (-1);
		}
		pfd.fd = fd;
		pfd.events = events;
		r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return (0);
		if (r == -1 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return (-1);
		}
	}
}

/* Put a frame header in h. */
static void
upgrade_header(unsigned char *h, uint32_t type, uint32_t len)
{
	int	i;

	for (i = 0; i < 4; i++) {
		h[i] = (unsigned char)(type >> (8 * i));
		h[4 + i] = (unsigned char)(len >> (8 * i));
	}
}

/*
 * Send one frame, with nfds descriptors on its first byte.  Returns 0, or
 * -1 with the reason in err.
 */
static int
upgrade_send(int fd, int type, const void *payload, size_t len,
    const int *fds, size_t nfds, double deadline, char *err, size_t errlen)
{
	unsigned char	 h[8];
	struct iovec	 iov[2];
	struct msghdr	 msg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(UPGRADE_FDS_MAX * sizeof(int))];
	}		 cm;
	struct cmsghdr	*cmsg;
	size_t		 done = 0, total = sizeof h + len, skip;
	ssize_t		 n;
	int		 iovcnt;

	upgrade_header(h, (uint32_t)type, (uint32_t)len);
	while (done < total) {
		if (upgrade_poll(fd, POLLOUT, deadline, err, errlen) != 0)
			return (-1);
		iovcnt = 0;
		if (done < sizeof h) {
			iov[iovcnt].iov_base = h + done;
			iov[iovcnt++].iov_len = sizeof h - done;
		}
		skip = done > sizeof h ? done - sizeof h : 0;
		if (len > skip) {
			iov[iovcnt].iov_base = (char *)(uintptr_t)payload + skip;
			iov[iovcnt++].iov_len = len - skip;
		}
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)iovcnt;
		if (done == 0 && nfds > 0) {
			memset(&cm, 0, sizeof cm);
			msg.msg_control = cm.buf;
			msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
		}
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, errlen, "send: %s", strerror(errno));
			return (-1);
		}
		done += (size_t)n;
	}
	return (0);
}

/* Close descriptors received and not kept. */
static void
upgrade_close_fds(int *fds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * Read one frame: its type, its payload appended to body (NULL: the
 * payload must be empty... or is dropped), and the descriptors on its
 * first byte appended to *fds (NULL: none may come).  Returns 1, 0 at
 * EOF before a frame, or -1 with the reason in err.
 */
static int
upgrade_recv(int fd, int *type, struct clbuf *body, int **fds, size_t *nfds,
    double deadline, char *err, size_t errlen)
{
	unsigned char	 h[8];
	struct iovec	 iov;
	struct msghdr	 msg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(UPGRADE_FDS_MAX * sizeof(int))];
	}		 cm;
	struct cmsghdr	*cmsg;
	size_t		 got = 0, len, k, n0;
	uint32_t	 ty = 0, ln = 0;
	char		 chunk[65536];
	ssize_t		 n;
	int		 i;

	while (got < sizeof h) {
		if (upgrade_poll(fd, POLLIN, deadline, err, errlen) != 0)
			return (-1);
		iov.iov_base = h + got;
		iov.iov_len = sizeof h - got;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof cm.buf;
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, errlen, "receive: %s", strerror(errno));
			return (-1);
		}
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (fds == NULL) {
				upgrade_close_fds((int *)(void *)
				    CMSG_DATA(cmsg), k);
				snprintf(err, errlen, "descriptors where none "
				    "were expected");
				return (-1);
			}
			n0 = *nfds;
			*fds = xrealloc(*fds, (n0 + k) * sizeof **fds);
			memcpy(*fds + n0, CMSG_DATA(cmsg), k * sizeof(int));
			*nfds = n0 + k;
		}
		if (msg.msg_flags & MSG_CTRUNC) {
			snprintf(err, errlen, "descriptors refused (MSG_CTRUNC: "
			    "the descriptor limit, or more than %d in a "
			    "message)", UPGRADE_FDS_MAX);
			return (-1);
		}
		if (n == 0) {
			if (got == 0)
				return (0);
			snprintf(err, errlen, "the peer closed in a frame");
			return (-1);
		}
		got += (size_t)n;
	}
	for (i = 0; i < 4; i++) {
		ty |= (uint32_t)h[i] << (8 * i);
		ln |= (uint32_t)h[4 + i] << (8 * i);
	}
	if (ln > UPGRADE_FRAME_MAX) {
		snprintf(err, errlen, "a frame of %u bytes", ln);
		return (-1);
	}
	*type = (int)ty;
	for (len = ln; len > 0; len -= (size_t)n) {
		if (upgrade_poll(fd, POLLIN, deadline, err, errlen) != 0)
			return (-1);
		n = read(fd, chunk, len < sizeof chunk ? len : sizeof chunk);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "receive: %s", n == 0 ?
			    "the peer closed in a frame" : strerror(errno));
			return (-1);
		}
		if (body != NULL)
			clbuf_append(body, chunk, (size_t)n);
	}
	return (1);
}

/* A little-endian number from the front of a payload. */
static uint64_t
upgrade_number(const struct clbuf *b, size_t off, size_t width)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < width && off + i < b->len; i++)
		v |= (uint64_t)(unsigned char)b->data[off + i] << (8 * i);
	return (v);
}

/* ---- the old process ------------------------------------------------ */

/* Stop watching the new process and forget the upgrade. */
static void
upgrade_end(struct upgrade *u)
{
	struct server	*srv = u->srv;

	ev_io_stop(srv->loop, &u->io);
	ev_timer_stop(srv->loop, &u->timer);
	ev_child_stop(srv->loop, &u->child);
	if (u->fd != -1)
		close(u->fd);
	srv->upgrade = NULL;
	free(u);
}

/* What became of the new process, for the log. */
static void
upgrade_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "; it exited with status %d",
		    WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		snprintf(buf, len, "; it was killed by signal %d",
		    WTERMSIG(st));
	else
		*buf = '\0';
}

/*
 * The upgrade failed: end the new process (it has served nobody) and go
 * on serving every connection, as before.
 */
static void
upgrade_fail(struct upgrade *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
upgrade_fail(struct upgrade *u, const char *fmt, ...)
{
	char	why[1024], how[64];
	va_list	ap;
	pid_t	r;
	int	st = 0, i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* A process that said why or closed its end is leaving by itself:
	 * give it a moment to say how (not one that hangs), then make sure
	 * it is gone. */
	for (i = 0; (r = waitpid(u->pid, &st, WNOHANG)) == 0 &&
	    i < (ev_is_active(&u->timer) ? 100 : 0); i++)
		usleep(10000);
	if (r == 0) {
		kill(u->pid, SIGKILL);
		while ((r = waitpid(u->pid, &st, 0)) == -1 && errno == EINTR)
			;
	}
	/* The loop's SIGCHLD handler may have reaped it first. */
	if (r == -1 && u->child.rpid == u->pid)
		st = u->child.rstatus;
	upgrade_status(st, how, sizeof how);
	log_error("upgrade failed: %s%s; this process (pid %d) goes on "
	    "serving %zu clients", why, how, (int)getpid(),
	    u->srv->reg.count);
	systemd_notify("STATUS=upgrade failed: %s", why);
	metric_inc(METRIC_UPGRADE_FAILURES);
	upgrade_end(u);
}

/* The unwritten bytes of a client's queue, in order. */
static void
upgrade_output(const struct client *c, struct clbuf *out)
{
	out->len = 0;
	outq_copy(&c->out, out);
}

/* Whether a client is handed over: a local one on a movable transport. */
static int
upgrade_movable(const struct client *c)
{
	return (!(c->flags & CLIENT_REMOTE) && c->conn.t->movable);
}

/*
 * Write the state of this server: its listeners and its online clients
 * (in join order), with their descriptors in the same order in fds.
 */
static void
upgrade_snapshot(struct server *srv, struct clbuf *state, int *fds,
    size_t *nfds, size_t *nqueued, size_t *queued)
{
	struct ustate_header	 h;
	struct ustate_listener	 ul;
	struct ustate_client	 uc;
	struct ustate_cluster	 ucl;
	struct clbuf		 out = { NULL, 0, 0 };
	struct client		*c;
	size_t			 i, n = 0, nclients = 0;

	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (upgrade_movable(c))
			nclients++;
	}
	memset(&h, 0, sizeof h);
	h.version = PACKAGE_VERSION;
	h.next_id = srv->reg.next_id;
	h.started = srv->started;
	h.nlisteners = srv->nlisteners;
	h.nclients = nclients;
	ustate_put_header(state, &h);
	for (i = 0; i < srv->nlisteners; i++) {
		memset(&ul, 0, sizeof ul);
		snprintf(ul.kind, sizeof ul.kind, "%s",
		    listener_kind_name(srv->listeners[i].kind));
		snprintf(ul.addr, sizeof ul.addr, "%s", srv->listeners[i].addr);
		ustate_put_listener(state, &ul);
		fds[n++] = srv->listeners[i].fd;
	}
	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (!upgrade_movable(c))
			continue;
		memset(&uc, 0, sizeof uc);
		uc.id = c->id;
		uc.name = c->name;
		uc.namelen = strlen(c->name);
		memcpy(uc.addr, c->addr, sizeof uc.addr);
		memcpy(uc.ipkey, c->ipkey, c->ipkeylen);
		uc.ipkeylen = c->ipkeylen;
		uc.joined = c->joined;
		uc.last_active = c->last_active;
		uc.tokens = c->tokens;
		uc.tokens_at = c->tokens_at;
		uc.btokens = c->btokens;
		uc.btokens_at = c->btokens_at;
		uc.telnet_state = c->telnet.state;
		uc.telnet_cr = c->telnet.cr;
		uc.flags = c->in.discarding ? USTATE_DISCARDING : 0;
		uc.input = c->in.data != NULL ? c->in.data + c->in.start : "";
		uc.inputlen = c->in.len - c->in.start;
		upgrade_output(c, &out);
		if (out.len > 0) {
			(*nqueued)++;
			*queued += out.len;
		}
		uc.output = out.data != NULL ? out.data : "";
		uc.outputlen = out.len;
		ustate_put_client(state, &uc);
		fds[n++] = c->conn.fd;
	}
	listener_put_rates(srv, state);
	if (srv->cluster != NULL) {
		cluster_handover_state(srv->cluster, &ucl);
		ustate_put_cluster(state, &ucl);
		free(ucl.peers);
	}
	ustate_put_end(state);
	clbuf_free(&out);
	*nfds = n;
}

/*
 * Handed over: the sockets are the new process's.  Callbacks already
 * pending in this loop turn must not run (a read would take a line from
 * the new process), so every client handed over is freed here, which
 * stops its watchers and closes only this process's copy of its socket.
 * The loop ends after this turn, or, while users of a transport that
 * could not move still drain their goodbye, once they are gone (at most
 * CHATD_LINGER seconds).
 */
static void
upgrade_freeze(struct server *srv)
{
	struct client	*c, *next;

	listener_close_all(srv);
	if (srv->cluster != NULL)
		cluster_handed(srv->cluster);
	for (c = TAILQ_FIRST(&srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->flags & CLIENT_REMOTE)
			continue;
		c->flags |= CLIENT_MOVED;
		registry_remove(&srv->reg, c);
		client_finish(c);
	}
	if (TAILQ_EMPTY(&srv->draining)) {
		ev_prepare_stop(srv->loop, &srv->prepare);
		ev_break(srv->loop, EVBREAK_ALL);
		return;
	}
	log_info("upgrade: waiting for %zu clients to take their goodbye",
	    srv->nclients);
	ev_timer_set(&srv->stop_timer, CHATD_LINGER + 1., 0.);
	ev_timer_start(srv->loop, &srv->stop_timer);
}

/*
 * Before the hand-over: clients whose transport cannot move (TLS) leave
 * through the usual path with the reason "upgrade", so that the plugins
 * tell them to reconnect and tell the others once; their goodbye is
 * flushed as the kernel takes it and their transport closes in order
 * (TLS close_notify) while they drain.  Handshakes under way are cut:
 * nobody has joined there.  Returns how many were closed.
 */
static size_t
upgrade_release(struct server *srv)
{
	struct client	*c, *next;
	size_t		 n = 0;

	while ((c = TAILQ_FIRST(&srv->handshaking)) != NULL)
		client_finish(c);
	for (c = TAILQ_FIRST(&srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->flags & CLIENT_REMOTE || c->conn.t->movable)
			continue;
		client_close(c, CHATD_LEAVE_UPGRADE);
		n++;
	}
	return (n);
}

/*
 * The new process is ready: hand everything over.  Runs to the end
 * without returning to the loop, so no socket is read meanwhile.
 */
static void
upgrade_handover(struct upgrade *u)
{
	struct server	*srv = u->srv;
	struct clbuf	 state = { NULL, 0, 0 }, reply = { NULL, 0, 0 };
	unsigned char	 end[12];
	char		 err[256];
	double		 t0 = upgrade_clock(), deadline;
	size_t		 nfds = 0, i, k, nqueued = 0, queued = 0, nleft;
	int		*fds, type = 0, r, j;

	/* Close who cannot move, reap who is leaving and write what the
	 * kernel takes: what is left queued travels with the state. */
	nleft = upgrade_release(srv);
	server_settle(srv);
	/* In a cluster: what this process told the room is published before
	 * the new process can say anything (what the answers bring is
	 * settled too). */
	if (srv->cluster != NULL) {
		if (cluster_drain(srv->cluster, ev_time() + UPGRADE_STEP) != 0) {
			upgrade_fail(u, "hand-over to pid %d: Redis did not "
			    "answer within %.0f s", (int)u->pid, UPGRADE_STEP);
			return;
		}
		server_settle(srv);
	}
	if (nleft > 0)
		log_info("upgrade: %zu clients of a transport that cannot be "
		    "handed over (TLS) told to reconnect and closed", nleft);
	fds = xcalloc(srv->nlisteners + srv->nclients + 1, sizeof *fds);
	upgrade_snapshot(srv, &state, fds, &nfds, &nqueued, &queued);
	deadline = upgrade_clock() + (double)srv->cfg.upgrade_timeout;
	for (i = 0; i < state.len; i += UPGRADE_CHUNK) {
		k = state.len - i < UPGRADE_CHUNK ? state.len - i :
		    UPGRADE_CHUNK;
		if (upgrade_send(u->fd, UP_STATE, state.data + i, k, NULL, 0,
		    deadline, err, sizeof err) != 0)
			goto fail;
	}
	for (i = 0; i < nfds; i += k) {
		k = nfds - i < UPGRADE_FDS_MAX ? nfds - i : UPGRADE_FDS_MAX;
		for (j = 0; j < 4; j++)
			end[j] = (unsigned char)(k >> (8 * j));
		if (upgrade_send(u->fd, UP_FDS, end, 4, fds + i, k, deadline,
		    err, sizeof err) != 0)
			goto fail;
	}
	for (j = 0; j < 4; j++)
		end[j] = (unsigned char)(nfds >> (8 * j));
	for (j = 0; j < 8; j++)
		end[4 + j] = (unsigned char)((uint64_t)state.len >> (8 * j));
	if (upgrade_send(u->fd, UP_END, end, sizeof end, NULL, 0, deadline,
	    err, sizeof err) != 0)
		goto fail;
	r = upgrade_recv(u->fd, &type, &reply, NULL, NULL, deadline, err,
	    sizeof err);
	if (r == 0)
		snprintf(err, sizeof err, "the new process closed its end");
	if (r <= 0)
		goto fail;
	if (type != UP_ADOPTED) {
		snprintf(err, sizeof err, "the new process refused the "
		    "state: %.*s", (int)reply.len, reply.data != NULL ?
		    reply.data : "");
		goto fail;
	}
	/* Past this point the new process serves: systemd hears of its
	 * pid first, so that its READY=1 comes from the main process. */
	systemd_notify("MAINPID=%d\nSTATUS=handed over to pid %d",
	    (int)u->pid, (int)u->pid);
	if (upgrade_send(u->fd, UP_GO, NULL, 0, NULL, 0, upgrade_clock() +
	    UPGRADE_STEP, err, sizeof err) != 0) {
		systemd_notify("MAINPID=%d", (int)getpid());
		goto fail;
	}
	log_info("upgrade: %zu clients and %zu listeners (%zu bytes of "
	    "state, queued output for %zu clients: %zu bytes) handed to pid "
	    "%d in %.1f ms; exiting", srv->reg.count, srv->nlisteners,
	    state.len, nqueued, queued, (int)u->pid,
	    (upgrade_clock() - t0) * 1e3);
	srv->upgraded = 1;
	clbuf_free(&state);
	clbuf_free(&reply);
	free(fds);
	upgrade_end(u);
	upgrade_freeze(srv);
	return;

fail:
	clbuf_free(&state);
	clbuf_free(&reply);
	free(fds);
	upgrade_fail(u, "hand-over to pid %d: %s", (int)u->pid, err);
}

/* The new process said something: ready, or why it cannot be. */
static void
upgrade_io_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct upgrade	*u = container_of(w, struct upgrade, io);
	struct clbuf	 body = { NULL, 0, 0 };
	char		 err[256];
	int		 r, type = 0;

	r = upgrade_recv(u->fd, &type, &body, NULL, NULL, upgrade_clock() +
	    UPGRADE_STEP, err, sizeof err);
	if (r == 1 && type == UP_READY) {
		log_info("upgrade: pid %d (chatd %.*s) is ready; handing "
		    "over", (int)u->pid, (int)body.len, body.data != NULL ?
		    body.data : "");
		clbuf_free(&body);
		upgrade_handover(u);
		return;
	}
	if (r == 1 && type == UP_ERROR)
		upgrade_fail(u, "the new chatd (pid %d) cannot start: %.*s",
		    (int)u->pid, (int)body.len, body.data != NULL ?
		    body.data : "");
	else if (r == 0)
		upgrade_fail(u, "the new chatd (pid %d) exited before it was "
		    "ready", (int)u->pid);
	else if (r == 1)
		upgrade_fail(u, "the new chatd (pid %d) sent frame %d before "
		    "it was ready", (int)u->pid, type);
	else
		upgrade_fail(u, "the new chatd (pid %d): %s", (int)u->pid,
		    err);
	clbuf_free(&body);
}

/* The new process ended; what it said, or its silence, tells why. */
static void
upgrade_child_cb(__unused struct ev_loop *loop, __unused ev_child *w,
    __unused int revents)
{
}

/* The new process took too long to get ready. */
static void
upgrade_timer_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct upgrade	*u = container_of(w, struct upgrade, timer);
	struct server	*srv = ev_userdata(loop);

	upgrade_fail(u, "the new chatd (pid %d) was not ready within "
	    "upgrade_timeout (%lld s)", (int)u->pid, srv->cfg.upgrade_timeout);
}

/* In the child, between fork() and exec(): become the new process. */
static void
upgrade_exec(int fd) __attribute__((noreturn));
static void
upgrade_exec(int fd)
{
	unsigned char	h[8];
	char		num[16], msg[512];
	sigset_t	none;
	size_t		len;
	ssize_t		n;

	snprintf(num, sizeof num, "%d", fd);
	setenv(UPGRADE_ENV, num, 1);
	systemd_child_env();
	/* The loop's signal handling blocks what it catches: the new
	 * process starts with nothing blocked, as from a shell. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(upgrade_exe, upgrade_argv);
	len = (size_t)snprintf(msg, sizeof msg, "cannot run %s: %s",
	    upgrade_exe, strerror(errno));
	if (len >= sizeof msg)
		len = sizeof msg - 1;
	upgrade_header(h, UP_ERROR, (uint32_t)len);
	n = write(fd, h, sizeof h);
	n = write(fd, msg, len);
	(void)n;
	_exit(127);
}

/*
 * SIGUSR2: start the installed binary as the new process and wait for it
 * to be ready; this process serves meanwhile.
 */
void
upgrade_start(struct server *srv)
{
	struct upgrade	*u;
	int		 sv[2], fl;
	pid_t		 pid;

	if (srv->upgraded) {
		log_warn("upgrade: ignored, this process has handed over");
		return;
	}
	if (srv->stopping) {
		log_warn("upgrade: ignored, the server is stopping");
		return;
	}
	if (srv->upgrade != NULL) {
		log_warn("upgrade: ignored, one is under way (pid %d)",
		    (int)srv->upgrade->pid);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_error("upgrade failed: socketpair: %s", strerror(errno));
		metric_inc(METRIC_UPGRADE_FAILURES);
		return;
	}
	/* The new process loads its plugins from the file: give it what
	 * they keep now. */
	state_write(srv);
	log_info("upgrade: starting %s", upgrade_exe);
	if ((pid = fork()) == -1) {
		log_error("upgrade failed: fork: %s", strerror(errno));
		metric_inc(METRIC_UPGRADE_FAILURES);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		/* The one descriptor the new process inherits. */
		fcntl(sv[1], F_SETFD, 0);
		upgrade_exec(sv[1]);
	}
	close(sv[1]);
	if ((fl = fcntl(sv[0], F_GETFL)) != -1)
		fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
	u = xcalloc(1, sizeof *u);
	u->srv = srv;
	u->pid = pid;
	u->fd = sv[0];
	srv->upgrade = u;
	metric_inc(METRIC_UPGRADES);
	ev_io_init(&u->io, upgrade_io_cb, u->fd, EV_READ);
	ev_io_start(srv->loop, &u->io);
	ev_timer_init(&u->timer, upgrade_timer_cb,
	    (double)srv->cfg.upgrade_timeout, 0.);
	ev_timer_start(srv->loop, &u->timer);
	ev_child_init(&u->child, upgrade_child_cb, pid, 0);
	ev_child_start(srv->loop, &u->child);
	systemd_notify("STATUS=upgrading: pid %d starting", (int)pid);
}

/* The server stops or is freed: an upgrade under way is abandoned. */
void
upgrade_abort(struct server *srv)
{
	if (srv->upgrade != NULL)
		upgrade_fail(srv->upgrade, "the server is stopping");
}

/* ---- the new process ------------------------------------------------ */

/* The descriptor to the old process, or -1 when not upgrading. */
static int upgrade_peer = -1;

/*
 * Whether this process was started by an upgrade; takes the descriptor
 * from the environment, so that nothing this process starts sees it.
 */
int
upgrade_child(void)
{
	const char	*v = getenv(UPGRADE_ENV);
	char		*end;
	long		 fd;

	if (v == NULL)
		return (upgrade_peer != -1);
	fd = strtol(v, &end, 10);
	unsetenv(UPGRADE_ENV);
	if (*v == '\0' || *end != '\0' || fd < 0 || fd > 1 << 20 ||
	    fcntl((int)fd, F_GETFD) == -1)
		return (0);
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	upgrade_peer = (int)fd;
	return (1);
}

/* Tell the old process why this one cannot take over, and let go. */
void
upgrade_refuse(const char *why)
{
	char	err[128];

	if (upgrade_peer == -1)
		return;
	(void)upgrade_send(upgrade_peer, UP_ERROR, why, strlen(why), NULL, 0,
	    upgrade_clock() + UPGRADE_STEP, err, sizeof err);
	close(upgrade_peer);
	upgrade_peer = -1;
}

/* Adopt the listeners and clients of a parsed state. */
static int
upgrade_adopt_state(struct server *srv, const struct ustate *st, int *fds,
    char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < st->nlisteners; i++) {
		if (listener_adopt(srv, st->listeners[i].kind, fds[i],
		    st->listeners[i].addr, err, errlen) != 0)
			return (-1);
		fds[i] = -1;
	}
	for (i = 0; i < st->nclients; i++) {
		client_adopt(srv, &st->clients[i], fds[st->nlisteners + i]);
		fds[st->nlisteners + i] = -1;
	}
	for (i = 0; i < st->nrates; i++)
		listener_adopt_rate(srv, &st->rates[i]);
	if (srv->cluster != NULL)
		cluster_adopt(srv->cluster, &st->cluster);
	if (srv->reg.next_id < st->next_id)
		srv->reg.next_id = st->next_id;
	srv->started = st->started;
	return (0);
}

/*
 * Take over from the old process: say ready, receive the state and the
 * descriptors, adopt them, and wait for the word to serve.  Returns 0, or
 * -1 with the reason in err; on -1 no socket has been read or written,
 * and the old process serves on (the caller frees what was adopted,
 * which only closes this process's copies of the descriptors).
 */
int
upgrade_adopt(struct server *srv, char *err, size_t errlen)
{
	struct clbuf	 state = { NULL, 0, 0 }, body = { NULL, 0, 0 };
	struct ustate	 st;
	const char	*why;
	double		 t0 = 0., deadline;
	size_t		 nfds = 0, want;
	int		*fds = NULL, type, r, rc = -1;
	char		 msg[256];

	deadline = upgrade_clock() + (double)srv->cfg.upgrade_timeout;
	if (upgrade_send(upgrade_peer, UP_READY, PACKAGE_VERSION,
	    strlen(PACKAGE_VERSION), NULL, 0, deadline, err, errlen) != 0)
		goto out;
	for (;;) {
		body.len = 0;
		r = upgrade_recv(upgrade_peer, &type, &body, &fds, &nfds,
		    deadline, err, errlen);
		if (r == 0)
			snprintf(err, errlen, "the old process closed its end");
		if (r <= 0)
			goto out;
		/* The old process has stopped serving: the pause begins. */
		if (t0 == 0.)
			t0 = upgrade_clock();
		if (type == UP_STATE)
			clbuf_append(&state, body.data, body.len);
		else if (type == UP_END)
			break;
		else if (type != UP_FDS) {
			snprintf(err, errlen, "unexpected frame %d", type);
			goto out;
		}
	}
	want = (size_t)upgrade_number(&body, 0, 4);
	if (want != nfds || upgrade_number(&body, 4, 8) != state.len) {
		snprintf(err, errlen, "%zu descriptors and %zu state bytes "
		    "received, %zu and %llu sent", nfds, state.len, want,
		    (unsigned long long)upgrade_number(&body, 4, 8));
		goto out;
	}
	if ((why = ustate_parse(state.data, state.len, &st)) != NULL) {
		snprintf(err, errlen, "bad state: %s", why);
		goto out;
	}
	if (st.nlisteners + st.nclients != nfds) {
		snprintf(err, errlen, "%zu descriptors for %zu listeners and "
		    "%zu clients", nfds, st.nlisteners, st.nclients);
		ustate_free(&st);
		goto out;
	}
	r = upgrade_adopt_state(srv, &st, fds, err, errlen);
	log_info("upgrade: took %zu listeners and %zu clients from chatd %s "
	    "in %.1f ms (received and adopted)", st.nlisteners, st.nclients,
	    st.version, (upgrade_clock() - t0) * 1e3);
	snprintf(srv->upgraded_from, sizeof srv->upgraded_from, "%s",
	    st.version);
	ustate_free(&st);
	if (r != 0)
		goto out;
	if (upgrade_send(upgrade_peer, UP_ADOPTED, NULL, 0, NULL, 0, deadline,
	    err, errlen) != 0)
		goto out;
	body.len = 0;
	r = upgrade_recv(upgrade_peer, &type, &body, NULL, NULL, deadline,
	    err, errlen);
	if (r == 0)
		snprintf(err, errlen, "the old process closed its end");
	if (r == 1 && type != UP_GO)
		snprintf(err, errlen, "unexpected frame %d", type);
	if (r == 1 && type == UP_GO)
		rc = 0;
out:
	if (rc != 0 && nfds > 0)
		upgrade_close_fds(fds, nfds);	/* the rest are adopted */
	free(fds);
	clbuf_free(&state);
	clbuf_free(&body);
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s", err);
		upgrade_refuse(msg);
	} else {
		close(upgrade_peer);
		upgrade_peer = -1;
	}
	return (rc);
}

/*
 * The new process serves: the plugins hear of the upgrade, then every
 * client's buffered input is read on, in order.  In a cluster, once this
 * process is back in the room as the same member (the cluster calls this
 * again then), so that its users' first lines reach the others too.
 */
void
upgrade_resume(struct server *srv)
{
	struct client	*c, *next;

	if (srv->cluster != NULL && cluster_holding(srv->cluster))
		return;

	plugin_upgraded(srv->script, srv->upgraded_from, PACKAGE_VERSION);
	for (c = TAILQ_FIRST(&srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!(c->flags & CLIENT_REMOTE))
			client_resume(c);
	}
}
