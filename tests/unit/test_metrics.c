/*
 * test_metrics.c - the metrics registry and its text format: counters
 * and labelled series count what they are told, a series is made once
 * and kept, label values are escaped, the number of series per metric is
 * bounded, and the lag histogram's buckets are cumulative.  (The whole
 * output is checked by promtool in tests/integration/test_metrics.py.)
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* A server with nothing in it, enough for metrics_render(). */
static void
empty_server(struct server *srv)
{
	memset(srv, 0, sizeof *srv);
	registry_init(&srv->reg, srv);
	TAILQ_INIT(&srv->draining);
	srv->max_clients = 123;
	srv->cfg.memory_limit = 4096;
}

/* Whether the rendered text has this exact line. */
static int
has_line(const char *text, const char *line)
{
	const char	*p = text;
	size_t		 len = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			return (1);
		p += len;
	}
	return (0);
}

static void
test_counters(void)
{
	struct metric_series	*a, *b;
	uint64_t		 before = metric_get(METRIC_LINES_IN);

	metric_inc(METRIC_LINES_IN);
	metric_add(METRIC_LINES_IN, 41);
	is_int((long long)(metric_get(METRIC_LINES_IN) - before), 42,
	    "a plain counter adds up");

	a = metric_series(METRIC_DISCONNECTS, "quit");
	b = metric_series(METRIC_DISCONNECTS, "quit");
	ok(a == b, "a label value has one series, kept");
	metric_label_inc(METRIC_DISCONNECTS, "quit");
	metric_label_inc(METRIC_DISCONNECTS, "quit");
	metric_label_inc(METRIC_DISCONNECTS, "slow");
	is_int((long long)metric_label_get(METRIC_DISCONNECTS, "quit"), 2,
	    "quit counted twice");
	is_int((long long)metric_label_get(METRIC_DISCONNECTS, "slow"), 1,
	    "slow once");
	is_int((long long)metric_label_get(METRIC_DISCONNECTS, "never"), 0,
	    "a value never counted reads 0");
}

static void
test_render(void)
{
	struct server	 srv;
	char		*text, name[32];
	size_t		 len, i;

	empty_server(&srv);
	metric_label_inc(METRIC_PLUGIN_ERRORS, "50-a\"b\\c\nd.lua");
	metric_series(METRIC_LUA_NSEC, "line")->value += 1500000000;
	metrics_observe_lag(0.0004);
	metrics_observe_lag(0.003);
	metrics_observe_lag(0.2);
	metrics_observe_lag(60);
	text = metrics_render(&srv, &len);
	is_int((long long)strlen(text), (long long)len, "length is right");
	ok(has_line(text, "chatd_users 0"), "users gauge");
	ok(has_line(text, "chatd_users_max 123"), "the limit");
	ok(has_line(text, "chatd_lua_memory_limit_bytes 4096"), "lua limit");
	ok(has_line(text, "# TYPE chatd_disconnects_total counter"),
	    "counters are typed under their full name");
	ok(has_line(text, "chatd_disconnects_total{reason=\"quit\"} 2"),
	    "a labelled counter");
	ok(has_line(text, "chatd_disconnects_total{reason=\"timeout\"} 0"),
	    "reasons never seen are there from the start, at 0");
	ok(has_line(text, "chatd_connections_refused_total{reason=\"full\"} 0"),
	    "refusals too");
	ok(has_line(text, "chatd_plugin_errors_total{plugin="
	    "\"50-a\\\"b\\\\cd.lua\"} 1"),
	    "a label value: quote and backslash escaped, control bytes gone");
	ok(has_line(text, "chatd_lua_seconds_total{call=\"line\"} 1.5"),
	    "nanoseconds rendered as seconds");
	ok(has_line(text, "chatd_event_loop_lag_seconds_bucket{le=\"0.001\"} "
	    "1"), "lag: first bucket");
	ok(has_line(text, "chatd_event_loop_lag_seconds_bucket{le=\"0.005\"} "
	    "2"), "lag: buckets are cumulative");
	ok(has_line(text, "chatd_event_loop_lag_seconds_bucket{le=\"0.25\"} "
	    "3"), "lag: 0.2 s");
	ok(has_line(text, "chatd_event_loop_lag_seconds_bucket{le=\"10\"} 3"),
	    "lag: 60 s is over the last bound");
	ok(has_line(text, "chatd_event_loop_lag_seconds_bucket{le=\"+Inf\"} "
	    "4"), "lag: +Inf holds all");
	ok(has_line(text, "chatd_event_loop_lag_seconds_count 4"), "lag count");
	ok(text[len - 1] == '\n', "ends with a newline");
	free(text);

	/* A metric keeps at most 64 series; the rest fold into "other". */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "command:c%zu", i);
		metric_label_inc(METRIC_LUA_CALLS, name);
	}
	text = metrics_render(&srv, &len);
	ok(has_line(text, "chatd_lua_calls_total{call=\"command:c10\"} 1"),
	    "an early series is its own");
	ok(strstr(text, "command:c99") == NULL, "a late one is not");
	ok(strstr(text, "chatd_lua_calls_total{call=\"other\"} ") != NULL,
	    "it is counted under other");
	free(text);
	registry_free(&srv.reg);
	metrics_free();
}

int
main(void)
{
	test_counters();
	test_render();
	return (done_testing());
}
