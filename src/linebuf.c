/*
 * Framing: turns the bytes of a stream into lines.  The buffer never holds
 * more than one line's worth (max_line plus CRLF), so a client can make
 * chatd keep at most that much of its input, whatever it sends.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

/* The most bytes of one unfinished line kept: content, CR and LF. */
static size_t
linebuf_window(const struct linebuf *lb)
{
	return (lb->max_line + 2);
}


/*
 * Set up an empty buffer for lines of at most max_line bytes.  Its memory
 * is taken by the first read and given back by linebuf_release() once
 * every line is consumed: an idle client holds no input buffer.
 */
void
linebuf_init(struct linebuf *lb, size_t max_line)
{
	memset(lb, 0, sizeof *lb);
	lb->max_line = max_line;
}

/* Free the memory of a buffer that holds no unconsumed byte. */
void
linebuf_release(struct linebuf *lb)
{
	if (lb->data == NULL || lb->start != lb->len)
		return;
	free(lb->data);
	lb->data = NULL;
	lb->cap = lb->start = lb->len = 0;
}

/* Release the buffer. */
void
linebuf_free(struct linebuf *lb)
{
	free(lb->data);
	lb->data = NULL;
	lb->cap = lb->start = lb->len = 0;
}

/*
 * Change the line limit.  Bytes already buffered stay; if they now make an
 * over-long line, the next linebuf_next() says so.
 */
void
linebuf_set_max(struct linebuf *lb, size_t max_line)
{
	lb->max_line = max_line;
	if (lb->data != NULL && linebuf_window(lb) > lb->cap) {
		lb->cap = linebuf_window(lb);
		lb->data = xrealloc(lb->data, lb->cap);
	}
}

/*
 * Return where the next read should go and, in *avail, how much may be
 * read.  Consumed lines are moved out of the way first, so the pointers
 * linebuf_next() returned are no longer valid.
 */
char *
linebuf_space(struct linebuf *lb, size_t *avail)
{
	size_t	pending = lb->len - lb->start;

	if (lb->data == NULL) {
		lb->cap = linebuf_window(lb);
		lb->data = xmalloc(lb->cap);
	}
	if (lb->start > 0) {
		memmove(lb->data, lb->data + lb->start, pending);
		lb->start = 0;
		lb->len = pending;
	}
	*avail = lb->cap - pending;
	return (lb->data + lb->len);
}

/* Account for n bytes read into the space linebuf_space() returned. */
void
linebuf_commit(struct linebuf *lb, size_t n)
{
	lb->len += n;
}

/*
 * Take the next event from the buffer: a complete line (LB_LINE, without
 * its LF and a CR before it), a refused over-long line (LB_TOOLONG, once
 * per such line) or LB_NONE when more input is needed.
 */
int
linebuf_next(struct linebuf *lb, const char **line, size_t *len)
{
	char	*p, *lf;
	size_t	 n;

	if (lb->data == NULL)
		return (LB_NONE);	/* nothing was read yet */
	for (;;) {
		p = lb->data + lb->start;
		n = lb->len - lb->start;
		lf = n > 0 ? memchr(p, '\n', n) : NULL;

		if (lb->discarding) {
			if (lf == NULL) {
				lb->start = lb->len = 0;
				return (LB_NONE);
			}
			lb->start += (size_t)(lf - p) + 1;
			lb->discarding = 0;
			continue;
		}

		if (lf != NULL) {
			n = (size_t)(lf - p);
			lb->start += n + 1;
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n > lb->max_line)
				return (LB_TOOLONG);
			*line = p;
			*len = n;
			return (LB_LINE);
		}

		if (n >= linebuf_window(lb)) {
			/* No LF in a full window: the line is too long. */
			lb->start = lb->len = 0;
			lb->discarding = 1;
			return (LB_TOOLONG);
		}
		return (LB_NONE);
	}
}
