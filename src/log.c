/*
 * Logging to stderr (with a timestamp, the pid and the level) or, with
 * [log] syslog = yes, to syslog(3) as "chatd[pid]" on the daemon facility.
 * Every message is escaped before it is written, so a name or a line from
 * the network can never put raw control characters, bytes that are not
 * UTF-8, or a fake second log line into the log.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include "chatd.h"

#define LOG_LINE_MAX	4096

static int log_level = LL_INFO;
static int log_syslog;		/* 1: syslog(3), 0: stderr */
static int log_tee_errors;	/* in syslog mode, errors to stderr too */
static int log_journal = -1;	/* stderr is the journal; -1: not checked */

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static const int log_priorities[] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG
};

static void	log_stderr(int, const char *);
static void	log_emit(int, const char *, size_t);

/* Set the most verbose level that is written. */
void
log_set_level(int level)
{
	log_level = level;
}

/*
 * Send what follows to syslog (on) or to stderr (off).  A change is logged
 * on the old destination first, so whoever watches it learns where the
 * log went.
 */
void
log_set_syslog(int on)
{
	on = on != 0;
	if (on == log_syslog)
		return;
	if (on) {
		log_info("logging to syslog from now on (facility daemon)");
		openlog("chatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
	} else {
		log_info("logging to stderr from now on");
		closelog();
		log_syslog = 0;
	}
}

/*
 * While chatd starts, a failure must reach the operator who started it
 * even when the log goes to syslog: with on, messages of level error are
 * written to stderr as well.
 */
void
log_set_tee_errors(int on)
{
	log_tee_errors = on;
}

/* Parse a level name; -1 if it is not one. */
int
log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(name, log_names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

/* Return the name of a level. */
const char *
log_level_name(int level)
{
	if (level < 0 || level > LL_DEBUG)
		return ("?");
	return (log_names[level]);
}

/*
 * Copy src to dst (of size dstsz, always NUL-terminated), writing control
 * characters as \n, \t, \r or \xNN (a C1 control, UTF-8 C2 80..9F, as
 * its two bytes), every byte that is not part of well-formed UTF-8 as
 * \xNN, and a backslash as \\.  Returns the length written.
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t		  o = 0, i, n, k, w;
	long		  cp;
	int		  hexed;
	char		  tmp[16];

	if (dstsz == 0)
		return (0);
	for (i = 0; i < len; i += w) {
		n = 0;
		w = 1;
		hexed = 0;
		if (s[i] >= 0x80) {
			/* An invalid sequence (its maximal subpart) or a C1
			 * control goes out as hex bytes. */
			w = text_utf8_decode(s + i, len - i, &cp);
			hexed = cp < 0 || cp <= 0x9f;
		} else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' :
			    s[i] == '\r' ? 'r' : '\\';
		} else
			hexed = s[i] < 0x20 || s[i] == 0x7f;
		if (hexed) {
			for (k = 0; k < w; k++) {
				tmp[n++] = '\\';
				tmp[n++] = 'x';
				tmp[n++] = hex[s[i + k] >> 4];
				tmp[n++] = hex[s[i + k] & 0xf];
			}
		} else if (n == 0) {
			memcpy(tmp, s + i, w);
			n = w;
		}
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return (o);
}

/*
 * Whether stderr is a stream to the systemd journal: systemd then sets
 * JOURNAL_STREAM to the device and inode of that stream.
 */
static int
log_stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

/*
 * Write an escaped message to stderr, with a timestamp, pid and level.
 * When stderr is the journal, a "<N>" prefix gives journald the syslog
 * priority of the line (sd-daemon(3)), so journalctl -p works.
 */
static void
log_stderr(int level, const char *esc)
{
	char		 stamp[32], prio[8] = "";
	struct timeval	 tv;
	struct tm	 tm;

	if (log_journal == -1)
		log_journal = log_stderr_is_journal();
	if (log_journal)
		snprintf(prio, sizeof prio, "<%d>", log_priorities[level]);
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s%s.%03dZ chatd[%ld] %s: %s\n", prio, stamp,
	    (int)(tv.tv_usec / 1000), (long)getpid(), log_names[level], esc);
	fflush(stderr);
}

/*
 * Write one log line if level is enabled.  syslog adds the time, the
 * "chatd[pid]" tag and the priority, so it gets "level: message".
 */
void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char		 raw[LOG_LINE_MAX];
	int		 n, saved = errno;

	if (level > log_level)
		return;
	n = vsnprintf(raw, sizeof raw, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof raw)
		n = sizeof raw - 1;
	log_emit(level, raw, (size_t)n);
	errno = saved;
}

/*
 * Write prefix and then len bytes of text, which may hold NUL bytes (a Lua
 * string): they are escaped like any control instead of ending the line.
 */
void
log_text(int level, const char *prefix, const char *text, size_t len)
{
	char		 raw[LOG_LINE_MAX];
	size_t		 n;
	int		 saved = errno;

	if (level > log_level)
		return;
	n = strlen(prefix);
	if (n > sizeof raw - 1)
		n = sizeof raw - 1;
	memcpy(raw, prefix, n);
	if (len > sizeof raw - 1 - n)
		len = sizeof raw - 1 - n;
	memcpy(raw + n, text, len);
	log_emit(level, raw, n + len);
	errno = saved;
}

/* Where the plugin test harness reads the log too (luatest.c). */
static void	(*log_capture)(int, const char *, const char *);

void
log_set_capture(void (*fn)(int, const char *, const char *))
{
	log_capture = fn;
}

/* Escape raw[0..len) and write it where the log goes. */
static void
log_emit(int level, const char *raw, size_t len)
{
	char		 esc[LOG_LINE_MAX];

	log_escape(esc, sizeof esc, raw, len);
	if (log_capture != NULL)
		log_capture(level, log_names[level], esc);
	if (log_syslog) {
		syslog(log_priorities[level], "%s: %s", log_names[level], esc);
		if (level == LL_ERROR && log_tee_errors)
			log_stderr(level, esc);
	} else
		log_stderr(level, esc);
}

/* Write one log line if level is enabled. */
void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/*
 * Log an error that leaves no way on, and exit.  In syslog mode it goes to
 * stderr as well: the process is ending, so whoever started it should see
 * why.
 */
void
fatal(const char *fmt, ...)
{
	va_list	ap;

	log_tee_errors = 1;
	va_start(ap, fmt);
	log_vmsg(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
