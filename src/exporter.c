/*
 * The exporter: the [metrics] listener and its one route, GET /metrics,
 * answered in the Prometheus text format through the HTTP door.
 *
 * Its listener is a row of listener_kinds[] with a socket of its own
 * (loopback by default), so the metrics are never reachable where the chat
 * is unless the operator says so, and a scrape never waits behind chat
 * clients for a connection slot.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define EXPORTER_CONNS	16	/* scrapes at once; more get 503 */
#define EXPORTER_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct exporter {
	struct server	*srv;
	struct http_door door;
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

/* A connection accepted by the metrics listener: the door takes it. */
void
exporter_admit(struct listener *l, int fd, const struct sockaddr *sa)
{
	struct exporter	*e = l->srv->exporter;

	if (e == NULL) {		/* not set up yet: cannot happen */
		close(fd);
		return;
	}
	http_door_accept(&e->door, fd, sa, NULL);
}

/*
 * Start serving the metrics if a metrics listener is open ([metrics] port
 * set, or a socket systemd passed as "metrics").  NULL when there is none.
 */
struct exporter *
exporter_open(struct server *srv)
{
	struct exporter	*e;
	size_t		 i;

	for (i = 0; i < srv->nlisteners; i++) {
		if (srv->listeners[i].kind->admit == exporter_admit)
			break;
	}
	if (i == srv->nlisteners)
		return (NULL);
	e = xcalloc(1, sizeof *e);
	e->srv = srv;
	http_door_init(&e->door, srv, exporter_handle, e, 0,
	    EXPORTER_CONNS);
	metrics_lag_start(srv->loop);
	log_info("serving metrics at http://%s/metrics",
	    srv->listeners[i].addr);
	return (e);
}

/* Stop serving: every connection still open.  (The listener is closed
 * with the others.) */
void
exporter_close(struct exporter *e)
{
	if (e == NULL)
		return;
	metrics_lag_stop(e->srv->loop);
	http_door_close(&e->door);
	free(e);
}
