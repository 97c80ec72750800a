/*
 * chatc, the terminal client: what its files share.  One file per
 * concern, each under its own heading below:
 *
 *   chatc.c   the command line, the signals and the loop
 *   buf.c     growable strings and sets of strings
 *   screen.c  the terminal: cleaning what the server sends, colors,
 *             writing above the prompt
 *   room.c    what the server's lines say: names, who, help
 *   conn.c    the connection: connect, TLS (tls.c), read, write, reconnect
 *   input.c   what the user types: readline, piped standard input,
 *             completion
 */

#ifndef CHATC_H
#define CHATC_H


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

/* Readline callbacks take no user pointer: the one client, for them. */
extern struct chatc *chatc;

/* buf.c */
void		 fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
char		*xstrndup(const char *, size_t);
void		 buf_add(struct buf *, const void *, size_t);
void		 buf_adds(struct buf *, const char *);
void		 buf_consume(struct buf *, size_t);
void		 buf_free(struct buf *);
int		 strset_has(const struct strset *, const char *);
void		 strset_addn(struct strset *, const char *, size_t);
void		 strset_add(struct strset *, const char *);
void		 strset_del(struct strset *, const char *);
void		 strset_clear(struct strset *);

/* screen.c */
void		 sanitize(const char *, size_t, int, struct buf *);
void		 term_write(struct chatc *, const char *, size_t);
void		 screen_flush(struct chatc *);
void		 status(struct chatc *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 show(struct chatc *, const char *);

/* room.c */
void		 server_raw_line(struct chatc *, const char *, size_t);
void		 server_bytes(struct chatc *, const char *, size_t);

/* conn.c */
void		 conn_start(struct chatc *);
void		 out_flush(struct chatc *);
void		 sock_read_cb(struct ev_loop *, ev_io *, int);
void		 sock_write_cb(struct ev_loop *, ev_io *, int);
void		 timer_cb(struct ev_loop *, ev_timer *, int);
void		 quit_timer_cb(struct ev_loop *, ev_timer *, int);

/* input.c */
void		 leave(struct chatc *, int);
void		 rl_line_cb(char *);
void		 rl_start(struct chatc *);
void		 rl_stop(struct chatc *);
void		 stdin_update(struct chatc *);
void		 tty_read_cb(struct ev_loop *, ev_io *, int);

#endif /* CHATC_H */
