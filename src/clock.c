/*
 * The clock chatd's loop reads, made controllable for the plugin test
 * harness (luatest.c: test.advance()).
 *
 * libev keeps ev_now() and every timer against its own reading of
 * clock_gettime(CLOCK_MONOTONIC) (and gettimeofday() for ev_time()), and
 * Debian's shared libev has no hook for another time source and no way to
 * list its timers (EV_WALK_ENABLE is off).  Shifting chatd's timers and
 * reads one by one would miss any timer added later and make a second
 * notion of "now" that code could forget; so chatd defines the time
 * source itself.  This clock_gettime() (and gettimeofday()) is the one
 * the process links (the
 * executable's definition comes before libc's for every library), and it
 * passes every call through to libc's until clock_freeze() is called,
 * which only the harness does.  From then on the monotonic and real-time
 * clocks stand still at the moment of the freeze plus what
 * clock_advance() added: a test sees no time pass but what it asks for,
 * so its results do not depend on the machine's speed.
 */

#include "config.h"

#include <sys/time.h>

#include <dlfcn.h>
#include <time.h>

#include "chatd.h"

typedef int	(*clock_fn)(clockid_t, struct timespec *);

static clock_fn		clock_libc;
static int		clock_frozen;
static struct timespec	clock_mono, clock_real;	/* at the freeze */
static long long	clock_offset;		/* ns added since */

/* libc's clock_gettime, found once. */
static int
clock_real_gettime(clockid_t id, struct timespec *ts)
{
	if (clock_libc == NULL) {
		clock_libc = (clock_fn)dlsym(RTLD_NEXT, "clock_gettime");
		if (clock_libc == NULL)
			fatal("clock_gettime: %s", dlerror());
	}
	return (clock_libc(id, ts));
}

/* base + clock_offset. */
static void
clock_shifted(const struct timespec *base, struct timespec *ts)
{
	long long	ns = clock_offset;

	ts->tv_sec = base->tv_sec + (time_t)(ns / 1000000000LL);
	ts->tv_nsec = base->tv_nsec + (long)(ns % 1000000000LL);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!clock_frozen)
		return (clock_real_gettime(id, ts));
	switch (id) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		clock_shifted(&clock_mono, ts);
		return (0);
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		clock_shifted(&clock_real, ts);
		return (0);
	default:			/* CPU time: the real one */
		return (clock_real_gettime(id, ts));
	}
}

/*
 * libev reads the real-time clock with gettimeofday() (Debian builds it
 * without EV_USE_REALTIME), so that one stands still with the others.
 */
int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec	ts;

	(void)tz;		/* obsolete; never set by chatd */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (-1);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
	return (0);
}

/* Stop the clocks where they are: only clock_advance() moves them. */
void
clock_freeze(void)
{
	clock_real_gettime(CLOCK_MONOTONIC, &clock_mono);
	clock_real_gettime(CLOCK_REALTIME, &clock_real);
	clock_offset = 0;
	clock_frozen = 1;
}

/* Move the frozen clocks on by ns nanoseconds (>= 0). */
void
clock_advance(long long ns)
{
	clock_offset += ns;
}
