/*
 * fuzz_http.c - libFuzzer target for the HTTP door's request parser.
 *
 * Input: the bytes a peer sends.  They are fed to http_request_feed()
 * twice, whole and in pieces whose sizes come from the input itself, and:
 *   - the status is HTTP_MORE, HTTP_DONE or an error status the door
 *     knows (its reason phrase is not "Unknown"), and both feeds agree
 *     on which of the three (not always on the error: an input with two
 *     faults, say a 65th field whose name is malformed, may be caught by
 *     either check first, depending on where a piece ends);
 *   - no feed claims to use more bytes than it was given, and a request
 *     that is done takes nothing more;
 *   - a request that is done has a method, a path starting with "/" (or
 *     "*"), a target and fields within the documented bounds, and both
 *     feeds saw the same method, target, path, query and fields.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Feed data in pieces of 1 to 16 bytes, sizes drawn from seed. */
static int
feed_pieces(struct http_request *r, const uint8_t *data, size_t size,
    uint32_t seed)
{
	size_t	off = 0, n, used;
	int	rc = HTTP_MORE;

	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 16;
		if (n > size - off)
			n = size - off;
		rc = http_request_feed(r, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		if (rc != HTTP_MORE) {
			if (http_request_feed(r, "x", 1, &used) != rc ||
			    used != 0)
				abort();	/* not sticky */
			break;
		}
		if (used != n)
			abort();	/* a request not done takes all */
		off += n;
	}
	return (rc);
}

static void
check_same(const struct http_request *a, const struct http_request *b)
{
	const char	*an, *av, *bn, *bv, *qa, *qb;
	size_t		 i;

	if (strcmp(http_request_method(a), http_request_method(b)) != 0 ||
	    strcmp(http_request_target(a), http_request_target(b)) != 0 ||
	    strcmp(http_request_path(a), http_request_path(b)) != 0 ||
	    http_request_nfields(a) != http_request_nfields(b))
		abort();
	qa = http_request_query(a);
	qb = http_request_query(b);
	if ((qa == NULL) != (qb == NULL) || (qa != NULL && strcmp(qa, qb)))
		abort();
	for (i = 0; i < http_request_nfields(a); i++) {
		http_request_field(a, i, &an, &av);
		http_request_field(b, i, &bn, &bv);
		if (strcmp(an, bn) != 0 || strcmp(av, bv) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request	*whole, *pieces;
	const char		*path;
	size_t			 used, len;
	uint32_t		 seed = size > 0 ? data[0] : 0;
	int			 a, b;

	whole = http_request_new(64);
	pieces = http_request_new(64);
	a = http_request_feed(whole, (const char *)data, size, &used);
	if (used > size)
		abort();
	b = feed_pieces(pieces, data, size, seed);
	if (a != HTTP_MORE && a != HTTP_DONE &&
	    strcmp(http_status_text(a), "Unknown") == 0)
		abort();
	if ((a == HTTP_MORE) != (b == HTTP_MORE) ||
	    (a == HTTP_DONE) != (b == HTTP_DONE))
		abort();
	if (a == HTTP_DONE) {
		path = http_request_path(whole);
		if (*http_request_method(whole) == '\0' ||
		    (path[0] != '/' && path[0] != '*' &&
		    !http_request_upgrade(whole)) ||
		    strlen(http_request_target(whole)) > HTTP_URL_MAX ||
		    http_request_nfields(whole) > HTTP_FIELDS_MAX)
			abort();
		if (http_request_body(whole, &len) != NULL && len > 64)
			abort();
		check_same(whole, pieces);
	}
	http_request_free(whole);
	http_request_free(pieces);
	return (0);
}
