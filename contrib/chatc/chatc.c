/*
 * chatc: an interactive terminal client for chatd.
 *
 * One libev loop watches the terminal, the socket and a few signals.
 * GNU readline's callback interface reads the terminal one key at a time, so a
 * line from the server is printed above the prompt (the prompt and the
 * half-typed line are cleared, the line is written, and readline draws them
 * again) without disturbing what the user is typing.
 *
 * Every byte from the server is cleaned before it reaches the terminal:
 * control characters are shown in caret notation (^[), C1 controls and
 * invalid UTF-8 as U+FFFD, so a hostile peer cannot send escape sequences.
 *
 * With standard input not a terminal, chatc reads lines from it without
 * readline and sends them (a scriptable nc); with standard output not a
 * terminal, it writes the server's lines as plain text.
 *
 * With --tls the bytes go through tls.c, which verifies the server.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(HAVE_EV_H)
#include <ev.h>
#elif defined(HAVE_LIBEV_EV_H)
#include <libev/ev.h>
#else
#include <ev.h>
#endif

#include <readline/readline.h>
#include <readline/history.h>

#include "tls.h"

/* A parameter that a callback's signature needs and its body does not. */
#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif

#define CHATC_PROMPT		">>> "
#define CHATC_HOST		"localhost"
#define CHATC_PORT		"8080"
#define CHATC_TLS_PORT		"6697"	/* the [tls] port of the sample */
#define CHATC_MAX_LINE		(1024 * 1024)	/* longer server lines are cut */
#define CHATC_OUT_HIGH		65536	/* stop reading a piped stdin above */
#define CHATC_CONNECT_TIMEOUT	10.0	/* seconds per address */
#define CHATC_QUIT_TIMEOUT	5.0	/* seconds to wait for the server */
#define CHATC_BACKOFF_MIN	1.0	/* first --reconnect delay */
#define CHATC_BACKOFF_MAX	30.0	/* longest --reconnect delay */
#define CHATC_STABLE		10.0	/* a connection this old resets it */
#define CHATC_HISTORY		1000	/* lines of history kept */

/* Colors (SGR parameters). */
#define COLOR_NOTICE		"36"		/* "* " lines */
#define COLOR_ERROR		"1;31"		/* "! " lines */
#define COLOR_SELF		"1;32"		/* your own name */
#define COLOR_LOCAL		"1"		/* chatc's own "-- " lines */
static const char *const color_names[] = {	/* other people's names */
	"33", "34", "35", "93", "94", "95"
};

/* A growable byte string, always NUL-terminated when data != NULL. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* A set of strings, in insertion order. */
struct strset {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

enum conn_state {
	ST_IDLE,		/* nothing under way */
	ST_CONNECTING,		/* a non-blocking connect() is pending */
	ST_HANDSHAKE,		/* --tls: connected, handshake under way */
	ST_CONNECTED,
	ST_WAITING		/* --reconnect: waiting to try again */
};

enum block {
	BLOCK_NONE,
	BLOCK_WHO,		/* after "* online (N):" */
	BLOCK_HELP		/* after "* commands:" */
};

struct chatc {
	struct ev_loop	*loop;
	char		*host;
	char		*port;
	char		 label[320];	/* host:port, for messages */
	int		 reconnect;
	int		 use_tls;	/* --tls */
	int		 insecure;	/* --insecure: no verification */
	char		*ca;		/* --ca FILE; NULL: the system's */
	struct ctls_ctx	*tls_ctx;	/* NULL without --tls */
	struct ctls	*tls;		/* the connection's, NULL: plain */

	int		 tty_in;	/* stdin is a terminal: use readline */
	int		 tty_out;	/* stdout is a terminal */
	int		 color;
	int		 utf8;		/* the locale's codeset is UTF-8 */
	int		 rl_active;	/* the readline handler is installed */
	int		 in_handler;	/* inside the readline line handler */

	enum conn_state	 state;
	int		 fd;
	struct addrinfo	*ai_list;
	struct addrinfo	*ai;		/* the address being tried */
	int		 last_errno;
	int		 ever_connected;
	ev_tstamp	 connected_at;
	ev_tstamp	 backoff;

	ev_io		 rio;		/* the socket is readable */
	ev_io		 wio;		/* writable, or connect() finished */
	ev_io		 tio;		/* the terminal or stdin is readable */
	ev_timer	 timer;		/* connect timeout, reconnect delay */
	ev_timer	 quit_timer;
	ev_signal	 sig_int, sig_term, sig_hup, sig_winch, sig_tstp;

	struct buf	 in;		/* a server line being received */
	int		 in_cut;	/* discarding the rest of a long line */
	struct buf	 out;		/* bytes for the server */
	struct buf	 stdin_line;	/* piped stdin: bytes not yet sent */
	int		 stdin_eof;
	int		 stdin_busy;	/* inside stdin_update() */
	struct buf	 screen;	/* text for the terminal, this turn */

	int		 quitting;	/* the user asked to leave */
	int		 shut_pending;	/* shut down writing once out drains */
	int		 status;	/* exit status */

	char		*myname;	/* from "* welcome" / "* you are now" */
	struct strset	 names;		/* user names, for completion */
	struct strset	 commands;	/* "who", "rename|", ... */
	int		 help_pending;	/* our own "help" is unanswered */
	enum block	 block;
	int		 block_quiet;	/* the block answers our own "help" */
};

/* Readline callbacks take no user pointer. */
static struct chatc *chatc;

/* Commands to complete before the server's help has been seen. */
static const char *const default_commands[] = {
	"who", "rename|", "exit", "quit", "help"
};

static char word_breaks[] = " |";

static void	 buf_add(struct buf *, const void *, size_t);
static void	 buf_adds(struct buf *, const char *);
static void	 buf_free(struct buf *);
static void	 fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	 status(struct chatc *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 screen_flush(struct chatc *);
static void	 conn_start(struct chatc *);
static void	 conn_up(struct chatc *);
static void	 conn_next(struct chatc *);
static void	 conn_failed(struct chatc *);
static void	 conn_lost(struct chatc *, const char *);
static void	 out_flush(struct chatc *);
static void	 leave(struct chatc *, int);
static void	 rl_start(struct chatc *);
static void	 rl_stop(struct chatc *);
static void	 stdin_update(struct chatc *);

/* Print an error on stderr, restore the terminal, and exit 1. */
static void
fatal(const char *fmt, ...)
{
	va_list	ap;

	if (chatc != NULL && chatc->rl_active)
		rl_callback_handler_remove();
	fputs("chatc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* realloc() that exits on failure. */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		fatal("out of memory");
	return (p);
}

/* strndup() that exits on failure. */
static char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("out of memory");
	return (p);
}

/* Append n bytes. */
static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t	cap = b->cap ? b->cap : 256;

		while (cap - b->len <= n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Append a C string. */
static void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Drop the first n bytes. */
static void
buf_consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* Free the bytes and empty the buffer. */
static void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Whether the set holds str. */
static int
strset_has(const struct strset *s, const char *str)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return (1);
	return (0);
}

/* Add the len bytes at str, unless empty or already there. */
static void
strset_addn(struct strset *s, const char *str, size_t len)
{
	char	*p;

	if (len == 0)
		return;
	p = xstrndup(str, len);
	if (strset_has(s, p)) {
		free(p);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = p;
}

/* Add a C string. */
static void
strset_add(struct strset *s, const char *str)
{
	strset_addn(s, str, strlen(str));
}

/* Remove str, if it is there. */
static void
strset_del(struct strset *s, const char *str)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], str) == 0) {
			free(s->v[i]);
			memmove(&s->v[i], &s->v[i + 1],
			    (s->n - i - 1) * sizeof *s->v);
			s->n--;
			return;
		}
	}
}

/* Remove everything, keeping the array. */
static void
strset_clear(struct strset *s)
{
	while (s->n > 0)
		free(s->v[--s->n]);
}

/* ---- text from the server ------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return (0);
	if (n < len || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	return (len);
}

/*
 * Append the n bytes at s to out in a form that is safe to write to a
 * terminal: C0 controls but TAB, and DEL, in caret notation; C1 controls
 * and invalid UTF-8 as U+FFFD; outside a UTF-8 locale, every non-ASCII
 * character as "?", since a terminal in an 8-bit mode takes bytes 0x80 to
 * 0x9f of UTF-8 text for controls.
 */
static void
sanitize(const char *str, size_t n, int utf8, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)str;
	const char		*bad = utf8 ? "\xef\xbf\xbd" : "?";
	size_t			 i = 0, len;
	char			 caret[2];

	while (i < n) {
		if (s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f)) {
			len = 1;
			while (i + len < n && (s[i + len] == '\t' ||
			    (s[i + len] >= 0x20 && s[i + len] < 0x7f)))
				len++;
			buf_add(out, s + i, len);
			i += len;
		} else if (s[i] < 0x80) {
			caret[0] = '^';
			caret[1] = (char)(s[i] == 0x7f ? '?' : s[i] + 0x40);
			buf_add(out, caret, 2);
			i++;
		} else if ((len = utf8_len(s + i, n - i)) == 0) {
			buf_adds(out, bad);
			i++;
		} else {
			/* U+0080 to U+009F are C2 80 to C2 9F. */
			if (!utf8 || (s[i] == 0xc2 && s[i + 1] < 0xa0))
				buf_adds(out, bad);
			else
				buf_add(out, s + i, len);
			i += len;
		}
	}
}

/* ---- the terminal --------------------------------------------------- */

/* Append text wrapped in an SGR color, if colors are on. */
static void
screen_color(struct chatc *c, const char *sgr, const char *text, size_t len)
{
	if (c->color) {
		buf_adds(&c->screen, "\033[");
		buf_adds(&c->screen, sgr);
		buf_adds(&c->screen, "m");
	}
	buf_add(&c->screen, text, len);
	if (c->color)
		buf_adds(&c->screen, "\033[0m");
}

/* The color of a name: one of the palette, by a hash of its bytes. */
static const char *
name_color(const char *name, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return (color_names[h % (sizeof color_names / sizeof *color_names)]);
}

/*
 * Write text to stdout.  With the prompt on the same terminal, clear the
 * prompt and the line being typed first and draw them again after, so the
 * text appears above them.  Inside the line handler readline has already
 * moved to a fresh line and draws the prompt itself afterwards.
 *
 * Readline 7 and later clear every row the prompt and line take.  Older
 * ones lack rl_clear_visible_line(): there the cursor's row is cleared
 * with a carriage return and "erase line", which is right while the line
 * fits on one row.
 */
static void
term_write(struct chatc *c, const char *s, size_t n)
{
	int	redraw = c->rl_active && c->tty_out && !c->in_handler;

	if (redraw) {
#ifdef HAVE_RL_CLEAR_VISIBLE_LINE
		rl_clear_visible_line();
#else
		fputs("\r\033[K", stdout);
#endif
	}
	if (fwrite(s, 1, n, stdout) != n || fflush(stdout) != 0) {
		/* Standard output is gone (a closed pipe): nothing to show
		 * anything on, so leave. */
		if (errno != EINTR && errno != EAGAIN) {
			clearerr(stdout);
			leave(c, 0);
		}
	}
	if (redraw && c->rl_active)
		rl_forced_update_display();
}

/* Write out what this turn of the loop has to show. */
static void
screen_flush(struct chatc *c)
{
	if (c->screen.len == 0)
		return;
	term_write(c, c->screen.data, c->screen.len);
	c->screen.len = 0;
}

/*
 * A message of chatc's own.  On a terminal, a "-- " line among the
 * server's; otherwise errors only, on stderr, so standard output holds
 * nothing but what the server sent.
 */
static void
status(struct chatc *c, int error, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!c->tty_out) {
		if (error) {
			screen_flush(c);
			fprintf(stderr, "chatc: %s\n", msg);
		}
		return;
	}
	buf_adds(&c->screen, "-- ");
	screen_color(c, error ? COLOR_ERROR : COLOR_LOCAL, msg, strlen(msg));
	buf_adds(&c->screen, "\n");
	screen_flush(c);
}

/* Queue a cleaned server line for the terminal, colored by its kind. */
static void
show(struct chatc *c, const char *t)
{
	const char	*end;
	size_t		 len = strlen(t);

	if (!c->color) {
		buf_add(&c->screen, t, len);
	} else if (t[0] == '!' && t[1] == ' ') {
		screen_color(c, COLOR_ERROR, t, len);
	} else if (t[0] == '*' && t[1] == ' ') {
		screen_color(c, COLOR_NOTICE, t, len);
	} else if (t[0] == '[' && (end = strstr(t, "]: ")) != NULL &&
	    memchr(t, ' ', (size_t)(end - t)) == NULL) {
		size_t	nlen = (size_t)(end - t - 1);
		int	self = c->myname != NULL &&
			    strlen(c->myname) == nlen &&
			    memcmp(c->myname, t + 1, nlen) == 0;

		buf_adds(&c->screen, "[");
		screen_color(c, self ? COLOR_SELF : name_color(t + 1, nlen),
		    t + 1, nlen);
		buf_adds(&c->screen, end);
	} else {
		buf_add(&c->screen, t, len);
	}
	buf_adds(&c->screen, "\n");
}

/* ---- what the lines say --------------------------------------------- */

static void
set_myname(struct chatc *c, const char *name)
{
	if (c->myname != NULL)
		strset_del(&c->names, c->myname);
	free(c->myname);
	c->myname = xstrndup(name, strlen(name));
	strset_add(&c->names, name);
}

/* A help line "name: text" or "name|<arg>: text": note the command. */
static void
help_line(struct chatc *c, const char *h)
{
	size_t		 len = strcspn(h, ":| ");
	struct buf	 cmd = { NULL, 0, 0 };

	if (len == 0)
		return;
	buf_add(&cmd, h, len);
	if (h[len] == '|')
		buf_adds(&cmd, "|");
	strset_add(&c->commands, cmd.data);
	buf_free(&cmd);
}

/* "* online (N): a, b, c": the whole room. */
static void
online_list(struct chatc *c, const char *list)
{
	const char	*p = list, *sep;

	strset_clear(&c->names);
	while (*p != '\0') {
		sep = strstr(p, ", ");
		if (sep == NULL) {
			strset_add(&c->names, p);
			break;
		}
		strset_addn(&c->names, p, (size_t)(sep - p));
		p = sep + 2;
	}
}

/* "* NAME joined", "* NAME left", "* OLD is now NEW" and the like. */
static void
notice_names(struct chatc *c, const char *t)
{
	const char	*sp = strchr(t, ' ');
	char		*name;

	if (sp == NULL || sp == t)
		return;
	name = xstrndup(t, (size_t)(sp - t));
	sp++;
	if (strcmp(sp, "joined") == 0)
		strset_add(&c->names, name);
	else if (strcmp(sp, "left") == 0 || strcmp(sp, "timed out") == 0 ||
	    strcmp(sp, "dropped (too slow)") == 0)
		strset_del(&c->names, name);
	else if (strncmp(sp, "is now ", 7) == 0 && strchr(sp + 7, ' ') == NULL) {
		strset_del(&c->names, name);
		strset_add(&c->names, sp + 7);
	}
	free(name);
}

/*
 * One cleaned line from the server: learn names and commands from it, and
 * queue it for the terminal unless it answers chatc's own "help".
 */
static void
server_line(struct chatc *c, const char *t)
{
	const char	*p;
	size_t		 len;

	if (c->block != BLOCK_NONE) {
		if (strncmp(t, "*   ", 4) == 0) {
			if (c->block == BLOCK_HELP) {
				help_line(c, t + 4);
				if (c->block_quiet)
					return;
			} else {
				strset_addn(&c->names, t + 4,
				    strcspn(t + 4, " "));
			}
			show(c, t);
			return;
		}
		c->block = BLOCK_NONE;
	}

	if (strcmp(t, "* commands:") == 0) {
		c->block = BLOCK_HELP;
		c->block_quiet = c->help_pending;
		c->help_pending = 0;
		strset_clear(&c->commands);
		if (c->block_quiet)
			return;
	} else if (strncmp(t, "* online (", 10) == 0 &&
	    (p = strstr(t + 10, "):")) != NULL) {
		if (p[2] == '\0') {
			strset_clear(&c->names);
			c->block = BLOCK_WHO;
		} else if (p[2] == ' ')
			online_list(c, p + 3);
	} else if (strncmp(t, "* welcome ", 10) == 0) {
		if (strchr(t + 10, ' ') == NULL)
			set_myname(c, t + 10);
	} else if (strncmp(t, "* you are now ", 14) == 0) {
		if (strchr(t + 14, ' ') == NULL)
			set_myname(c, t + 14);
	} else if (t[0] == '*' && t[1] == ' ') {
		notice_names(c, t + 2);
	} else if (t[0] == '[' && (p = strstr(t, "]: ")) != NULL &&
	    memchr(t, ' ', (size_t)(p - t)) == NULL) {
		len = (size_t)(p - t - 1);
		/* A server without "help" takes it for chat: hide the echo. */
		if (c->help_pending && strcmp(p + 3, "help") == 0 &&
		    (c->myname == NULL || (strlen(c->myname) == len &&
		    memcmp(c->myname, t + 1, len) == 0))) {
			c->help_pending = 0;
			return;
		}
		strset_addn(&c->names, t + 1, len);
	}
	show(c, t);
}

/* Clean a raw line (without its LF and CR) and handle it. */
static void
server_raw_line(struct chatc *c, const char *s, size_t n)
{
	struct buf	clean = { NULL, 0, 0 };

	sanitize(s, n, c->utf8, &clean);
	buf_add(&clean, "", 0);
	server_line(c, clean.data);
	buf_free(&clean);
}

/* Frame bytes from the server into lines; a CR before the LF is dropped. */
static void
server_bytes(struct chatc *c, const char *s, size_t n)
{
	const char	*lf;
	size_t		 take;

	while (n > 0) {
		lf = memchr(s, '\n', n);
		take = lf != NULL ? (size_t)(lf - s) : n;
		if (c->in_cut) {
			/* The rest of a line that was too long. */
		} else if (c->in.len + take > CHATC_MAX_LINE) {
			buf_add(&c->in, s, CHATC_MAX_LINE - c->in.len);
			server_raw_line(c, c->in.data, c->in.len);
			status(c, 1, "a line from the server was longer than "
			    "%d bytes; the rest of it was not shown",
			    CHATC_MAX_LINE);
			c->in.len = 0;
			c->in_cut = 1;
		} else {
			buf_add(&c->in, s, take);
		}
		if (lf == NULL)
			return;
		if (!c->in_cut) {
			if (c->in.len > 0 && c->in.data[c->in.len - 1] == '\r')
				c->in.len--;
			server_raw_line(c, c->in.data ? c->in.data : "",
			    c->in.len);
		}
		c->in.len = 0;
		c->in_cut = 0;
		s = lf + 1;
		n -= take + 1;
	}
}

/* ---- the connection ------------------------------------------------- */

/* Resolve the server's name and start trying its addresses. */
static void
conn_start(struct chatc *c)
{
	struct addrinfo	hints;
	int		err;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	c->ai_list = NULL;
	err = getaddrinfo(c->host, c->port, &hints, &c->ai_list);
	if (err != 0) {
		c->ai_list = NULL;
		c->ai = NULL;
		c->last_errno = 0;
		if (!c->ever_connected && !c->reconnect) {
			fprintf(stderr, "chatc: cannot resolve %s: %s\n",
			    c->host, err == EAI_SYSTEM ? strerror(errno) :
			    gai_strerror(err));
			c->status = 1;
			ev_break(c->loop, EVBREAK_ALL);
			return;
		}
		status(c, 1, "cannot resolve %s: %s", c->host,
		    err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		conn_failed(c);
		return;
	}
	c->ai = c->ai_list;
	c->last_errno = ECONNREFUSED;
	conn_next(c);
}

/* One step of the TLS handshake; the connection is up once it is done. */
static void
conn_handshake(struct chatc *c)
{
	char	why[512];
	int	want = 0, r;

	if ((r = ctls_handshake(c->tls, &want, why, sizeof why)) == 1) {
		conn_up(c);
		return;
	}
	if (r == 0) {
		ev_io_stop(c->loop, &c->rio);
		ev_io_stop(c->loop, &c->wio);
		ev_io_set(want == CTLS_WANT_WRITE ? &c->wio : &c->rio, c->fd,
		    want == CTLS_WANT_WRITE ? EV_WRITE : EV_READ);
		ev_io_start(c->loop, want == CTLS_WANT_WRITE ? &c->wio :
		    &c->rio);
		return;
	}
	ev_timer_stop(c->loop, &c->timer);
	if (!c->ever_connected && !c->reconnect) {
		fprintf(stderr, "chatc: TLS handshake with %s failed: %s\n",
		    c->label, why);
		ev_io_stop(c->loop, &c->rio);
		ev_io_stop(c->loop, &c->wio);
		ctls_free(c->tls);
		c->tls = NULL;
		close(c->fd);
		c->fd = -1;
		c->state = ST_IDLE;
		c->status = 1;
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	conn_lost(c, why);
}

/* The socket is connected: start TLS, or the session at once. */
static void
conn_ready(struct chatc *c)
{
	ev_io_stop(c->loop, &c->wio);
	if (c->tls_ctx == NULL) {
		conn_up(c);
		return;
	}
	if ((c->tls = ctls_new(c->tls_ctx, c->fd, c->host)) == NULL)
		fatal("out of memory");
	c->state = ST_HANDSHAKE;
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, CHATC_CONNECT_TIMEOUT, 0.);
	ev_timer_start(c->loop, &c->timer);
	conn_handshake(c);
}

/* The connection is up. */
static void
conn_up(struct chatc *c)
{
	char	tls[128];

	ev_timer_stop(c->loop, &c->timer);
	ev_io_stop(c->loop, &c->wio);
	ev_io_stop(c->loop, &c->rio);
	freeaddrinfo(c->ai_list);
	c->ai_list = c->ai = NULL;
	c->state = ST_CONNECTED;
	c->ever_connected = 1;
	c->connected_at = ev_now(c->loop);

	c->in.len = 0;
	c->in_cut = 0;
	c->out.len = 0;
	c->block = BLOCK_NONE;
	strset_clear(&c->names);
	free(c->myname);
	c->myname = NULL;

	ev_io_set(&c->rio, c->fd, EV_READ);
	ev_io_start(c->loop, &c->rio);
	if (c->tls != NULL)
		status(c, 0, "connected to %s (%s)", c->label,
		    ctls_describe(c->tls, tls, sizeof tls));
	else
		status(c, 0, "connected to %s", c->label);

	/* Ask for the server's commands; the answer is not shown. */
	c->help_pending = 1;
	buf_adds(&c->out, "help\n");
	out_flush(c);
	if (c->state != ST_CONNECTED)
		return;
	if (c->tty_in)
		rl_start(c);
	else
		stdin_update(c);
}

/* Try the next address of the server. */
static void
conn_next(struct chatc *c)
{
	struct addrinfo	*ai;
	int		 fd;

	for (; (ai = c->ai) != NULL; c->ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			c->last_errno = errno;
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			conn_ready(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = ST_CONNECTING;
			ev_io_stop(c->loop, &c->wio);
			ev_io_set(&c->wio, fd, EV_WRITE);
			ev_io_start(c->loop, &c->wio);
			ev_timer_stop(c->loop, &c->timer);
			ev_timer_set(&c->timer, CHATC_CONNECT_TIMEOUT, 0.);
			ev_timer_start(c->loop, &c->timer);
			return;
		}
		c->last_errno = errno;
		close(fd);
		c->fd = -1;
	}
	conn_failed(c);
}

/* A pending connect() has finished (the socket is writable). */
static void
conn_check(struct chatc *c)
{
	int		err = 0;
	socklen_t	len = sizeof err;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		conn_ready(c);
		return;
	}
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->timer);
	close(c->fd);
	c->fd = -1;
	c->last_errno = err;
	c->ai = c->ai->ai_next;
	conn_next(c);
}

/* Wait before the next attempt, doubling the delay each time. */
static void
conn_retry_later(struct chatc *c)
{
	c->state = ST_WAITING;
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, c->backoff, 0.);
	ev_timer_start(c->loop, &c->timer);
	c->backoff *= 2;
	if (c->backoff > CHATC_BACKOFF_MAX)
		c->backoff = CHATC_BACKOFF_MAX;
}

/* No address of the server could be reached. */
static void
conn_failed(struct chatc *c)
{
	char	why[512];

	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	c->ai_list = c->ai = NULL;
	c->state = ST_IDLE;
	if (c->last_errno != 0)
		snprintf(why, sizeof why, "cannot connect to %s: %s",
		    c->label, strerror(c->last_errno));
	else
		why[0] = '\0';
	if (c->quitting) {
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	if (c->reconnect) {
		if (why[0] != '\0')
			status(c, 1, "%s; retrying in %.0f s", why,
			    c->backoff);
		else
			status(c, 1, "retrying in %.0f s", c->backoff);
		conn_retry_later(c);
		return;
	}
	if (why[0] != '\0')
		fprintf(stderr, "chatc: %s\n", why);
	c->status = 1;
	ev_break(c->loop, EVBREAK_ALL);
}

/*
 * The connection is over: the server closed it (why == NULL) or an error
 * broke it.  After the user asked to leave, that is the end; otherwise it
 * is reported, and with --reconnect another attempt is scheduled.
 */
static void
conn_lost(struct chatc *c, const char *why)
{
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->timer);
	ctls_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	c->out.len = 0;
	c->shut_pending = 0;
	if (c->in.len > 0 && !c->in_cut)	/* a last line without LF */
		server_raw_line(c, c->in.data, c->in.len);
	c->in.len = 0;
	c->in_cut = 0;
	screen_flush(c);
	stdin_update(c);

	if (c->quitting) {
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	if (c->reconnect) {
		if (ev_now(c->loop) - c->connected_at >= CHATC_STABLE)
			c->backoff = CHATC_BACKOFF_MIN;
		if (why == NULL)
			status(c, 1, "connection closed by the server; "
			    "reconnecting in %.0f s", c->backoff);
		else
			status(c, 1, "connection to %s lost: %s; "
			    "reconnecting in %.0f s", c->label, why,
			    c->backoff);
		conn_retry_later(c);
		return;
	}
	if (why == NULL)
		status(c, 1, "connection closed by the server");
	else
		status(c, 1, "connection to %s lost: %s", c->label, why);
	c->status = 1;
	ev_break(c->loop, EVBREAK_ALL);
}

/* Write what the socket takes; wait for it to be writable for the rest. */
static void
out_flush(struct chatc *c)
{
	ssize_t	n;
	int	want;

	while (c->out.len > 0) {
		if (c->tls != NULL)
			n = ctls_write(c->tls, c->out.data, c->out.len, &want);
		else
			n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!ev_is_active(&c->wio)) {
					ev_io_set(&c->wio, c->fd, EV_WRITE);
					ev_io_start(c->loop, &c->wio);
				}
				stdin_update(c);
				return;
			}
			conn_lost(c, strerror(errno));
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	ev_io_stop(c->loop, &c->wio);
	if (c->shut_pending) {
		/* All is said: the server answers our EOF by closing. */
		c->shut_pending = 0;
		if (c->tls != NULL)
			ctls_shutdown(c->tls);
		shutdown(c->fd, SHUT_WR);
	}
	stdin_update(c);
}

/* The server has sent something, or closed. */
static void
sock_read_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct chatc	*c = w->data;
	char		 data[65536];
	ssize_t		 n;
	int		 want;

	if (c->state == ST_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	/* Over TLS, read until OpenSSL has nothing left: records it has
	 * decoded already would wake no watcher. */
	do {
		if (c->tls != NULL)
			n = ctls_read(c->tls, data, sizeof data, &want);
		else
			n = read(c->fd, data, sizeof data);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			conn_lost(c, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_lost(c, NULL);
			return;
		}
		server_bytes(c, data, (size_t)n);
	} while (c->tls != NULL && c->state == ST_CONNECTED);
	screen_flush(c);
}

/* The socket is writable: a connect() finished, or output can go. */
static void
sock_write_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->state == ST_CONNECTING)
		conn_check(c);
	else if (c->state == ST_HANDSHAKE)
		conn_handshake(c);
	else
		out_flush(c);
}

/* A connect() took too long, or the --reconnect delay is over. */
static void
timer_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->state == ST_CONNECTING) {
		ev_io_stop(loop, &c->wio);
		close(c->fd);
		c->fd = -1;
		c->last_errno = ETIMEDOUT;
		c->ai = c->ai->ai_next;
		conn_next(c);
	} else if (c->state == ST_HANDSHAKE) {
		if (!c->ever_connected && !c->reconnect) {
			fprintf(stderr, "chatc: TLS handshake with %s failed: "
			    "no answer within %.0f s\n", c->label,
			    CHATC_CONNECT_TIMEOUT);
			c->status = 1;
			ev_break(loop, EVBREAK_ALL);
			return;
		}
		conn_lost(c, "TLS handshake timed out");
	} else if (c->state == ST_WAITING) {
		conn_start(c);
	}
}

/* The server did not close after we said goodbye: leave anyway. */
static void
quit_timer_cb(struct ev_loop *loop, __unused ev_timer *w, __unused int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* ---- what the user types -------------------------------------------- */

static int
is_blank(const char *s)
{
	return (s[strspn(s, " \t")] == '\0');
}

/* "exit" and "quit", with or without arguments, as chatd reads them. */
static int
is_quit(const char *s)
{
	return (strcmp(s, "exit") == 0 || strcmp(s, "quit") == 0 ||
	    strncmp(s, "exit|", 5) == 0 || strncmp(s, "quit|", 5) == 0);
}

/*
 * Leave: stop reading input; when connected, shut down writing once the
 * queued lines are out and wait (bounded) for the server to close, so
 * its last words (such as "* bye") are shown.
 */
static void
leave(struct chatc *c, int eof)
{
	if (c->quitting)
		return;
	c->quitting = 1;
	if (c->rl_active) {
		rl_stop(c);
		if (eof && c->tty_out)
			term_write(c, "\n", 1);
	}
	ev_io_stop(c->loop, &c->tio);
	if (c->state != ST_CONNECTED) {
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_set(&c->quit_timer, CHATC_QUIT_TIMEOUT, 0.);
	ev_timer_start(c->loop, &c->quit_timer);
	c->shut_pending = 1;
	out_flush(c);
}

/* One line the user entered. */
static void
user_line(struct chatc *c, const char *line)
{
	if (is_blank(line))
		return;
	if (c->state != ST_CONNECTED) {
		if (is_quit(line)) {
			leave(c, 0);
			return;
		}
		status(c, 1, "not connected: line not sent");
		return;
	}
	buf_adds(&c->out, line);
	buf_adds(&c->out, "\n");
	if (is_quit(line))
		leave(c, 0);
	else
		out_flush(c);
}

/* Readline has a line (NULL: end of input, as with Ctrl-D). */
static void
rl_line_cb(char *line)
{
	struct chatc	*c = chatc;
	HIST_ENTRY	*last;
	char		*p, *nl;

	c->in_handler = 1;
	if (line == NULL) {
		leave(c, 1);
	} else {
		if (!is_blank(line)) {
			last = history_get(history_base + history_length - 1);
			if (last == NULL || strcmp(last->line, line) != 0)
				add_history(line);
		}
		/* A bracketed paste may hold several lines. */
		for (p = line; p != NULL; p = nl) {
			if ((nl = strchr(p, '\n')) != NULL)
				*nl++ = '\0';
			user_line(c, p);
			if (c->quitting)
				break;
		}
		free(line);
	}
	c->in_handler = 0;
}

static char **complete(const char *, int, int);

/* Start line editing on the terminal. */
static void
rl_start(struct chatc *c)
{
	if (c->rl_active || c->quitting)
		return;
	rl_readline_name = "chatc";
	rl_instream = stdin;
	rl_outstream = c->tty_out ? stdout : stderr;
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_completer_word_break_characters = word_breaks;
	stifle_history(CHATC_HISTORY);
	rl_callback_handler_install(CHATC_PROMPT, rl_line_cb);
	c->rl_active = 1;
	ev_io_set(&c->tio, STDIN_FILENO, EV_READ);
	ev_io_start(c->loop, &c->tio);
}

/* Give the terminal back as it was. */
static void
rl_stop(struct chatc *c)
{
	if (!c->rl_active)
		return;
	rl_callback_handler_remove();
	c->rl_active = 0;
	ev_io_stop(c->loop, &c->tio);
}

/*
 * Send the complete lines read from a stdin that is not a terminal, and
 * read more only while connected and the server keeps up.  The end of
 * stdin, once its lines are out, is the end of the session.
 */
static void
stdin_update(struct chatc *c)
{
	struct buf	*b = &c->stdin_line;
	char		*lf;
	size_t		 len;

	/* Sending a line flushes, and a flush calls here: once is enough. */
	if (c->tty_in || c->stdin_busy)
		return;
	c->stdin_busy = 1;
	while (c->state == ST_CONNECTED && !c->quitting &&
	    c->out.len <= CHATC_OUT_HIGH && b->len > 0 &&
	    (lf = memchr(b->data, '\n', b->len)) != NULL) {
		len = (size_t)(lf - b->data);
		*lf = '\0';
		if (len > 0 && b->data[len - 1] == '\r')
			b->data[len - 1] = '\0';
		user_line(c, b->data);
		buf_consume(b, len + 1);
	}
	c->stdin_busy = 0;
	if (c->quitting)
		return;
	if (c->stdin_eof && b->len == 0 && c->state == ST_CONNECTED) {
		leave(c, 0);
		return;
	}
	if (c->state == ST_CONNECTED && !c->stdin_eof &&
	    c->out.len <= CHATC_OUT_HIGH) {
		if (!ev_is_active(&c->tio)) {
			ev_io_set(&c->tio, STDIN_FILENO, EV_READ);
			ev_io_start(c->loop, &c->tio);
		}
	} else
		ev_io_stop(c->loop, &c->tio);
}

/* Bytes from a stdin that is not a terminal. */
static void
stdin_read(struct chatc *c)
{
	char	data[4096];
	ssize_t	n;

	n = read(STDIN_FILENO, data, sizeof data);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		status(c, 1, "standard input: %s", strerror(errno));
		n = 0;
	}
	if (n == 0) {
		c->stdin_eof = 1;
		/* A last line without LF is a line. */
		if (c->stdin_line.len > 0 &&
		    memchr(c->stdin_line.data, '\n', c->stdin_line.len) == NULL)
			buf_adds(&c->stdin_line, "\n");
	} else {
		buf_add(&c->stdin_line, data, (size_t)n);
		if (c->stdin_line.len > CHATC_MAX_LINE &&
		    memchr(c->stdin_line.data, '\n', c->stdin_line.len) ==
		    NULL) {
			status(c, 1, "standard input: a line is longer than "
			    "%d bytes", CHATC_MAX_LINE);
			c->status = 1;
			leave(c, 0);
			return;
		}
	}
	stdin_update(c);
}

/* Keys from the terminal, or bytes from a piped stdin. */
static void
tty_read_cb(__unused struct ev_loop *loop, ev_io *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->rl_active)
		rl_callback_read_char();
	else if (!c->tty_in)
		stdin_read(c);
	screen_flush(c);
}

/* ---- completion ----------------------------------------------------- */

static int	comp_commands;	/* offer commands (the first word) */

/* Readline's generator: the commands, then the names, that match. */
static char *
complete_next(const char *text, int state)
{
	static size_t	 i;
	size_t		 len = strlen(text), total;
	struct strset	*cmds = &chatc->commands, *names = &chatc->names;
	const char	*cand;

	if (state == 0)
		i = 0;
	total = (comp_commands ? cmds->n : 0) + names->n;
	while (i < total) {
		if (comp_commands && i < cmds->n)
			cand = cmds->v[i];
		else
			cand = names->v[i - (comp_commands ? cmds->n : 0)];
		i++;
		if (strncmp(cand, text, len) == 0 &&
		    !(comp_commands && i > cmds->n && strset_has(cmds, cand)))
			return (xstrndup(cand, strlen(cand)));
	}
	return (NULL);
}

/*
 * Tab: the first word completes to a command or a name, a later one to a
 * name.  A command that takes an argument completes with its "|"; one
 * that takes none gets nothing after it (chatd reads "who " as chat); a
 * name gets a space, except right after a "|".
 */
static char **
complete(const char *text, int start, __unused int end)
{
	char	**m;
	int	  after_bar = start > 0 && rl_line_buffer[start - 1] == '|';

	rl_attempted_completion_over = 1;
	comp_commands = (start == 0);
	m = rl_completion_matches(text, complete_next);
	if (m != NULL && m[1] == NULL) {
		if (strset_has(&chatc->names, m[0]) &&
		    !(comp_commands && strset_has(&chatc->commands, m[0])) &&
		    !after_bar)
			rl_completion_append_character = ' ';
		else
			rl_completion_append_character = '\0';
	}
	return (m);
}

/* ---- signals -------------------------------------------------------- */

/* SIGINT, SIGTERM, SIGHUP: leave; a second one leaves at once. */
static void
sig_quit_cb(struct ev_loop *loop, ev_signal *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->quitting) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	leave(c, w->signum == SIGINT);
}

/* The terminal was resized. */
static void
sig_winch_cb(__unused struct ev_loop *loop, ev_signal *w, __unused int revents)
{
	struct chatc	*c = w->data;

	if (c->rl_active)
		rl_resize_terminal();
}

/* Ctrl-Z: give the terminal back while stopped, take it again after. */
static void
sig_tstp_cb(__unused struct ev_loop *loop, ev_signal *w, __unused int revents)
{
	struct chatc	*c = w->data;
	char		*saved = NULL;
	int		 point = 0, active = c->rl_active;

	if (active) {
		point = rl_point;
		saved = xstrndup(rl_line_buffer, (size_t)rl_end);
#ifdef HAVE_RL_CLEAR_VISIBLE_LINE
		rl_clear_visible_line();
#else
		fputc('\n', rl_outstream);
#endif
		rl_callback_handler_remove();
	}
	fflush(stdout);
	kill(getpid(), SIGSTOP);
	if (active) {
		rl_callback_handler_install(CHATC_PROMPT, rl_line_cb);
		rl_replace_line(saved, 0);
		rl_point = point;
		rl_redisplay();
		free(saved);
	}
}

/* ---- main ----------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: chatc [-V] [--reconnect] [--tls [--ca file | --insecure]] "
	    "[-h host] [-p port]\n"
	    "             [host[:port] [port]]\n"
	    "  -h, --host host   server to connect to (default %s)\n"
	    "  -p, --port port   its port (default %s, with --tls %s)\n"
	    "  --reconnect       when the connection fails or is lost, "
	    "try again\n"
	    "                    (after 1 s, doubling up to %.0f s)\n"
	    "  --tls             connect with TLS, verifying the server's "
	    "certificate\n"
	    "                    against the system's CAs and the host name\n"
	    "  --ca file         verify against the CA certificates in file "
	    "instead\n"
	    "  --insecure        do not verify the server (a test server's "
	    "own certificate)\n"
	    "  --help            print this help and exit\n"
	    "  -V, --version     print the version and exit\n",
	    CHATC_HOST, CHATC_PORT, CHATC_TLS_PORT, CHATC_BACKOFF_MAX);
}

/* A port number, 1 to 65535, or NULL. */
static char *
parse_port(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return (NULL);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return (NULL);
	return (xstrndup(s, strlen(s)));
}

/*
 * "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address (more
 * than one colon).  Returns -1 for nonsense.
 */
static int
parse_target(const char *s, char **host, char **port)
{
	const char	*colon, *end;

	*host = *port = NULL;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end == s + 1)
			return (-1);
		*host = xstrndup(s + 1, (size_t)(end - s - 1));
		if (end[1] == '\0')
			return (0);
		if (end[1] != ':' || (*port = parse_port(end + 2)) == NULL)
			return (-1);
		return (0);
	}
	colon = strchr(s, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL) {
		if (*s == '\0')
			return (-1);
		*host = xstrndup(s, strlen(s));
		return (0);
	}
	if (colon == s || (*port = parse_port(colon + 1)) == NULL)
		return (-1);
	*host = xstrndup(s, (size_t)(colon - s));
	return (0);
}

/* Give an option's value to *slot, refusing a second one. */
static int
set_once(char **slot, char *value, const char *what)
{
	if (*slot != NULL) {
		fprintf(stderr, "chatc: %s given twice\n", what);
		free(value);
		return (-1);
	}
	*slot = value;
	return (0);
}

/*
 * The command line into c->host, c->port and c->reconnect.  Returns 0 to
 * go on, or 1 + the exit status (after --help, -V or a usage error).
 */
static int
parse_args(struct chatc *c, int argc, char **argv)
{
	enum { OPT_HELP = 256, OPT_RECONNECT, OPT_TLS, OPT_CA, OPT_INSECURE };
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "reconnect", no_argument, NULL, OPT_RECONNECT },
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char	*host, *port;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "h:p:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			if (*optarg == '\0') {
				fprintf(stderr, "chatc: empty host\n");
				return (3);
			}
			if (set_once(&c->host, xstrndup(optarg,
			    strlen(optarg)), "host") != 0)
				return (3);
			break;
		case 'p':
			if ((port = parse_port(optarg)) == NULL) {
				fprintf(stderr, "chatc: bad port '%s' (1 to "
				    "65535)\n", optarg);
				return (3);
			}
			if (set_once(&c->port, port, "port") != 0)
				return (3);
			break;
		case OPT_RECONNECT:
			c->reconnect = 1;
			break;
		case OPT_TLS:
			c->use_tls = 1;
			break;
		case OPT_CA:
			if (set_once(&c->ca, xstrndup(optarg, strlen(optarg)),
			    "--ca") != 0)
				return (3);
			break;
		case OPT_INSECURE:
			c->insecure = 1;
			break;
		case OPT_HELP:
			usage(stdout);
			return (1);
		case 'V':
			printf("chatc %s\n", PACKAGE_VERSION);
			return (1);
		default:
			usage(stderr);
			return (3);
		}
	}
	if ((c->ca != NULL || c->insecure) && !c->use_tls) {
		fprintf(stderr, "chatc: --ca and --insecure go with --tls\n");
		return (3);
	}
	if (c->ca != NULL && c->insecure) {
		fprintf(stderr, "chatc: --ca and --insecure exclude each "
		    "other\n");
		return (3);
	}
	if (argc - optind > 2) {
		fprintf(stderr, "chatc: unexpected argument '%s'\n",
		    argv[optind + 2]);
		usage(stderr);
		return (3);
	}
	if (optind < argc) {
		if (parse_target(argv[optind], &host, &port) != 0) {
			fprintf(stderr, "chatc: bad address '%s' (host, "
			    "host:port or [v6]:port)\n", argv[optind]);
			free(host);
			return (3);
		}
		if (set_once(&c->host, host, "host") != 0) {
			free(port);
			return (3);
		}
		if (port != NULL && set_once(&c->port, port, "port") != 0)
			return (3);
	}
	if (optind + 1 < argc) {
		if ((port = parse_port(argv[optind + 1])) == NULL) {
			fprintf(stderr, "chatc: bad port '%s' (1 to 65535)\n",
			    argv[optind + 1]);
			return (3);
		}
		if (set_once(&c->port, port, "port") != 0)
			return (3);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct chatc	 c;
	const char	*nocolor, *term;
	char		 err[512];
	size_t		 i;
	int		 r;

	memset(&c, 0, sizeof c);
	c.fd = -1;
	if ((r = parse_args(&c, argc, argv)) != 0) {
		free(c.host);
		free(c.port);
		free(c.ca);
		return (r - 1);
	}
	if (c.host == NULL)
		c.host = xstrndup(CHATC_HOST, strlen(CHATC_HOST));
	if (c.port == NULL)
		c.port = c.use_tls ? xstrndup(CHATC_TLS_PORT,
		    strlen(CHATC_TLS_PORT)) : xstrndup(CHATC_PORT,
		    strlen(CHATC_PORT));
	if (c.use_tls && (c.tls_ctx = ctls_ctx_new(c.ca, c.insecure, err,
	    sizeof err)) == NULL) {
		fprintf(stderr, "chatc: %s\n", err);
		free(c.host);
		free(c.port);
		free(c.ca);
		return (1);
	}
	snprintf(c.label, sizeof c.label,
	    strchr(c.host, ':') != NULL ? "[%s]:%s" : "%s:%s", c.host, c.port);

	setlocale(LC_ALL, "");
	c.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	c.tty_in = isatty(STDIN_FILENO);
	c.tty_out = isatty(STDOUT_FILENO);
	nocolor = getenv("NO_COLOR");
	term = getenv("TERM");
	c.color = c.tty_out && (nocolor == NULL || *nocolor == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	c.backoff = CHATC_BACKOFF_MIN;
	for (i = 0; i < sizeof default_commands / sizeof *default_commands;
	    i++)
		strset_add(&c.commands, default_commands[i]);
	chatc = &c;

	/* A server that goes away must cost a write error, not chatc. */
	signal(SIGPIPE, SIG_IGN);
	c.loop = ev_default_loop(EVFLAG_AUTO);
	if (c.loop == NULL)
		fatal("cannot initialise libev");
	ev_io_init(&c.rio, sock_read_cb, -1, EV_READ);
	ev_io_init(&c.wio, sock_write_cb, -1, EV_WRITE);
	ev_io_init(&c.tio, tty_read_cb, STDIN_FILENO, EV_READ);
	ev_init(&c.timer, timer_cb);
	ev_init(&c.quit_timer, quit_timer_cb);
	ev_signal_init(&c.sig_int, sig_quit_cb, SIGINT);
	ev_signal_init(&c.sig_term, sig_quit_cb, SIGTERM);
	ev_signal_init(&c.sig_hup, sig_quit_cb, SIGHUP);
	ev_signal_init(&c.sig_winch, sig_winch_cb, SIGWINCH);
	ev_signal_init(&c.sig_tstp, sig_tstp_cb, SIGTSTP);
	c.rio.data = c.wio.data = c.tio.data = &c;
	c.timer.data = c.quit_timer.data = &c;
	c.sig_int.data = c.sig_term.data = c.sig_hup.data = &c;
	c.sig_winch.data = c.sig_tstp.data = &c;
	ev_signal_start(c.loop, &c.sig_int);
	ev_signal_start(c.loop, &c.sig_term);
	ev_signal_start(c.loop, &c.sig_hup);
	ev_signal_start(c.loop, &c.sig_winch);
	if (c.tty_in)
		ev_signal_start(c.loop, &c.sig_tstp);

	conn_start(&c);
	if (c.status == 0 || c.state != ST_IDLE)
		ev_run(c.loop, 0);

	rl_stop(&c);
	screen_flush(&c);
	ctls_free(c.tls);
	ctls_ctx_free(c.tls_ctx);
	free(c.ca);
	if (c.fd != -1)
		close(c.fd);
	if (c.ai_list != NULL)
		freeaddrinfo(c.ai_list);
	strset_clear(&c.names);
	strset_clear(&c.commands);
	free(c.names.v);
	free(c.commands.v);
	free(c.myname);
	buf_free(&c.in);
	buf_free(&c.out);
	buf_free(&c.stdin_line);
	buf_free(&c.screen);
	free(c.host);
	free(c.port);
	ev_loop_destroy(c.loop);
	return (c.status);
}
