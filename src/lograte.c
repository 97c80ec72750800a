/*
 * Log lines of one kind, rate-limited and summarised.  Connection churn
 * at info level wrote 2.9 MB/s of log (16,400 connects and leaves a
 * second), renames 76 KB/s: an attacker could fill the disk or drown what
 * matters.  Each kind may write LOGRATE_BURST lines per LOGRATE_WINDOW
 * seconds ([log] repeats); what is held back after that is counted, and
 * when the window
 * is over one line says how many and from where the last came
 * ("12345 more connections in the last 10 s, the last from 127.0.0.1").
 */

#include "config.h"

#include <stdio.h>

#include "chatd.h"

#define LOGRATE_WINDOW	10.0	/* seconds */

struct lograte {
	const char	*what;		/* "connections": for the summary */
	ev_tstamp	 start;		/* of the window */
	long long	 shown;		/* lines written in the window */
	unsigned long	 held;		/* lines held back in it */
	char		 last[CHATD_ADDR_MAX + 40];
};

static long long	lograte_burst = 20;	/* lines of a kind per window */

static struct lograte logrates[LOGRATE_COUNT] = {
	[LOGRATE_CONNECT] = { .what = "connections" },
	[LOGRATE_LEAVE] = { .what = "departures" },
	[LOGRATE_REFUSE] = { .what = "refused connections" },
	[LOGRATE_RENAME] = { .what = "renames" },
};

/* Write the summary of a window that is over, and start a new one. */
static void
lograte_close(struct lograte *r, ev_tstamp now)
{
	if (r->held > 0)
		log_info("%lu more %s in the last %.0f s, the last from %s",
		    r->held, r->what, now - r->start, r->last);
	r->start = now;
	r->shown = 0;
	r->held = 0;
}

/* Set the lines of a kind per window ([log] repeats); 0: no limit. */
void
lograte_set_burst(long long n)
{
	lograte_burst = n;
}

/*
 * Whether a line of this kind may be written now; if not, it is counted,
 * and who (an address or a name) kept for the summary.
 */
int
lograte_allow(enum lograte_kind kind, ev_tstamp now, const char *who)
{
	struct lograte	*r = &logrates[kind];

	if (lograte_burst == 0)
		return (1);
	if (now - r->start >= LOGRATE_WINDOW)
		lograte_close(r, now);
	if (r->shown < lograte_burst) {
		r->shown++;
		return (1);
	}
	r->held++;
	snprintf(r->last, sizeof r->last, "%s", who);
	return (0);
}

/* Write the summaries of the windows that are over (once a second). */
void
lograte_tick(ev_tstamp now)
{
	size_t	i;

	for (i = 0; i < LOGRATE_COUNT; i++) {
		if (logrates[i].held > 0 &&
		    now - logrates[i].start >= LOGRATE_WINDOW)
			lograte_close(&logrates[i], now);
	}
}
