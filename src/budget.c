/*
 * The output memory budget, checked once a second: a client whose queue
 * stays over output_soft_limit for output_soft_seconds is dropped as too
 * slow (Redis's client-output-buffer-limit shape: a hard limit at once,
 * in client_send(), and a soft one held for a while), and when all the
 * queues together pass output_budget the largest are dropped first until
 * they fit (as Redis's maxmemory does with client buffers).
 *
 * Without them each client that does not read pinned output_limit bytes
 * of chatd's heap (plus its kernel send buffer) for as long as it liked:
 * 200 such clients took chatd from 6.9 to 60 MB, 10,000 would take about
 * 7.8 GB at the old defaults.
 */

#include "config.h"

#include <stdlib.h>

#include "chatd.h"

/* Largest queue first. */
static int
budget_cmp(const void *a, const void *b)
{
	const struct client	*ca = *(struct client *const *)a;
	const struct client	*cb = *(struct client *const *)b;

	if (ca->out.bytes != cb->out.bytes)
		return (ca->out.bytes < cb->out.bytes ? 1 : -1);
	return (ca->id < cb->id ? -1 : ca->id > cb->id);
}

/* Drop one client for the budget: an online one as slow, a draining one
 * at once. */
static void
budget_drop(struct client *c, const char *why)
{
	log_info("client %llu (%s): %zu bytes queued, %s; dropping it",
	    (unsigned long long)c->id, c->addr, c->out.bytes, why);
	if (c->flags & CLIENT_DRAINING)
		client_finish(c);
	else
		client_drop_slow(c);
}

/* The soft limit, and the sum of the queues; called once a second. */
void
budget_check(struct server *srv)
{
	struct config	 *cfg = &srv->cfg;
	struct client	 *c, *next, **big;
	ev_tstamp	  now = ev_now(srv->loop);
	size_t		  total = 0, n = 0, i;

	for (c = TAILQ_FIRST(&srv->reg.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if ((c->flags & CLIENT_REMOTE) || !client_is_online(c))
			continue;
		if (cfg->output_soft_limit == 0 ||
		    c->out.bytes <= (size_t)cfg->output_soft_limit)
			c->soft_since = 0.;
		else if (c->soft_since == 0.)
			c->soft_since = now;
		else if (now - c->soft_since >=
		    (ev_tstamp)cfg->output_soft_seconds) {
			budget_drop(c, "over output_soft_limit for "
			    "output_soft_seconds");
			continue;
		}
		total += c->out.bytes;
		n++;
	}
	TAILQ_FOREACH(c, &srv->draining, closing_entry) {
		total += c->out.bytes;
		n++;
	}
	if (cfg->output_budget == 0 || total <= (size_t)cfg->output_budget)
		return;
	big = xcalloc(n, sizeof *big);
	n = 0;
	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (!(c->flags & CLIENT_REMOTE) && client_is_online(c) &&
		    c->out.bytes > 0)
			big[n++] = c;
	}
	TAILQ_FOREACH(c, &srv->draining, closing_entry) {
		if (c->out.bytes > 0)
			big[n++] = c;
	}
	qsort(big, n, sizeof *big, budget_cmp);
	for (i = 0; i < n && total > (size_t)cfg->output_budget; i++) {
		total -= big[i]->out.bytes;
		metric_inc(METRIC_BUDGET_DROPS);
		budget_drop(big[i], "the largest queue over output_budget");
	}
	free(big);
}
