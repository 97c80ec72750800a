/*
 * test_ustate.c - the state an upgrade hands over: what ustate_put_*()
 * write parses back to the same fields, and a state cut short, damaged
 * or out of order anywhere is refused as a whole.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* A state of two listeners and n clients, the second with input, output
 * and a telnet command half read. */
static void
build(struct clbuf *b, size_t n)
{
	struct ustate_header	 h = { "1.2.3", 42, 1700000000.25, 2, n };
	struct ustate_listener	 l;
	struct ustate_client	 c;
	size_t			 i;

	ustate_put_header(b, &h);
	memset(&l, 0, sizeof l);
	strcpy(l.kind, "chat");
	strcpy(l.addr, "0.0.0.0:8080");
	ustate_put_listener(b, &l);
	strcpy(l.kind, "metrics");
	strcpy(l.addr, "[::1]:9100");
	ustate_put_listener(b, &l);
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof c);
		c.id = 3 + i * 2;
		c.name = i == 1 ? "ada" : "127.0.0.1:5000";
		c.namelen = strlen(c.name);
		strcpy(c.addr, "127.0.0.1:5000");
		c.ipkey[0] = 4;
		c.ipkey[1] = 127;
		c.ipkey[4] = 1;
		c.ipkeylen = 5;
		c.joined = 1700000001.5;
		c.last_active = 1700000002.75;
		c.tokens = 12.5;
		c.tokens_at = 1700000003.0;
		c.input = i == 1 ? "hello\nwor" : "";
		c.inputlen = strlen(c.input);
		c.output = i == 1 ? "* queued\r\n[x]: y\r\n" : "";
		c.outputlen = strlen(c.output);
		c.telnet_state = i == 1 ? 2 : 0;
		c.telnet_cr = i == 1;
		c.flags = i == 1 ? USTATE_DISCARDING : 0;
		ustate_put_client(b, &c);
	}
	ustate_put_end(b);
}

static void
test_round_trip(void)
{
	struct clbuf	 b = { NULL, 0, 0 };
	struct ustate	 st;
	const char	*err;

	build(&b, 3);
	err = ustate_parse(b.data, b.len, &st);
	if (!is_str(err, NULL, "a state of 3 clients parses"))
		return;
	is_str(st.version, "1.2.3", "the old version");
	ok(st.next_id == 42 && st.started == 1700000000.25,
	    "next id and start time");
	is_int(st.nlisteners, 2, "two listeners");
	is_str(st.listeners[0].kind, "chat", "the first is chat");
	is_str(st.listeners[1].addr, "[::1]:9100", "the second's address");
	is_int(st.nclients, 3, "three clients");
	ok(st.clients[0].id == 3 && st.clients[2].id == 7, "ids in order");
	is_mem(st.clients[1].name, st.clients[1].namelen, "ada", 3, "a name");
	is_str(st.clients[1].addr, "127.0.0.1:5000", "an address");
	ok(st.clients[1].ipkeylen == 5 && st.clients[1].ipkey[1] == 127,
	    "the address key");
	ok(st.clients[1].joined == 1700000001.5 &&
	    st.clients[1].last_active == 1700000002.75 &&
	    st.clients[1].tokens == 12.5 &&
	    st.clients[1].tokens_at == 1700000003.0,
	    "times and rate tokens, exactly");
	is_mem(st.clients[1].input, st.clients[1].inputlen, "hello\nwor", 9,
	    "unread input, a partial line included");
	is_mem(st.clients[1].output, st.clients[1].outputlen,
	    "* queued\r\n[x]: y\r\n", 18, "queued output");
	ok(st.clients[1].telnet_state == 2 && st.clients[1].telnet_cr == 1 &&
	    st.clients[1].flags == USTATE_DISCARDING, "telnet and flags");
	is_int(st.clients[0].inputlen + st.clients[0].outputlen, 0,
	    "nothing queued for the first");
	ustate_free(&st);
	clbuf_free(&b);

	build(&b, 0);
	err = ustate_parse(b.data, b.len, &st);
	ok(err == NULL && st.nclients == 0, "an empty room");
	ustate_free(&st);
	clbuf_free(&b);
}

/* Every prefix of a good state is refused, and so is one byte more. */
static void
test_truncated(void)
{
	struct clbuf	 b = { NULL, 0, 0 };
	struct ustate	 st;
	size_t		 n, refused = 0;
	char		*copy;

	build(&b, 2);
	for (n = 0; n < b.len; n++) {
		copy = xmalloc(n + 1);	/* exactly n: ASan sees overreads */
		memcpy(copy, b.data, n);
		if (ustate_parse(copy, n, &st) != NULL)
			refused++;
		else
			ustate_free(&st);
		free(copy);
	}
	is_int(refused, b.len, "every one of %zu prefixes is refused", b.len);
	clbuf_append(&b, "E", 1);
	is_str(ustate_parse(b.data, b.len, &st), "bytes after the end mark",
	    "a byte after the end");
	clbuf_free(&b);
}

/* Find the offset of a byte string in the state. */
static size_t
find(const struct clbuf *b, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i + len <= b->len; i++) {
		if (memcmp(b->data + i, s, len) == 0)
			return (i);
	}
	abort();
}

static void
test_damaged(void)
{
	struct clbuf	 b = { NULL, 0, 0 };
	struct ustate	 st;
	size_t		 off;

	build(&b, 2);
	b.data[0] = 'X';
	is_str(ustate_parse(b.data, b.len, &st), "not an upgrade state",
	    "the magic");
	clbuf_free(&b);

	build(&b, 2);
	b.data[13] = 9;
	is_str(ustate_parse(b.data, b.len, &st), "unknown state version",
	    "a later format");
	clbuf_free(&b);

	build(&b, 2);
	off = find(&b, "ada", 3);
	b.data[off + 1] = '\n';
	is_str(ustate_parse(b.data, b.len, &st), "bad client name",
	    "a control character in a name");
	clbuf_free(&b);

	build(&b, 2);
	off = find(&b, "ada", 3);
	b.data[off] = (char)0xff;
	is_str(ustate_parse(b.data, b.len, &st), "bad client name",
	    "a name that is not UTF-8");
	clbuf_free(&b);

	/* The second client's id (5) made equal to the first's (3). */
	build(&b, 2);
	off = find(&b, "\x05\0\0\0\0\0\0\0", 8);
	b.data[off] = 3;
	is_str(ustate_parse(b.data, b.len, &st), "client ids out of order",
	    "a repeated id");
	clbuf_free(&b);

	/* Rate tokens (12.5) made infinite. */
	build(&b, 2);
	off = find(&b, "\0\0\0\0\0\0\x29\x40", 8);
	memcpy(b.data + off, "\0\0\0\0\0\0\xf0\x7f", 8);
	is_str(ustate_parse(b.data, b.len, &st), "bad rate tokens",
	    "infinite tokens");
	clbuf_free(&b);

	/* The listener count (2) made 200: more than chatd can have. */
	build(&b, 2);
	off = find(&b, "\x02\0\0\0\x02\0\0\0", 8);
	b.data[off] = (char)200;
	is_str(ustate_parse(b.data, b.len, &st), "bad record counts",
	    "too many listeners");
	clbuf_free(&b);

	/* A client count far beyond the bytes there are. */
	build(&b, 2);
	off = find(&b, "\x02\0\0\0\x02\0\0\0", 8);
	memcpy(b.data + off + 4, "\xff\xff\xff\x7f", 4);
	is_str(ustate_parse(b.data, b.len, &st), "bad record counts",
	    "a client count the input cannot hold");
	clbuf_free(&b);
}

int
main(void)
{
	test_round_trip();
	test_truncated();
	test_damaged();
	return (done_testing());
}
