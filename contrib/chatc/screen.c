/*
 * chatc: the terminal.  Every byte from the server is cleaned before it
 * is shown; a line arriving while the user types goes above the prompt.
 */

#include "config.h"

#include "chatc.h"

static const char *const color_names[] = {	/* other people's names */
	"33", "34", "35", "93", "94", "95"
};

/* A growable byte string, always NUL-terminated when data != NULL. */

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
void
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
void
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
void
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
void
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
void
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
