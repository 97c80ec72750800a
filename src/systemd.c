/*
 * systemd: readiness and status notifications, the watchdog, and
 * listening sockets passed by socket activation.
 *
 * Both protocols are small and documented as stable interfaces
 * (sd_notify(3), sd_listen_fds(3)): a datagram of "KEY=value" lines to
 * the AF_UNIX socket named by $NOTIFY_SOCKET, and descriptors from 3 on
 * described by $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES.  They are
 * spoken here rather than through libsystemd, as ngIRCd does and as
 * systemd's documentation suggests for daemons that want no dependency:
 * chatd then builds and runs the same on systems without systemd, and
 * this file is all there is to it.
 *
 * Without those variables every function here does nothing, and chatd
 * binds its own sockets.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chatd.h"

#define SYSTEMD_FDS_START	3	/* SD_LISTEN_FDS_START */
#define SYSTEMD_FDS_MAX		16	/* sockets chatd can take */
#define SYSTEMD_STATUS_EVERY	5.0	/* seconds between STATUS= lines */

struct systemd_fd {
	int		 fd;		/* -1 once taken */
	char		 name[64];
};

static struct systemd_fd systemd_fds[SYSTEMD_FDS_MAX];
static int		 systemd_nfds;
static int		 systemd_sock = -1;	/* to $NOTIFY_SOCKET */
static struct sockaddr_un systemd_addr;
static socklen_t	 systemd_addrlen;
static double		 systemd_watchdog;	/* seconds between pings */
static char		*systemd_notify_path;	/* $NOTIFY_SOCKET, for a new */
static char		*systemd_watchdog_usec;	/* process of an upgrade */
static ev_timer		 systemd_watchdog_timer;
static ev_timer		 systemd_status_timer;
static uint64_t		 systemd_status_lines;	/* lines at the last status */
static ev_tstamp	 systemd_status_at;

/* The value of a variable meant for this process, NULL if none. */
static const char *
systemd_env_for_us(const char *name)
{
	const char	*pid = getenv("LISTEN_PID");

	if (strcmp(name, "WATCHDOG_USEC") == 0)
		pid = getenv("WATCHDOG_PID");
	if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
		return (NULL);
	return (getenv(name));
}

/* Read $NOTIFY_SOCKET and open a socket to it; 0 if there is none. */
static int
systemd_notify_open(char *err, size_t errlen)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (path == NULL || *path == '\0')
		return (0);
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof systemd_addr.sun_path) {
		snprintf(err, errlen, "NOTIFY_SOCKET=%s: not a socket path",
		    path);
		return (-1);
	}
	memset(&systemd_addr, 0, sizeof systemd_addr);
	systemd_addr.sun_family = AF_UNIX;
	memcpy(systemd_addr.sun_path, path, len);
	if (path[0] == '@')
		systemd_addr.sun_path[0] = '\0';	/* abstract namespace */
	systemd_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (path[0] == '/'));
	systemd_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (systemd_sock == -1) {
		snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s",
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* The n-th name of $LISTEN_FDNAMES ("a:b:c"), or "" if it has none. */
static void
systemd_fd_name(const char *names, int n, char *out, size_t outlen)
{
	const char	*p = names, *end;
	size_t		 len;

	*out = '\0';
	if (p == NULL)
		return;
	for (; n > 0 && p != NULL; n--)
		p = (p = strchr(p, ':')) != NULL ? p + 1 : NULL;
	if (p == NULL)
		return;
	end = strchr(p, ':');
	len = end != NULL ? (size_t)(end - p) : strlen(p);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

/* Check that fd is a listening stream socket, and make it ours. */
static int
systemd_fd_check(int fd, const char *name, char *err, size_t errlen)
{
	int		 type = 0, listening = 0;
	socklen_t	 tlen = sizeof type, llen = sizeof listening;
	struct stat	 st;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening, &llen) == -1 || !listening) {
		snprintf(err, errlen, "systemd passed descriptor %d (%s) that "
		    "is not a listening stream socket", fd,
		    *name != '\0' ? name : "no name");
		return (-1);
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "systemd socket %d: fcntl: %s", fd,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Read $LISTEN_FDS and $LISTEN_FDNAMES. */
static int
systemd_listen_open(char *err, size_t errlen)
{
	const char	*fds = systemd_env_for_us("LISTEN_FDS");
	const char	*names = getenv("LISTEN_FDNAMES");
	char		*end;
	long		 n;
	int		 i;

	if (fds == NULL || getenv("LISTEN_PID") == NULL)
		return (0);
	errno = 0;
	n = strtol(fds, &end, 10);
	if (*fds == '\0' || *end != '\0' || n < 0 || n > SYSTEMD_FDS_MAX) {
		snprintf(err, errlen, "LISTEN_FDS=%s: expected 0 to %d "
		    "sockets", fds, SYSTEMD_FDS_MAX);
		return (-1);
	}
	for (i = 0; i < (int)n; i++) {
		systemd_fds[i].fd = SYSTEMD_FDS_START + i;
		systemd_fd_name(names, i, systemd_fds[i].name,
		    sizeof systemd_fds[i].name);
		if (systemd_fd_check(systemd_fds[i].fd, systemd_fds[i].name,
		    err, errlen) != 0)
			return (-1);
	}
	systemd_nfds = (int)n;
	return (0);
}

/*
 * Read what systemd handed over, once at startup.  The variables are
 * then removed, so that nothing chatd starts takes them for its own.
 * Returns 0, or -1 with the reason in err.
 */
int
systemd_init(char *err, size_t errlen)
{
	const char	*usec;
	long long	 v;
	int		 rc;

	rc = systemd_notify_open(err, errlen);
	if (rc == 0)
		rc = systemd_listen_open(err, errlen);
	if (rc == 0 && (usec = systemd_env_for_us("WATCHDOG_USEC")) != NULL &&
	    (v = strtoll(usec, NULL, 10)) > 0) {
		systemd_watchdog = (double)v / 1e6 / 2;	/* twice a period */
		systemd_watchdog_usec = xstrdup(usec);
	}
	if (systemd_sock != -1)
		systemd_notify_path = xstrdup(getenv("NOTIFY_SOCKET"));
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return (rc);
}

/*
 * The socket systemd passed for the listener called name ("chat",
 * "metrics"), or -1 if it passed none.  A single socket whose name is no
 * other listener's is the chat listener's: that is what a socket unit
 * without FileDescriptorName= passes, and what inetd-style tools do.
 */
int
systemd_listen_take(const char *name, char *what, size_t whatlen)
{
	struct systemd_fd	*s;
	int			 i, fd, lone = systemd_nfds == 1 &&
				    strcmp(name, "chat") == 0;

	for (i = 0; i < systemd_nfds; i++) {
		s = &systemd_fds[i];
		if (s->fd == -1 || (strcmp(s->name, name) != 0 &&
		    !(lone && strcmp(s->name, "metrics") != 0)))
			continue;
		fd = s->fd;
		s->fd = -1;
		snprintf(what, whatlen, "descriptor %d%s%s%s from systemd",
		    fd, *s->name != '\0' ? " (" : "", s->name,
		    *s->name != '\0' ? ")" : "");
		return (fd);
	}
	return (-1);
}

/*
 * After every listener has taken its socket: one no listener took is a
 * mistake in the socket units (a name chatd does not know), reported with
 * the names it knows.
 */
int
systemd_listen_check(const char *names, char *err, size_t errlen)
{
	int	i;

	for (i = 0; i < systemd_nfds; i++) {
		if (systemd_fds[i].fd == -1)
			continue;
		snprintf(err, errlen, "systemd passed socket %d named '%s', "
		    "which no listener takes (FileDescriptorName= must be one "
		    "of %s)", systemd_fds[i].fd, systemd_fds[i].name, names);
		return (-1);
	}
	return (0);
}

/*
 * Send one notification ("READY=1", "STATUS=..."); several lines may go
 * in one.  Returns 1 if sent, 0 without $NOTIFY_SOCKET, -1 on error.
 */
int
systemd_notify(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	n;

	if (systemd_sock == -1)
		return (0);
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof msg)
		return (-1);
	if (sendto(systemd_sock, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&systemd_addr, systemd_addrlen) == -1) {
		log_debug("notify systemd: %s", strerror(errno));
		return (-1);
	}
	return (1);
}

/* The STATUS= line: users now and lines read per second lately. */
static void
systemd_send_status(struct server *srv, const char *extra)
{
	ev_tstamp	 now = ev_now(srv->loop);
	uint64_t	 lines = metric_get(METRIC_LINES_IN);
	double		 rate = 0;

	if (now > systemd_status_at && systemd_status_at > 0)
		rate = (double)(lines - systemd_status_lines) /
		    (now - systemd_status_at);
	systemd_status_lines = lines;
	systemd_status_at = now;
	systemd_notify("%sSTATUS=%zu users, %.1f lines/s", extra,
	    srv->reg.count, rate);
}

/* Time for a STATUS= line. */
static void
systemd_status_cb(struct ev_loop *loop, __unused ev_timer *w,
    __unused int revents)
{
	systemd_send_status(ev_userdata(loop), "");
}

/*
 * The watchdog ping, from a timer of the loop itself: if anything holds
 * the loop (a runaway call), the pings stop and systemd restarts chatd.
 */
static void
systemd_watchdog_cb(__unused struct ev_loop *loop, __unused ev_timer *w,
    __unused int revents)
{
	systemd_notify("WATCHDOG=1");
}

/* chatd listens: say so, and start the watchdog and status timers. */
void
systemd_start(struct server *srv)
{
	if (systemd_sock == -1)
		return;
	if (systemd_watchdog > 0) {
		ev_timer_init(&systemd_watchdog_timer, systemd_watchdog_cb,
		    systemd_watchdog, systemd_watchdog);
		ev_timer_start(srv->loop, &systemd_watchdog_timer);
		log_info("systemd watchdog: a ping every %.3g s",
		    systemd_watchdog);
	}
	ev_timer_init(&systemd_status_timer, systemd_status_cb,
	    SYSTEMD_STATUS_EVERY, SYSTEMD_STATUS_EVERY);
	ev_timer_start(srv->loop, &systemd_status_timer);
	systemd_ready(srv);
}

/* Stop the timers. */
void
systemd_stop(struct server *srv)
{
	if (systemd_sock == -1)
		return;
	ev_timer_stop(srv->loop, &systemd_watchdog_timer);
	ev_timer_stop(srv->loop, &systemd_status_timer);
}

/* A reload begins (systemd wants the time with it, in microseconds). */
void
systemd_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}

/* Ready: at startup and after each reload, whatever its outcome. */
void
systemd_ready(struct server *srv)
{
	systemd_send_status(srv, "READY=1\n");
}

/* The orderly stop begins. */
void
systemd_stopping(void)
{
	systemd_notify("STOPPING=1\nSTATUS=shutting down");
}

/* Close what this file opened: the notify socket, sockets never taken. */
void
systemd_free(void)
{
	int	i;

	for (i = 0; i < systemd_nfds; i++) {
		if (systemd_fds[i].fd != -1)
			close(systemd_fds[i].fd);
		systemd_fds[i].fd = -1;
	}
	systemd_nfds = 0;
	if (systemd_sock != -1)
		close(systemd_sock);
	systemd_sock = -1;
	free(systemd_notify_path);
	free(systemd_watchdog_usec);
	systemd_notify_path = systemd_watchdog_usec = NULL;
}

/*
 * In the child an upgrade starts, before exec: give it the notification
 * socket and the watchdog, as systemd gave them to this process (the
 * watchdog now for the child's pid: it becomes the main process).  The
 * listening sockets it gets from this process, not from the environment.
 */
void
systemd_child_env(void)
{
	char	pid[16];

	if (systemd_notify_path != NULL)
		setenv("NOTIFY_SOCKET", systemd_notify_path, 1);
	if (systemd_watchdog_usec != NULL) {
		snprintf(pid, sizeof pid, "%d", (int)getpid());
		setenv("WATCHDOG_USEC", systemd_watchdog_usec, 1);
		setenv("WATCHDOG_PID", pid, 1);
	}
}
