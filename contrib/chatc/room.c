/*
 * chatc: what the server's lines say.  The names of the room (for
 * completion), our own name, and the blocks a "who" or a "help" answers
 * with.
 */

#include "config.h"

#include "chatc.h"

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
void
server_raw_line(struct chatc *c, const char *s, size_t n)
{
	struct buf	clean = { NULL, 0, 0 };

	sanitize(s, n, c->utf8, &clean);
	buf_add(&clean, "", 0);
	server_line(c, clean.data);
	buf_free(&clean);
}

/* Frame bytes from the server into lines; a CR before the LF is dropped. */
void
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
