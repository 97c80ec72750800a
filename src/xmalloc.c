/*
 * Allocation that does not return on failure.  A chat server that cannot
 * get a few hundred bytes has no useful way on; dying loudly beats limping.
 * The memory a client can make chatd allocate is bounded elsewhere (line
 * length, output_limit, the Lua memory limit), never here.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

/* malloc() or die. */
void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return (p);
}

/* calloc() or die. */
void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("out of memory allocating %zu*%zu bytes", n, size);
	return (p);
}

/* realloc() or die. */
void *
xrealloc(void *old, size_t size)
{
	void	*p;

	if ((p = realloc(old, size == 0 ? 1 : size)) == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return (p);
}

/* strdup() or die. */
char *
xstrdup(const char *s)
{
	return (xstrndup(s, strlen(s)));
}

/* strndup() or die; the copy is always NUL-terminated. */
char *
xstrndup(const char *s, size_t len)
{
	char	*p;

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}
