/*
 * chatc: what the user types.  GNU readline's callback interface on a
 * terminal, lines from a pipe otherwise, and completion of commands and
 * names.
 */

#include "config.h"

#include "chatc.h"

static char word_breaks[] = " |";

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
void
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
void
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
void
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
void
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
void
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
void
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
