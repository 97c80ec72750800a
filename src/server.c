/*
 * The server: the event loop and what happens once per turn of it.
 *
 * Before the loop sleeps (ev_prepare), input held inside transports is
 * read, marked clients are reaped and every client with queued output is
 * flushed, in one pass: a broadcast to ten thousand users costs one
 * writev() each per turn, and no client is freed while anything up the
 * stack may still hold it.
 */

#include "config.h"


#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>		/* malloc_trim() */
#endif

#include "chatd.h"

/* Queue a client for the flush before the loop sleeps. */
void
server_mark_pending(struct server *srv, struct client *c)
{
	if (c->flags & (CLIENT_PENDING | CLIENT_WRITING))
		return;
	c->flags |= CLIENT_PENDING;
	TAILQ_INSERT_TAIL(&srv->pending, c, pending_entry);
}

/* Queue a marked client for reaping. */
void
server_mark_closing(struct server *srv, struct client *c)
{
	TAILQ_INSERT_TAIL(&srv->closing, c, closing_entry);
}

/* A scratch buffer of at least len bytes, valid until the next call. */
char *
server_scratch(struct server *srv, size_t len)
{
	if (len > srv->scratch_len) {
		free(srv->scratch);
		srv->scratch = xmalloc(len);
		srv->scratch_len = len;
	}
	return (srv->scratch);
}

/*
 * Reap and flush until neither is left to do: a leave hook may queue
 * output, and a failed write may mark another client.
 */
void
server_settle(struct server *srv)
{
	struct client	*c;

	while (!TAILQ_EMPTY(&srv->closing) || !TAILQ_EMPTY(&srv->pending)) {
		while ((c = TAILQ_FIRST(&srv->closing)) != NULL) {
			TAILQ_REMOVE(&srv->closing, c, closing_entry);
			client_reap(c);
		}
		while ((c = TAILQ_FIRST(&srv->pending)) != NULL) {
			TAILQ_REMOVE(&srv->pending, c, pending_entry);
			c->flags &= ~CLIENT_PENDING;
			client_flush(c);
		}
	}
}

/* Before the loop sleeps: buffered input, then reap and flush. */
static void
server_prepare_cb(struct ev_loop *loop, __unused ev_prepare *w,
    __unused int revents)
{
	struct server	*srv = ev_userdata(loop);

	if (srv->nbuffered > 0)
		conn_run_buffered(srv);
	server_settle(srv);
	if (srv->stopping && srv->nclients == 0 && room_stopped(srv))
		ev_break(loop, EVBREAK_ALL);
	/* Handed over: only the goodbyes of users who could not move. */
	if (srv->upgraded && TAILQ_EMPTY(&srv->draining))
		ev_break(loop, EVBREAK_ALL);
}

/*
 * Give memory back after a burst.  Freed memory stays in the process: in
 * the pool of output chunks, as garbage in the Lua state, and as free
 * pages between live blocks of the malloc heap, where it counts in the
 * resident set although nothing uses it.  Once a second, if anything
 * happened since the last cleanup and the server has been quiet for a
 * second (or ten seconds have passed), all three are returned.  A quiet
 * server with ten thousand idle users thus holds little more than their
 * structures; a busy one pays a millisecond or so every ten seconds.
 */
static void
server_housekeeping_cb(struct ev_loop *loop, __unused ev_timer *w,
    __unused int revents)
{
	struct server	*srv = ev_userdata(loop);
	uint64_t	 now = metric_get(METRIC_LINES_IN) +
			    metric_get(METRIC_CONNECTIONS) +
			    metric_get(METRIC_BROADCASTS);
	int		 quiet = now == srv->hk_seen;

	lograte_tick(ev_now(loop));
	budget_check(srv);
	srv->hk_seen = now;
	if (now == srv->hk_clean)
		return;			/* nothing new to clean up */
	if (!quiet && ev_now(loop) - srv->hk_at < CHATD_CLEAN_MAX)
		return;
	srv->hk_clean = now;
	srv->hk_at = ev_now(loop);
	outq_pool_free();
	script_collect(srv->script);
#if defined(__GLIBC__)
	malloc_trim(0);
#endif
}

/* SIGHUP, SIGUSR2, SIGINT or SIGTERM. */
static void
server_signal_cb(struct ev_loop *loop, ev_signal *w, __unused int revents)
{
	struct server	*srv = ev_userdata(loop);

	if (srv->upgraded && w->signum != SIGINT && w->signum != SIGTERM)
		log_warn("signal %d ignored: this process has handed over "
		    "and is leaving", w->signum);
	else if (w->signum == SIGHUP)
		server_reload(srv);
	else if (w->signum == SIGUSR2)
		upgrade_start(srv);
	else
		server_stop(srv);
}

/* Stopping took too long: leave anyway. */
static void
server_stop_timer_cb(struct ev_loop *loop, __unused ev_timer *w,
    __unused int revents)
{
	struct server	*srv = ev_userdata(loop);

	log_warn("%s: %zu clients still draining; closing them",
	    srv->upgraded ? "upgrade" : "shutdown", srv->nclients);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Begin an orderly stop: no new connections, every client closed with the
 * "shutdown" reason, and their output flushed for at most CHATD_LINGER
 * seconds.  A second signal stops at once.
 */
void
server_stop(struct server *srv)
{
	struct client	*c;

	if (srv->stopping) {
		log_warn("second stop signal: exiting now");
		ev_break(srv->loop, EVBREAK_ALL);
		return;
	}
	srv->stopping = 1;
	upgrade_abort(srv);
	systemd_stopping();
	log_info("shutting down: %zu clients", srv->reg.count);
	listener_close_all(srv);
	while ((c = TAILQ_FIRST(&srv->handshaking)) != NULL)
		client_finish(c);	/* never joined: nothing to say */
	TAILQ_FOREACH(c, &srv->reg.all, entry)
		client_close(c, CHATD_LEAVE_SHUTDOWN);
	room_stop(srv);
	ev_timer_set(&srv->stop_timer, CHATD_LINGER + 1., 0.);
	ev_timer_start(srv->loop, &srv->stop_timer);
}

/* Read the configuration: the file given, the installed one, or none. */
static int
server_read_config(struct config *cfg, const char *path, char *err,
    size_t errlen)
{
	config_init(cfg);
	if (path == NULL)
		return (0);
	return (config_load(cfg, path, err, errlen));
}

/*
 * SIGHUP's part for TLS: a new context from cfg's [tls] keys (a renewed
 * certificate is read again under the same name).  If it cannot be built,
 * the running one serves on, and cfg takes back the keys it was built
 * from, so that plugins and the next reload see what is in use.
 */
static void
server_reload_tls(struct server *srv, struct config *cfg)
{
	const struct config_key	*k;
	char			 err[1024];

	if (tls_reload(srv, cfg, err, sizeof err) == 0)
		return;
	log_error("reload: TLS: %s; keeping the running certificate, key "
	    "and settings", err);
	metric_inc(METRIC_RELOAD_FAILURES);
	for (k = config_keys; k->section != NULL; k++) {
		if (strcmp(k->section, "tls") == 0)
			config_copy(cfg, &srv->cfg, k);
	}
}

/*
 * SIGHUP: read the configuration again and load every plugin into a new
 * Lua state.  Only if both succeed do they replace the running ones; the
 * connections, names and queues of users are untouched either way.
 */
void
server_reload(struct server *srv)
{
	const struct config_key	*k;
	struct config		 cfg, old;
	struct script		*script;
	struct client		*c;
	char			 err[1024];

	if (srv->stopping)
		return;
	systemd_reloading();
	log_info("reloading %s", srv->config_path != NULL ?
	    srv->config_path : "(built-in defaults)");
	if (server_read_config(&cfg, srv->config_path, err, sizeof err) != 0)
		goto fail;
	/* What the table does not mark live keeps its running value, so
	 * plugins see the truth in chat.config. */
	for (k = config_keys; k->section != NULL; k++) {
		if (k->live || !config_changed(&srv->cfg, &cfg, k))
			continue;
		log_warn("reload: [%s] %s changed; it takes effect when chatd "
		    "is restarted", k->section, k->name);
		config_copy(&cfg, &srv->cfg, k);
	}
	/* What the running plugins keep, for the new state to take. */
	state_take(srv);
	if ((script = script_open(srv, &cfg, err, sizeof err)) == NULL)
		goto fail;
	server_reload_tls(srv, &cfg);
	script_close(srv->script);
	srv->script = script;
	old = srv->cfg;
	srv->cfg = cfg;
	oper_reload(srv, &old);
	config_free(&old);

	log_set_level(srv->cfg.log_level);
	lograte_set_burst(srv->cfg.log_repeats);
	log_set_syslog(srv->cfg.log_syslog);
	listener_fit_clients(srv);
	listener_apply_config(srv);
	TAILQ_FOREACH(c, &srv->reg.all, entry)
		client_apply_config(c);
	metric_inc(METRIC_RELOADS);
	room_reload(srv);
	log_info("reload done");
	systemd_ready(srv);
	return;

fail:
	log_error("reload failed: %s; keeping the running configuration and "
	    "plugins", err);
	config_free(&cfg);
	metric_inc(METRIC_RELOAD_FAILURES);
	systemd_ready(srv);
}

/* Set up what every server needs: the loop and empty tables. */
static void
server_setup(struct server *srv, struct config *cfg, const char *path)
{
	memset(srv, 0, sizeof *srv);
	srv->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	srv->config_path = path != NULL ? xstrdup(path) : NULL;
	if ((srv->loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		fatal("cannot initialise libev");
	ev_set_userdata(srv->loop, srv);
	registry_init(&srv->reg, srv);
	map_init(&srv->per_ip);
	map_init(&srv->connects);
	map_init(&srv->oper_tries);
	TAILQ_INIT(&srv->pending);
	TAILQ_INIT(&srv->closing);
	TAILQ_INIT(&srv->draining);
	TAILQ_INIT(&srv->handshaking);
	conn_setup(srv);
	srv->started = ev_time();
	srv->room = &room_local;
	log_set_level(srv->cfg.log_level);
	lograte_set_burst(srv->cfg.log_repeats);
}

/* The loop's own watchers: the flush before it sleeps, housekeeping. */
static void
server_start_timers(struct server *srv)
{
	ev_prepare_init(&srv->prepare, server_prepare_cb);
	ev_prepare_start(srv->loop, &srv->prepare);
	ev_init(&srv->stop_timer, server_stop_timer_cb);
	ev_timer_init(&srv->housekeeping, server_housekeeping_cb,
	    CHATD_HOUSEKEEPING, CHATD_HOUSEKEEPING);
	ev_timer_start(srv->loop, &srv->housekeeping);
	srv->hk_at = ev_now(srv->loop);
}

/*
 * Take over cfg (read from path, NULL for defaults), load the plugins and
 * start listening.  Returns 0, or -1 after logging why not.
 */
int
server_init(struct server *srv, struct config *cfg, const char *path)
{
	char	err[1024];

	server_setup(srv, cfg, path);
	/* Catch signals before the slow part (plugins, bind), so that a
	 * SIGTERM sent during startup stops chatd in order, not by default
	 * action; they are handled once the loop runs. */
	ev_signal_init(&srv->sigint, server_signal_cb, SIGINT);
	ev_signal_init(&srv->sigterm, server_signal_cb, SIGTERM);
	ev_signal_init(&srv->sighup, server_signal_cb, SIGHUP);
	ev_signal_init(&srv->sigusr2, server_signal_cb, SIGUSR2);
	ev_signal_start(srv->loop, &srv->sigint);
	ev_signal_start(srv->loop, &srv->sigterm);
	ev_signal_start(srv->loop, &srv->sighup);
	ev_signal_start(srv->loop, &srv->sigusr2);
	state_init(srv);
	if ((srv->script = script_open(srv, &srv->cfg, err,
	    sizeof err)) == NULL) {
		log_error("%s", err);
		upgrade_refuse(err);
		return (-1);
	}
	if (tls_open(srv, err, sizeof err) != 0) {
		log_error("%s", err);
		upgrade_refuse(err);
		return (-1);
	}
	if (upgrade_child()) {
		/* Descriptors are counted before the clients' arrive. */
		listener_fit_clients(srv);
		/* In a cluster: subscribed to the room while the old process
		 * still reads it, so that no line of the others falls between
		 * the two (cluster_await()). */
		if (srv->cfg.cluster_redis != NULL) {
			if (room_open(srv, err, sizeof err) != 0) {
				log_error("%s", err);
				upgrade_refuse(err);
				return (-1);
			}
			cluster_await(srv->cluster);
		}
		if (upgrade_adopt(srv, err, sizeof err) != 0) {
			log_error("upgrade failed: %s; the old process goes "
			    "on serving", err);
			return (-1);
		}
	} else {
		if (listener_open_all(srv, err, sizeof err) != 0) {
			log_error("%s", err);
			return (-1);
		}
		listener_fit_clients(srv);
	}
	srv->exporter = exporter_open(srv);
	srv->web = web_open(srv);
	if (room_open(srv, err, sizeof err) != 0) {
		log_error("%s", err);
		return (-1);
	}
	server_start_timers(srv);
	systemd_start(srv);
	if (srv->upgraded_from[0] != '\0')
		upgrade_resume(srv);
	return (0);
}

/*
 * The server of a plugin test (luatest.c): cfg's plugins, the room and
 * the loop's own timers, but no listener, signal or other door; its
 * users come through listener_take() on a memory listener.  Returns 0,
 * or -1 with the error in err.
 */
int
server_init_memory(struct server *srv, struct config *cfg, const char *path,
    char *err, size_t errlen)
{
	server_setup(srv, cfg, path);
	state_init(srv);
	if ((srv->script = script_open(srv, &srv->cfg, err, errlen)) == NULL)
		return (-1);
	listener_fit_clients(srv);
	if (room_open(srv, err, errlen) != 0)
		return (-1);
	server_start_timers(srv);
	return (0);
}

/*
 * chatd -t: load every plugin against cfg without listening.  Returns 0,
 * or -1 with the error in err.
 */
int
server_check(struct config *cfg, char *err, size_t errlen)
{
	struct server	 srv;
	struct script	*script;

	server_setup(&srv, cfg, NULL);
	if (tls_check(&srv.cfg, err, errlen) != 0) {
		server_free(&srv);
		return (-1);
	}
	script = script_open(&srv, &srv.cfg, err, errlen);
	if (script != NULL)
		srv.script = script;
	server_free(&srv);
	return (script != NULL ? 0 : -1);
}

/* Run until stopped. */
int
server_run(struct server *srv)
{
	ev_run(srv->loop, 0);
	return (0);
}

/* Close everything still open and free the server. */
void
server_free(struct server *srv)
{
	struct client	*c;

	upgrade_abort(srv);
	/* Handed over: the new process holds every user, and nothing may be
	 * said to them from here (closing these copies sends nothing). */
	while (!srv->upgraded && (c = TAILQ_FIRST(&srv->closing)) != NULL) {
		TAILQ_REMOVE(&srv->closing, c, closing_entry);
		client_reap(c);
	}
	room_close(srv);	/* the users of other servers go with it */
	while ((c = TAILQ_FIRST(&srv->reg.all)) != NULL) {
		registry_remove(&srv->reg, c);
		client_finish(c);
	}
	while ((c = TAILQ_FIRST(&srv->draining)) != NULL)
		client_finish(c);
	while ((c = TAILQ_FIRST(&srv->handshaking)) != NULL)
		client_finish(c);
	ev_prepare_stop(srv->loop, &srv->prepare);
	ev_idle_stop(srv->loop, &srv->buffered_idle);
	ev_signal_stop(srv->loop, &srv->sigint);
	ev_signal_stop(srv->loop, &srv->sigterm);
	ev_signal_stop(srv->loop, &srv->sighup);
	ev_signal_stop(srv->loop, &srv->sigusr2);
	ev_timer_stop(srv->loop, &srv->stop_timer);
	ev_timer_stop(srv->loop, &srv->housekeeping);
	systemd_stop(srv);
	listener_close_all(srv);
	exporter_close(srv->exporter);
	tls_close(srv);
	web_close(srv->web);
	state_stop(srv);	/* before the plugins' state goes */
	if (srv->script != NULL)
		script_close(srv->script);
	registry_free(&srv->reg);
	outq_pool_free();
	map_free(&srv->per_ip);
	listener_free_limits(srv);
	oper_free(srv);
	config_free(&srv->cfg);
	free(srv->scratch);
	free(srv->config_path);
	if (srv->loop != NULL)
		ev_loop_destroy(srv->loop);
	memset(srv, 0, sizeof *srv);
}
