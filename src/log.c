/*
 * Logging to stderr.  Every message is escaped before it is written, so a
 * name or a line from the network can never put raw control characters
 * (or a fake second log line) into the log.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

#include "chatd.h"

#define LOG_LINE_MAX	4096

static int log_level = LL_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

/* Set the most verbose level that is written. */
void
log_set_level(int level)
{
	log_level = level;
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
 * its two bytes) and a backslash as \\.  Returns the length written.
 */
size_t
log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  o = 0, i, n, k, w;
	unsigned char	  ch;
	char		  tmp[8];

	if (dstsz == 0)
		return (0);
	for (i = 0; i < len; i += w) {
		ch = (unsigned char)src[i];
		n = 0;
		w = 1;
		if (ch == 0xc2 && i + 1 < len &&
		    (unsigned char)src[i + 1] >= 0x80 &&
		    (unsigned char)src[i + 1] <= 0x9f)
			w = 2;
		if (ch == '\n' || ch == '\t' || ch == '\r' || ch == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = ch == '\n' ? 'n' : ch == '\t' ? 't' :
			    ch == '\r' ? 'r' : '\\';
		} else if (ch < 0x20 || ch == 0x7f || w == 2) {
			for (k = 0; k < w; k++) {
				ch = (unsigned char)src[i + k];
				tmp[n++] = '\\';
				tmp[n++] = 'x';
				tmp[n++] = hex[ch >> 4];
				tmp[n++] = hex[ch & 0xf];
			}
		} else
			tmp[n++] = (char)ch;
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return (o);
}

/* Write one log line if level is enabled. */
void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char		 raw[LOG_LINE_MAX], esc[LOG_LINE_MAX];
	char		 stamp[32];
	struct timeval	 tv;
	struct tm	 tm;
	int		 n, saved = errno;

	if (level > log_level)
		return;
	n = vsnprintf(raw, sizeof raw, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof raw)
		n = sizeof raw - 1;
	log_escape(esc, sizeof esc, raw, (size_t)n);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03dZ chatd[%ld] %s: %s\n", stamp,
	    (int)(tv.tv_usec / 1000), (long)getpid(), log_names[level], esc);
	fflush(stderr);
	errno = saved;
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

/* Log an error that leaves no way on, and exit. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
