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
 * and a telnet command half read; with extras, two connect buckets and a
 * cluster's identity with two peers after them. */
static void
build_state(struct clbuf *b, size_t n, int extras)
{
	struct ustate_header	 h = { "1.2.3", 42, 1700000000.25, 2, n };
	struct ustate_listener	 l;
	struct ustate_client	 c;
	struct ustate_rate	 r;
	struct ustate_peer	 peers[2];
	struct ustate_cluster	 k;
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
		c.btokens = 1500.25;
		c.btokens_at = 1700000004.0;
		c.input = i == 1 ? "hello\nwor" : "";
		c.inputlen = strlen(c.input);
		c.output = i == 1 ? "* queued\r\n[x]: y\r\n" : "";
		c.outputlen = strlen(c.output);
		c.telnet_state = i == 1 ? 2 : 0;
		c.telnet_cr = i == 1;
		c.flags = i == 1 ? USTATE_DISCARDING : 0;
		ustate_put_client(b, &c);
	}
	if (extras) {
		memset(&r, 0, sizeof r);
		r.ipkey[0] = 4;
		r.ipkey[1] = 10;
		r.ipkeylen = 5;
		r.tokens = 0.5;
		r.at = 1700000005.0;
		ustate_put_rate(b, &r);
		r.ipkey[0] = 6;
		r.ipkey[16] = 1;
		r.ipkeylen = 17;
		r.tokens = 3.0;
		ustate_put_rate(b, &r);
		memset(&k, 0, sizeof k);
		memset(peers, 0, sizeof peers);
		strcpy(k.node, "n1");
		k.inc = 0x1122334455667788ULL;
		k.seq = 77;
		k.up = 1;
		strcpy(peers[0].id, "n2");
		peers[0].inc = 9;
		peers[0].seq = 1234;
		strcpy(peers[1].id, "host-42");
		peers[1].inc = 10;
		peers[1].seq = 1;
		k.peers = peers;
		k.npeers = 2;
		ustate_put_cluster(b, &k);
	}
	ustate_put_end(b);
}

static void
build(struct clbuf *b, size_t n)
{
	build_state(b, n, 1);
}

/* The offset of a byte string in the state, or -1. */
static size_t
find_or(const struct clbuf *b, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i + len <= b->len; i++) {
		if (memcmp(b->data + i, s, len) == 0)
			return (i);
	}
	return ((size_t)-1);
}

/* The offset of a byte string that is in the state. */
static size_t
find(const struct clbuf *b, const char *s, size_t len)
{
	size_t	off = find_or(b, s, len);

	if (off == (size_t)-1)
		abort();
	return (off);
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
	ok(st.clients[1].btokens == 1500.25 &&
	    st.clients[1].btokens_at == 1700000004.0,
	    "byte-rate tokens, exactly");
	is_int(st.nrates, 2, "two connect buckets");
	ok(st.rates[0].ipkeylen == 5 && st.rates[0].ipkey[1] == 10 &&
	    st.rates[0].tokens == 0.5 && st.rates[0].at == 1700000005.0,
	    "an IPv4 bucket");
	ok(st.rates[1].ipkeylen == 17 && st.rates[1].ipkey[16] == 1 &&
	    st.rates[1].tokens == 3.0, "an IPv6 bucket");
	ok(st.cluster.present && strcmp(st.cluster.node, "n1") == 0 &&
	    st.cluster.inc == 0x1122334455667788ULL && st.cluster.seq == 77 &&
	    st.cluster.up == 1, "the cluster identity");
	ok(st.cluster.npeers == 2 && strcmp(st.cluster.peers[1].id,
	    "host-42") == 0 && st.cluster.peers[0].seq == 1234 &&
	    st.cluster.peers[0].inc == 9, "the peers, as far as heard");
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

	build_state(&b, 1, 0);
	err = ustate_parse(b.data, b.len, &st);
	ok(err == NULL && st.nrates == 0 && !st.cluster.present,
	    "no buckets and no cluster");
	ustate_free(&st);
	clbuf_free(&b);
}

/*
 * A state of the first format (a chatd before this one): no byte-rate
 * tokens, buckets or cluster.  It is read, and its clients say that the
 * byte-rate tokens are not there (btokens < 0).
 */
static void
test_version1(void)
{
	struct clbuf	 b = { NULL, 0, 0 };
	struct ustate	 st;
	size_t		 off;

	build_state(&b, 2, 0);
	b.data[13] = 1;
	while ((off = find_or(&b, "\0\0\0\0\0\x71\x97\x40", 8)) !=
	    (size_t)-1) {
		/* 1500.25 and the time after it, out */
		memmove(b.data + off, b.data + off + 16, b.len - off - 16);
		b.len -= 16;
	}
	if (!is_str(ustate_parse(b.data, b.len, &st), NULL,
	    "a version 1 state parses"))
		goto out;
	ok(st.format == 1 && st.nclients == 2 && st.clients[1].tokens == 12.5,
	    "its clients");
	ok(st.clients[0].btokens < 0. && st.clients[1].btokens < 0.,
	    "without byte-rate tokens");
	is_mem(st.clients[1].output, st.clients[1].outputlen,
	    "* queued\r\n[x]: y\r\n", 18, "its queued output");
	ustate_free(&st);
out:
	clbuf_free(&b);

	/* Trailing records are a version 2 thing. */
	build_state(&b, 0, 1);
	b.data[13] = 1;
	is_str(ustate_parse(b.data, b.len, &st), "the end mark expected",
	    "buckets in a version 1 state");
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

	/* A peer's node id that is not a word. */
	build(&b, 2);
	off = find(&b, "host-42", 7);
	b.data[off + 4] = ' ';
	is_str(ustate_parse(b.data, b.len, &st), "bad peer node id",
	    "a peer id with a space");
	clbuf_free(&b);

	/* The cluster's incarnation made 0: none is. */
	build(&b, 2);
	off = find(&b, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	memset(b.data + off, 0, 8);
	is_str(ustate_parse(b.data, b.len, &st), "bad cluster identity",
	    "incarnation 0");
	clbuf_free(&b);

	/* A connect bucket's key that is no address. */
	build(&b, 2);
	off = find(&b, "\x05\0\0\0\x04\x0a", 6);
	b.data[off + 4] = 5;
	is_str(ustate_parse(b.data, b.len, &st), "bad connect bucket",
	    "an address key of family 5");
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
	test_version1();
	test_truncated();
	test_damaged();
	return (done_testing());
}
