/*
 * The exporter: the [metrics] listener and its one route, GET /metrics,
 * answered in the Prometheus text format through the HTTP door.
 *
 * It has a socket of its own (loopback by default), so that the metrics
 * are never reachable where the chat is unless the operator says so, and
 * a scrape never waits behind chat clients for a connection slot.
 */

#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define EXPORTER_CONNS	16		/* scrapes at once; more get 503 */
#define EXPORTER_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct exporter {
	struct server	*srv;
	int		 fd;
	ev_io		 io;
	ev_timer	 pause;		/* after EMFILE */
	struct http_door door;
	char		 addr[CHATD_ADDR_MAX];
};

/* One request: /metrics for GET and HEAD, 405 or 404 for the rest. */
static void
exporter_handle(struct http_conn *hc, const struct http_request *req,
    void *arg)
{
	struct exporter	*e = arg;
	const char	*method = http_request_method(req);
	char		*text;
	size_t		 len;

	if (strcmp(http_request_path(req), "/metrics") != 0) {
		http_respond_error(hc, 404, NULL);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		http_respond_error(hc, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	text = metrics_render(e->srv, &len);
	http_respond(hc, 200, EXPORTER_TYPE, NULL, text, len);
	free(text);
}

/* Accept what is waiting and hand it to the door. */
static void
exporter_accept_cb(struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct exporter		*e = container_of(w, struct exporter, io);
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, i;

	for (i = 0; i < EXPORTER_CONNS; i++) {
		sslen = sizeof ss;
		fd = accept4(e->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			http_door_accept(&e->door, fd,
			    (struct sockaddr *)&ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* As the chat listener does: rest, do not spin. */
			ev_io_stop(loop, &e->io);
			ev_timer_set(&e->pause, CHATD_EMFILE_PAUSE, 0.);
			ev_timer_start(loop, &e->pause);
		}
		return;
	}
}

/* The pause after EMFILE is over. */
static void
exporter_resume_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct exporter	*e = container_of(w, struct exporter, pause);

	ev_io_start(loop, &e->io);
}

/*
 * Start serving the metrics, if [metrics] port is set or systemd passed a
 * "metrics" socket.  Returns the exporter, or NULL: with *err empty when
 * the metrics are off, else with the reason.
 */
struct exporter *
exporter_open(struct server *srv, char *err, size_t errlen)
{
	struct exporter	*e;
	char		 how[96];
	int		 fd;

	*err = '\0';
	e = xcalloc(1, sizeof *e);
	fd = listener_socket("metrics", srv->cfg.metrics_bind,
	    (int)srv->cfg.metrics_port, e->addr, sizeof e->addr, how,
	    sizeof how, err, errlen);
	if (fd == -1) {
		free(e);
		return (NULL);
	}
	e->srv = srv;
	e->fd = fd;
	http_door_init(&e->door, srv->loop, exporter_handle, e, 0,
	    EXPORTER_CONNS);
	ev_io_init(&e->io, exporter_accept_cb, fd, EV_READ);
	ev_init(&e->pause, exporter_resume_cb);
	ev_io_start(srv->loop, &e->io);
	metrics_lag_start(srv->loop);
	log_info("serving metrics at http://%s/metrics%s%s%s", e->addr,
	    *how != '\0' ? " (" : "", how, *how != '\0' ? ")" : "");
	return (e);
}

/* Stop serving: the listener and every connection still open. */
void
exporter_close(struct exporter *e)
{
	struct ev_loop	*loop;

	if (e == NULL)
		return;
	loop = e->srv->loop;
	metrics_lag_stop(loop);
	ev_io_stop(loop, &e->io);
	ev_timer_stop(loop, &e->pause);
	close(e->fd);
	http_door_close(&e->door);
	free(e);
}
