/*
 * test_http.c - the HTTP door's request parser: what a request is made
 * of, the limits and the status each one answers with, requests that
 * arrive a byte at a time, and what follows a request (a pipelined one,
 * the first bytes of an upgraded protocol).
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* Feed a whole text at once; returns the status, *used what it took. */
static int
feed(struct http_request *r, const char *text, size_t *used)
{
	size_t	dummy;

	return (http_request_feed(r, text, strlen(text),
	    used != NULL ? used : &dummy));
}

/* Parse text with a fresh request and body_max 0; returns the status. */
static int
status_of(const char *text)
{
	struct http_request	*r = http_request_new(0);
	int			 rc = feed(r, text, NULL);

	http_request_free(r);
	return (rc);
}

static void
test_simple(void)
{
	struct http_request	*r = http_request_new(0);
	const char		*name, *value;
	static const char	 req[] = "GET /metrics?a=1&b HTTP/1.1\r\n"
				    "Host: localhost:9180\r\n"
				    "User-Agent: Prometheus/2.42.0\r\n"
				    "Accept: text/plain  \r\n"
				    "X-Empty:\r\n"
				    "\r\n";
	size_t			 used;

	is_int(feed(r, req, &used), HTTP_DONE, "a GET is parsed");
	is_int((long long)used, (long long)strlen(req), "all of it is used");
	is_str(http_request_method(r), "GET", "method");
	is_str(http_request_target(r), "/metrics?a=1&b", "target");
	is_str(http_request_path(r), "/metrics", "path");
	is_str(http_request_query(r), "a=1&b", "query");
	is_int(http_request_version(r), 11, "version 1.1");
	is_str(http_request_header(r, "host"), "localhost:9180",
	    "fields are found in any case");
	is_str(http_request_header(r, "ACCEPT"), "text/plain",
	    "trailing spaces are not part of a value");
	is_str(http_request_header(r, "x-empty"), "", "an empty value");
	is_str(http_request_header(r, "Cookie"), NULL, "a missing field");
	is_int((long long)http_request_nfields(r), 4, "four fields");
	http_request_field(r, 1, &name, &value);
	is_str(name, "User-Agent", "field 1 keeps its name as sent");
	is_str(value, "Prometheus/2.42.0", "field 1's value");
	ok(!http_request_upgrade(r), "no upgrade");
	is_int(feed(r, "GET / HTTP/1.1\r\n\r\n", &used), HTTP_DONE,
	    "a finished request stays finished");
	is_int((long long)used, 0, "and takes nothing more");
	http_request_free(r);
}

static void
test_bytewise(void)
{
	struct http_request	*r = http_request_new(0);
	static const char	 req[] = "HEAD /metrics HTTP/1.0\r\n"
				    "X-Long-Field-Name: a value split "
				    "across many reads\r\n\r\n";
	size_t			 i, used;
	int			 rc = HTTP_MORE;

	for (i = 0; i < sizeof req - 1 && rc == HTTP_MORE; i++)
		rc = http_request_feed(r, req + i, 1, &used);
	is_int(rc, HTTP_DONE, "a request a byte at a time");
	is_int((long long)i, (long long)(sizeof req - 1),
	    "done at its last byte");
	is_str(http_request_method(r), "HEAD", "method");
	is_str(http_request_path(r), "/metrics", "path");
	is_str(http_request_query(r), NULL, "no query");
	is_int(http_request_version(r), 10, "version 1.0");
	is_str(http_request_header(r, "x-long-field-name"),
	    "a value split across many reads", "a value split across reads");
	http_request_free(r);
}

static void
test_absolute_and_pipelined(void)
{
	struct http_request	*r = http_request_new(0);
	static const char	 two[] = "GET http://h:1/metrics?x HTTP/1.1\r\n"
				    "Host: h:1\r\n\r\n"
				    "GET /second HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t			 used;

	is_int(feed(r, two, &used), HTTP_DONE, "absolute form");
	is_str(http_request_path(r), "/metrics", "its path");
	is_str(http_request_query(r), "x", "its query");
	ok(strncmp(two + used, "GET /second", 11) == 0,
	    "a pipelined request is left unparsed");
	http_request_free(r);
}

static void
test_upgrade(void)
{
	struct http_request	*r = http_request_new(0);
	static const char	 req[] = "GET /chat HTTP/1.1\r\nHost: h\r\n"
				    "Connection: Upgrade\r\n"
				    "Upgrade: websocket\r\n"
				    "Sec-WebSocket-Version: 13\r\n\r\n"
				    "\x81\x85" "frame";
	size_t			 used;

	is_int(http_request_feed(r, req, sizeof req - 1, &used), HTTP_DONE,
	    "an upgrade request");
	ok(http_request_upgrade(r), "is an upgrade");
	is_str(http_request_header(r, "upgrade"), "websocket", "to websocket");
	is_int((long long)(sizeof req - 1 - used), 7,
	    "the bytes after its head are left for the new protocol");
	http_request_free(r);
}

static void
test_body(void)
{
	struct http_request	*r = http_request_new(16);
	const char		*body;
	size_t			 len;

	is_int(feed(r, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5"
	    "\r\n\r\nhello", NULL), HTTP_DONE, "a body within body_max");
	body = http_request_body(r, &len);
	is_mem(body, len, "hello", 5, "the body");
	http_request_free(r);

	r = http_request_new(16);
	is_int(feed(r, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", NULL),
	    HTTP_DONE, "a chunked body within body_max");
	body = http_request_body(r, &len);
	is_mem(body, len, "abcde", 5, "the chunks joined");
	http_request_free(r);

	r = http_request_new(16);
	is_int(feed(r, "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n11\r\n", NULL), HTTP_MORE,
	    "a chunk header alone is not an error yet");
	is_int(feed(r, "0123456789abcdefg\r\n", NULL), 413,
	    "a chunked body past body_max: 413");
	http_request_free(r);

	is_int(status_of("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1"
	    "\r\n\r\nx"), 413, "any body when body_max is 0: 413");
	is_int(status_of("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n"), 413, "a chunked body when body_max is 0: 413");
}

static void
test_limits(void)
{
	char	*big;
	size_t	 n, i;
	int	 rc;

	big = malloc(HTTP_HEAD_MAX * 2 + HTTP_URL_MAX + 256);

	/* A target at the limit passes; one byte more is 414. */
	n = (size_t)snprintf(big, 16, "GET /");
	memset(big + n, 'a', HTTP_URL_MAX - 1);
	n += HTTP_URL_MAX - 1;
	n += (size_t)snprintf(big + n, 64, " HTTP/1.1\r\nHost: h\r\n\r\n");
	is_int(status_of(big), HTTP_DONE, "a target of HTTP_URL_MAX bytes");
	n = (size_t)snprintf(big, 16, "GET /");
	memset(big + n, 'a', HTTP_URL_MAX);
	n += HTTP_URL_MAX;
	snprintf(big + n, 64, " HTTP/1.1\r\nHost: h\r\n\r\n");
	is_int(status_of(big), 414, "a longer target: 414");

	/* Fields adding up past HTTP_HEAD_MAX: 431. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; n < HTTP_HEAD_MAX + 100; i++)
		n += (size_t)snprintf(big + n, 128, "X-%zu: %0100d\r\n", i, 0);
	snprintf(big + n, 8, "\r\n");
	is_int(status_of(big), 431, "a head over HTTP_HEAD_MAX: 431");

	/* One field over the limit, never finished: 431 before the end. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nX: ");
	memset(big + n, 'v', HTTP_HEAD_MAX);
	big[n + HTTP_HEAD_MAX] = '\0';
	is_int(status_of(big), 431, "one endless field: 431");

	/* Too many small fields: 431. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)snprintf(big + n, 32, "F%zu: v\r\n", i);
	snprintf(big + n, 8, "\r\n");
	is_int(status_of(big), 431, "more than HTTP_FIELDS_MAX fields: 431");

	/* Whitespace that stores nothing still counts toward the head. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nX:");
	memset(big + n, ' ', HTTP_HEAD_MAX);
	big[n + HTTP_HEAD_MAX] = '\0';
	rc = status_of(big);
	is_int(rc, 431, "a head of blanks: 431");
	free(big);
}

static void
test_bad(void)
{
	is_int(status_of("GET / HTTP/1.1\r\n\r\n"), 400,
	    "HTTP/1.1 without Host: 400");
	is_int(status_of("GET / HTTP/1.0\r\n\r\n"), HTTP_DONE,
	    "HTTP/1.0 without Host is fine");
	is_int(status_of("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
	    "an unknown method: 400");
	is_int(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505,
	    "HTTP/2.0: 505");
	is_int(status_of("GET /\r\n\r\n"), 505,
	    "no version (HTTP/0.9): 505");
	is_int(status_of("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400,
	    "a TLS hello: 400");
	is_int(status_of("GET / HTTP/1.1\r\nHost: h\r\nBad Field: x\r\n\r\n"),
	    400, "a space in a field name: 400");
	is_int(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n"), 400,
	    "a control byte in a value: 400");
	is_int(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\n"), 400, "two Content-Lengths: 400");
	is_int(status_of("GET / HTTP/1.1\r\nHost: h\r\n"), HTTP_MORE,
	    "a head without its blank line waits for more");
	is_str(http_status_text(431), "Request Header Fields Too Large",
	    "reason phrase of 431");
	is_str(http_status_text(413), "Content Too Large",
	    "reason phrase of 413");
}

int
main(void)
{
	test_simple();
	test_bytewise();
	test_absolute_and_pipelined();
	test_upgrade();
	test_body();
	test_limits();
	test_bad();
	return (done_testing());
}
