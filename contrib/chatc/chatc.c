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
 * chatc.h says which file holds what.
 */

#include "config.h"

#include "chatc.h"

struct chatc *chatc;

/* Commands to complete before the server's help has been seen. */
static const char *const default_commands[] = {
	"who", "rename|", "exit", "quit", "help"
};

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
