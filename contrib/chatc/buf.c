/*
 * chatc: growable strings, sets of strings, and the way out on errors.
 */

#include "config.h"

#include "chatc.h"

/* Print an error on stderr, restore the terminal, and exit 1. */
void
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
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("out of memory");
	return (p);
}

/* Append n bytes. */
void
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
void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Drop the first n bytes. */
void
buf_consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* Free the bytes and empty the buffer. */
void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Whether the set holds str. */
int
strset_has(const struct strset *s, const char *str)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return (1);
	return (0);
}

/* Add the len bytes at str, unless empty or already there. */
void
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
void
strset_add(struct strset *s, const char *str)
{
	strset_addn(s, str, strlen(str));
}

/* Remove str, if it is there. */
void
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
void
strset_clear(struct strset *s)
{
	while (s->n > 0)
		free(s->v[--s->n]);
}
