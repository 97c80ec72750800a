/*
 * Metrics: the counters the other files bump, the event-loop lag, and the
 * whole set rendered in the Prometheus text format (version 0.0.4).
 *
 * Counters live here, in one table, so that a new figure (a TLS handshake,
 * a WebSocket upgrade, a Redis reconnect) is an enum line in chatd.h and
 * a line in metric_defs[], and the file that sees the event bumps it.  A
 * counter without a label is a plain slot, metric_inc(); a labelled one
 * keeps one series per label value, made on first use and never freed, so
 * a pointer to a series stays valid and a counter never goes backwards.
 * Label values come from a short list chosen by chatd (reasons, hooks,
 * status codes) or from plugin file names: never from what a user sends,
 * so neither a name nor an address ends up in a label.
 *
 * Gauges (users, queues, Lua memory) are read from the server when the
 * metrics are rendered, so keeping them costs nothing between scrapes.
 */

#include "config.h"

#include <sys/resource.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lua.h>

#include "chatd.h"

#define METRICS_SERIES_MAX	64	/* label values per metric */
#define METRICS_LAG_INTERVAL	0.25	/* seconds between lag samples */

struct metric_def {
	const char	*name;
	const char	*label;		/* label name; NULL: a plain counter */
	double		 scale;		/* divide the count by this */
	const char	*help;
	const char	*const *init;	/* label values shown from the start */
	unsigned	 flags;
};
#define METRIC_GAUGE	0x1	/* goes up and down: open sockets */
#define METRIC_CLUSTER	0x2	/* shown only with [cluster] redis */

static const char *const metric_refusals[] = { "full", "per_ip", "rate",
	NULL };
static const char *const metric_leaves[] = {
	CHATD_LEAVE_QUIT, CHATD_LEAVE_CLOSED, CHATD_LEAVE_TIMEOUT,
	CHATD_LEAVE_SLOW, CHATD_LEAVE_SHUTDOWN, CHATD_LEAVE_UPGRADE, "plugin", NULL
};
static const char *const metric_hooks[] = {
	"join", "leave", "line", "timer", NULL
};
static const char *const metric_transports[] = {
	"tcp", "tls", "websocket", NULL
};
/* What a TLS handshake fails of: tls.c sorts OpenSSL's reasons into
 * these, and the handshake timer adds "timeout". */
static const char *const metric_tls_failures[] = {
	"timeout", "closed", "version", "cipher", "certificate", "protocol",
	NULL
};
/* The close codes chatd sends (RFC 6455, 7.4.1): its own, or a peer's
 * echoed back; any other is "other", none at all (the peer went, or the
 * 101 was never written) "none", so the label set stays this one. */
static const char *const metric_ws_codes[] = {
	"1000", "1001", "1002", "1003", "1007", "1008", "1009", "1011",
	"other", "none", NULL
};

/* Indexed by enum metric. */
static const struct metric_def metric_defs[METRIC_COUNT] = {
	[METRIC_CONNECTIONS] = { "chatd_connections_accepted_total", NULL, 1,
	    "Connections accepted and admitted as clients.", NULL, 0 },
	[METRIC_LINES_IN] = { "chatd_lines_received_total", NULL, 1,
	    "Complete lines read from clients.", NULL, 0 },
	[METRIC_LINES_OUT] = { "chatd_lines_sent_total", NULL, 1,
	    "Lines queued to clients.", NULL, 0 },
	[METRIC_BYTES_OUT] = { "chatd_sent_bytes_total", NULL, 1,
	    "Bytes written to client sockets.", NULL, 0 },
	[METRIC_BROADCASTS] = { "chatd_broadcasts_total", NULL, 1,
	    "Lines sent to the whole room.", NULL, 0 },
	[METRIC_RELOADS] = { "chatd_reloads_total", NULL, 1,
	    "Reloads (SIGHUP) that replaced the configuration and plugins.",
	    NULL, 0 },
	[METRIC_RELOAD_FAILURES] = { "chatd_reload_failures_total", NULL, 1,
	    "Reloads that failed and kept the running set.", NULL, 0 },
	[METRIC_REFUSED] = { "chatd_connections_refused_total", "reason", 1,
	    "Connections refused, by reason.", metric_refusals, 0 },
	[METRIC_DISCONNECTS] = { "chatd_disconnects_total", "reason", 1,
	    "Users who left, by reason (plugin: a plugin's own reason).",
	    metric_leaves, 0 },
	[METRIC_LUA_CALLS] = { "chatd_lua_calls_total", "call", 1,
	    "Calls into the plugins: join, leave, line (chat), timer, "
	    "command:NAME.",
	    metric_hooks, 0 },
	[METRIC_LUA_NSEC] = { "chatd_lua_seconds_total", "call", 1e9,
	    "Time spent in the plugins, by call as chatd_lua_calls_total.",
	    metric_hooks, 0 },
	[METRIC_PLUGIN_ERRORS] = { "chatd_plugin_errors_total", "plugin", 1,
	    "Errors raised by plugin code, by plugin file.", NULL, 0 },
	[METRIC_PLUGIN_CALLS] = { "chatd_plugin_calls_total", "plugin", 1,
	    "Calls of plugin functions (hooks, commands, timers), by plugin "
	    "file.", NULL, 0 },
	[METRIC_PLUGIN_NSEC] = { "chatd_plugin_seconds_total", "plugin", 1e9,
	    "Time spent in plugin functions, by plugin file.", NULL, 0 },
	[METRIC_PLUGIN_OFF] = { "chatd_plugin_switched_off_total", "plugin", 1,
	    "Hooks and commands switched off by the circuit breaker, by "
	    "plugin file.", NULL, 0 },
	[METRIC_HTTP_REQUESTS] = { "chatd_http_responses_total", "code", 1,
	    "HTTP responses sent, by status code.", NULL, 0 },
	[METRIC_ABORTS] = { "chatd_connections_reset_total", NULL, 1,
	    "Connections closed with a reset because the peer was not "
	    "taking its output, so the kernel frees their buffers at once.",
	    NULL, 0 },
	[METRIC_BUDGET_DROPS] = { "chatd_budget_drops_total", NULL, 1,
	    "Clients dropped because all the output queues together passed "
	    "output_budget (the largest first).", NULL, 0 },
	[METRIC_UPGRADES] = { "chatd_upgrades_total", NULL, 1,
	    "Upgrades (SIGUSR2) this process began.", NULL, 0 },
	[METRIC_UPGRADE_FAILURES] = { "chatd_upgrade_failures_total", NULL, 1,
	    "Upgrades that failed; this process went on serving.", NULL, 0 },
	[METRIC_LINGER_CUT] = { "chatd_lingering_closed_total", NULL, 1,
	    "Connections of users who had left, closed before their linger "
	    "time was over because a newcomer needed the descriptor.", NULL, 0 },
	[METRIC_SOCKETS] = { "chatd_transport_sockets", "transport", 1,
	    "Client sockets open now, by transport: those in a handshake, "
	    "online and flushing their goodbye.", metric_transports,
	    METRIC_GAUGE },
	[METRIC_TLS_HANDSHAKES] = { "chatd_tls_handshakes_total", NULL, 1,
	    "TLS handshakes completed ([tls] listener).", NULL, 0 },
	[METRIC_TLS_FAILURES] = { "chatd_tls_handshake_failures_total",
	    "reason", 1, "TLS handshakes that failed, by reason: timeout "
	    "([tls] handshake_timeout), closed (the peer left), version, "
	    "cipher, certificate (one side refused the other's), protocol "
	    "(anything else, such as plain text).", metric_tls_failures, 0 },
	[METRIC_WS_UPGRADES] = { "chatd_websocket_upgrades_total", NULL, 1,
	    "WebSocket upgrades accepted (101 Switching Protocols).", NULL, 0 },
	[METRIC_WS_CLOSES] = { "chatd_websocket_closes_total", "code", 1,
	    "WebSocket connections ended, by the close code chatd sent "
	    "(none: it sent no close frame).", metric_ws_codes, 0 },
	[METRIC_CLUSTER_JOINS] = { "chatd_cluster_joins_total", NULL, 1,
	    "Times this server joined the shared room (at start and after "
	    "each loss of the link).", NULL, METRIC_CLUSTER },
	[METRIC_REDIS_RECONNECTS] = { "chatd_redis_reconnects_total", NULL, 1,
	    "Connection attempts to Redis after a failure.", NULL,
	    METRIC_CLUSTER },
};

uint64_t			 metric_values[METRIC_COUNT];
static struct metric_series	*metric_lists[METRIC_COUNT];
static size_t			 metric_nseries[METRIC_COUNT];

/* Upper bounds of the lag histogram, in seconds. */
static const double metric_lag_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define METRIC_LAG_BUCKETS \
	(sizeof metric_lag_bounds / sizeof metric_lag_bounds[0])
static uint64_t		 metric_lag_counts[METRIC_LAG_BUCKETS + 1];
static double		 metric_lag_sum;
static ev_timer		 metric_lag_timer;
static ev_tstamp	 metric_lag_due;

/* The series of a labelled metric for one label value, made if new. */
struct metric_series *
metric_series(enum metric m, const char *label)
{
	struct metric_series	*s, **sp;
	size_t			 len;

	for (sp = &metric_lists[m]; (s = *sp) != NULL; sp = &s->next) {
		if (strcmp(s->label, label) == 0)
			return (s);
	}
	/* A plugin could register commands without end: fold the excess
	 * into one series rather than grow the scrape without bound. */
	if (metric_nseries[m] >= METRICS_SERIES_MAX && strcmp(label,
	    "other") != 0)
		return (metric_series(m, "other"));
	len = strlen(label);
	s = xcalloc(1, sizeof *s + len + 1);
	memcpy(s->label, label, len + 1);
	*sp = s;
	metric_nseries[m]++;
	return (s);
}

/* Count one for a label value. */
void
metric_label_inc(enum metric m, const char *label)
{
	metric_series(m, label)->value++;
}

/* The count of a label value, 0 if it has none. */
uint64_t
metric_label_get(enum metric m, const char *label)
{
	struct metric_series	*s;

	for (s = metric_lists[m]; s != NULL; s = s->next) {
		if (strcmp(s->label, label) == 0)
			return (s->value);
	}
	return (0);
}

/* The count of a plain counter. */
uint64_t
metric_get(enum metric m)
{
	return (metric_values[m]);
}

/* A client socket of transport t was opened, or closed. */
void
metric_socket_opened(const struct transport *t)
{
	metric_series(METRIC_SOCKETS, t->name)->value++;
}

void
metric_socket_closed(const struct transport *t)
{
	metric_series(METRIC_SOCKETS, t->name)->value--;
}

/* A WebSocket connection ended after chatd sent close code (0: none). */
void
metric_ws_closed(unsigned code)
{
	const char *const	*v;
	char			 s[16];

	if (code == 0) {
		metric_label_inc(METRIC_WS_CLOSES, "none");
		return;
	}
	snprintf(s, sizeof s, "%u", code);
	for (v = metric_ws_codes; *v != NULL; v++) {
		if (strcmp(*v, s) == 0) {
			metric_label_inc(METRIC_WS_CLOSES, s);
			return;
		}
	}
	metric_label_inc(METRIC_WS_CLOSES, "other");
}

/* A monotonic clock in nanoseconds, for timing calls. */
uint64_t
metrics_nsec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Count a lag sample into the histogram. */
void
metrics_observe_lag(double lag)
{
	size_t	i;

	if (lag < 0)
		lag = 0;
	for (i = 0; i < METRIC_LAG_BUCKETS && lag > metric_lag_bounds[i]; i++)
		;
	metric_lag_counts[i]++;
	metric_lag_sum += lag;
}

/*
 * The lag timer: due every METRICS_LAG_INTERVAL, it notes how late it
 * runs.  Whatever holds the loop (a big broadcast, a slow plugin, the
 * machine itself) delays it by as much as it delays every client.
 */
static void
metrics_lag_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	metrics_observe_lag(ev_time() - metric_lag_due);
	metric_lag_due = ev_now(loop) + METRICS_LAG_INTERVAL;
	ev_timer_set(w, METRICS_LAG_INTERVAL, 0.);
	ev_timer_start(loop, w);
}

/* Start sampling the loop's lag. */
void
metrics_lag_start(struct ev_loop *loop)
{
	ev_timer_init(&metric_lag_timer, metrics_lag_cb, METRICS_LAG_INTERVAL,
	    0.);
	metric_lag_due = ev_now(loop) + METRICS_LAG_INTERVAL;
	ev_timer_start(loop, &metric_lag_timer);
}

/* Stop sampling. */
void
metrics_lag_stop(struct ev_loop *loop)
{
	ev_timer_stop(loop, &metric_lag_timer);
}

/* Free every labelled series (at exit, so that nothing is leaked). */
void
metrics_free(void)
{
	struct metric_series	*s;
	size_t			 m;

	for (m = 0; m < METRIC_COUNT; m++) {
		while ((s = metric_lists[m]) != NULL) {
			metric_lists[m] = s->next;
			free(s);
		}
		metric_nseries[m] = 0;
	}
}

/* ---- rendering ----------------------------------------------------- */

struct mbuf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

static void	mbuf_printf(struct mbuf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Append formatted text. */
static void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatal("vsnprintf failed");
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n;
		b->data = xrealloc(b->data, b->cap);
	}
}

/* A label value as the format wants it: UTF-8, \\, \" and \n escaped. */
static void
mbuf_label(struct mbuf *b, const char *s)
{
	char	*clean, *p;
	size_t	 len = strlen(s), n;

	clean = xmalloc(TEXT_CLEAN_MAX(len) + 1);
	n = text_clean(s, len, clean);	/* valid UTF-8, no control bytes */
	clean[n] = '\0';
	for (p = clean; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			mbuf_printf(b, "\\%c", *p);
		else
			mbuf_printf(b, "%c", *p);
	}
	free(clean);
}

/* The HELP and TYPE lines of a family (named in full: 0.0.4 has no
 * OpenMetrics-style family names without _total). */
static void
mbuf_family(struct mbuf *b, const char *name, const char *type,
    const char *help)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A count, divided into its unit. */
static void
mbuf_value(struct mbuf *b, uint64_t v, double scale)
{
	if (scale == 1)
		mbuf_printf(b, " %llu\n", (unsigned long long)v);
	else
		mbuf_printf(b, " %.9g\n", (double)v / scale);
}

/* One family of the table, every series of it. */
static void
metrics_render_counter(struct mbuf *b, enum metric m)
{
	const struct metric_def	*d = &metric_defs[m];
	const char		*type = d->flags & METRIC_GAUGE ? "gauge" :
				    "counter";
	struct metric_series	*s;
	const char *const	*v;

	if (d->label == NULL) {
		mbuf_family(b, d->name, type, d->help);
		mbuf_printf(b, "%s", d->name);
		mbuf_value(b, metric_values[m], d->scale);
		return;
	}
	for (v = d->init; v != NULL && *v != NULL; v++)
		metric_series(m, *v);
	if (metric_lists[m] == NULL)
		return;			/* no series yet: nothing to show */
	mbuf_family(b, d->name, type, d->help);
	for (s = metric_lists[m]; s != NULL; s = s->next) {
		mbuf_printf(b, "%s{%s=\"", d->name, d->label);
		mbuf_label(b, s->label);
		mbuf_printf(b, "\"}");
		mbuf_value(b, s->value, d->scale);
	}
}

/* A gauge with one unlabelled value. */
static void
metrics_render_gauge(struct mbuf *b, const char *name, const char *help,
    double v)
{
	mbuf_family(b, name, "gauge", help);
	mbuf_printf(b, "%s %.17g\n", name, v);
}

/* A counter read from elsewhere when rendered. */
static void
metrics_render_count(struct mbuf *b, const char *name, const char *help,
    unsigned long long v)
{
	mbuf_family(b, name, "counter", help);
	mbuf_printf(b, "%s %llu\n", name, v);
}

/*
 * The figures of a room shared with other servers (doc/cluster.md); a
 * server alone has none of them.
 */
static void
metrics_render_cluster(struct mbuf *b, struct server *srv)
{
	unsigned long long	 downs, drops, gaps;
	size_t			 m;

	cluster_counts(srv->cluster, &downs, &drops, &gaps);
	metrics_render_gauge(b, "chatd_cluster_up", "1 while this server is "
	    "in the room with the others through Redis, 0 while it serves "
	    "its own users alone.", cluster_is_up(srv->cluster) ? 1. : 0.);
	metrics_render_gauge(b, "chatd_cluster_servers", "The other servers "
	    "of the room this server knows.",
	    (double)cluster_servers(srv->cluster));
	metrics_render_gauge(b, "chatd_room_users", "Users of the whole room "
	    "as this server knows it, its own and the other servers'.",
	    (double)srv->reg.count);
	metrics_render_count(b, "chatd_cluster_link_downs_total", "Times the "
	    "link to Redis went down under a joined room.", downs);
	metrics_render_count(b, "chatd_cluster_dropped_messages_total",
	    "Messages on the room's channel that did not parse or were not "
	    "for this server to believe.", drops);
	metrics_render_count(b, "chatd_cluster_gaps_total", "Times messages "
	    "of another server were found missing (its users then read "
	    "again).", gaps);
	metrics_render_gauge(b, "chatd_cluster_heartbeat_rtt_seconds", "How "
	    "long this server's last heartbeat took to come back through the "
	    "subscription.", cluster_heartbeat_rtt(srv->cluster));
	for (m = 0; m < METRIC_COUNT; m++) {
		if (metric_defs[m].flags & METRIC_CLUSTER)
			metrics_render_counter(b, (enum metric)m);
	}
}

/* Bytes queued to every open client, online or draining. */
static size_t
metrics_queued(struct server *srv)
{
	struct client	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &srv->reg.all, entry)
		n += c->out.bytes;
	TAILQ_FOREACH(c, &srv->draining, closing_entry)
		n += c->out.bytes;
	return (n);
}

/* The resident set of the process in bytes, 0 if unknown. */
static double
metrics_rss(void)
{
	FILE			*f;
	unsigned long long	 size, rss;
	int			 n;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	if (n != 2)
		return (0);
	return ((double)rss * (double)sysconf(_SC_PAGESIZE));
}

/* The lag histogram. */
static void
metrics_render_lag(struct mbuf *b)
{
	static const char	 name[] = "chatd_event_loop_lag_seconds";
	uint64_t		 cum = 0;
	size_t			 i;

	mbuf_family(b, name, "histogram", "How late a timer due every 0.25 "
	    "s runs: the time the loop was held by other work.");
	for (i = 0; i < METRIC_LAG_BUCKETS; i++) {
		cum += metric_lag_counts[i];
		mbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    metric_lag_bounds[i], (unsigned long long)cum);
	}
	cum += metric_lag_counts[METRIC_LAG_BUCKETS];
	mbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	mbuf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, metric_lag_sum,
	    name, (unsigned long long)cum);
}

/*
 * Every metric of the running server as one text document in the
 * Prometheus exposition format 0.0.4.  The caller frees it.
 */
char *
metrics_render(struct server *srv, size_t *lenp)
{
	struct mbuf	 b;
	struct rusage	 ru;
	size_t		 m;

	memset(&b, 0, sizeof b);
	b.cap = 8192;
	b.data = xmalloc(b.cap);
	b.data[0] = '\0';

	mbuf_family(&b, "chatd_build_info", "gauge",
	    "The version of chatd and of its Lua, as labels; always 1.");
	mbuf_printf(&b, "chatd_build_info{version=\"%s\",lua=\"%s\"} 1\n",
	    PACKAGE_VERSION, LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
	/* Of this server only, so that a sum over the nodes of a cluster
	 * counts each user once; the room as a whole is below. */
	metrics_render_gauge(&b, "chatd_users", "Users online now, on this "
	    "server.", (double)(srv->reg.count - srv->reg.nremote));
	metrics_render_gauge(&b, "chatd_users_max", "Users chatd admits: "
	    "[server] max_clients, or what the descriptor limit fits.",
	    (double)srv->max_clients);
	metrics_render_gauge(&b, "chatd_client_sockets", "Client sockets "
	    "open, those still flushing their goodbye included.",
	    (double)srv->nclients);
	metrics_render_gauge(&b, "chatd_output_queue_bytes", "Bytes queued "
	    "to clients and not yet taken by the kernel.",
	    (double)metrics_queued(srv));
	metrics_render_gauge(&b, "chatd_lua_memory_bytes", "Bytes the Lua "
	    "state holds.", srv->script != NULL ?
	    (double)script_memory(srv->script) : 0.);
	metrics_render_gauge(&b, "chatd_lua_memory_limit_bytes", "[lua] "
	    "memory_limit.", (double)srv->cfg.memory_limit);
	for (m = 0; m < METRIC_COUNT; m++) {
		if (!(metric_defs[m].flags & METRIC_CLUSTER))
			metrics_render_counter(&b, (enum metric)m);
	}
	if (srv->cluster != NULL)
		metrics_render_cluster(&b, srv);
	metrics_render_lag(&b);

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		mbuf_family(&b, "process_cpu_seconds_total", "counter",
		    "User and system CPU time of chatd.");
		mbuf_printf(&b, "process_cpu_seconds_total %.6f\n",
		    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	metrics_render_gauge(&b, "process_resident_memory_bytes",
	    "Resident set size of chatd.", metrics_rss());
	metrics_render_gauge(&b, "process_start_time_seconds", "When chatd "
	    "started, in seconds since the epoch.", srv->started);
	*lenp = b.len;
	return (b.data);
}
