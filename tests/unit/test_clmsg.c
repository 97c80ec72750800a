/*
 * test_clmsg.c - the messages on a cluster's channel: what clmsg_start()
 * and friends build parses back to the same fields, and everything a
 * buggy or hostile publisher could send instead is refused.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define INC	0x0123456789abcdefULL

/* Parse a NUL-terminated message. */
static const char *
parse(const char *s, struct clmsg *m)
{
	return (clmsg_parse(s, strlen(s), m));
}

/* Whether a field of a parsed message is exactly s. */
static int
field_is(const char *f, size_t len, const char *s)
{
	return (f != NULL && len == strlen(s) && memcmp(f, s, len) == 0);
}

static void
test_round_trips(void)
{
	struct clbuf	 b = { NULL, 0, 0 };
	struct clmsg	 m;
	const char	*node;
	size_t		 nodelen;
	uint64_t	 inc;

	clmsg_start(&b, CM_JOIN, "node-1", INC, 7);
	clmsg_add_number(&b, 42);
	clmsg_add_number(&b, 1700000000123ULL);
	clmsg_add_word(&b, "127.0.0.1:5000", 14);
	clmsg_add_text(&b, "Duke", 4);
	ok(b.len == strlen("chatd1 J node-1 0123456789abcdef 7 42 "
	    "1700000000123 127.0.0.1:5000 Duke") && memcmp(b.data,
	    "chatd1 J node-1 0123456789abcdef 7 42 1700000000123 "
	    "127.0.0.1:5000 Duke", b.len) == 0, "a join, as built");
	ok(clmsg_parse(b.data, b.len, &m) == NULL, "... parses");
	ok(m.kind == CM_JOIN && field_is(m.node, m.nodelen, "node-1") &&
	    m.inc == INC && m.seq == 7 && m.uid == 42 &&
	    m.joined == 1700000000123ULL &&
	    field_is(m.addr, m.addrlen, "127.0.0.1:5000") &&
	    field_is(m.text, m.textlen, "Duke"), "... to the same fields");

	clmsg_start(&b, CM_LINE, "n", INC, 8);
	clmsg_add_word(&b, "-", 1);
	clmsg_add_word(&b, "-", 1);
	clmsg_add_text(&b, "[bob]: two  spaces and | bars ", 30);
	ok(clmsg_parse(b.data, b.len, &m) == NULL && m.kind == CM_LINE &&
	    m.tnode == NULL && field_is(m.text, m.textlen,
	    "[bob]: two  spaces and | bars "), "a line for all: the text "
	    "whole, blanks and all");

	clmsg_start(&b, CM_LINE, "n", INC, 9);
	clmsg_add_word(&b, "other", 5);
	clmsg_add_number(&b, 3);
	clmsg_add_text(&b, "", 0);
	ok(clmsg_parse(b.data, b.len, &m) == NULL &&
	    field_is(m.tnode, m.tnodelen, "other") && m.tuid == 3 &&
	    m.textlen == 0, "a line for all but one, empty");

	clmsg_start(&b, CM_PRIVATE, "n", INC, 10);
	clmsg_add_word(&b, "x.y_z", 5);
	clmsg_add_number(&b, 99);
	clmsg_add_text(&b, "* [a -> you]: hi", 16);
	ok(clmsg_parse(b.data, b.len, &m) == NULL && m.kind == CM_PRIVATE &&
	    field_is(m.tnode, m.tnodelen, "x.y_z") && m.tuid == 99,
	    "a private line");

	clmsg_start(&b, CM_TOPIC, "n", INC, 11);
	clmsg_add_word(&b, "topic", 5);
	clmsg_add_text(&b, "a\0b\nc", 5);
	ok(clmsg_parse(b.data, b.len, &m) == NULL && m.kind == CM_TOPIC &&
	    field_is(m.topic, m.topiclen, "topic") && m.textlen == 5 &&
	    memcmp(m.text, "a\0b\nc", 5) == 0, "plugin data: any bytes");

	clmsg_start(&b, CM_HEARTBEAT, "n", INC, 12);
	ok(clmsg_parse(b.data, b.len, &m) == NULL && m.listlen == 0 &&
	    !clmsg_next_lost(&m, &node, &nodelen, &inc),
	    "a heartbeat that lost no one");
	clmsg_add_lost(&b, "dead-1", 1);
	clmsg_add_lost(&b, "dead-2", INC);
	ok(clmsg_parse(b.data, b.len, &m) == NULL, "a heartbeat with two "
	    "lost nodes parses");
	ok(clmsg_next_lost(&m, &node, &nodelen, &inc) &&
	    field_is(node, nodelen, "dead-1") && inc == 1, "... the first");
	ok(clmsg_next_lost(&m, &node, &nodelen, &inc) &&
	    field_is(node, nodelen, "dead-2") && inc == INC,
	    "... the second");
	ok(!clmsg_next_lost(&m, &node, &nodelen, &inc), "... and no more");

	clmsg_start(&b, CM_RENAME, "n", INC, 13);
	clmsg_add_number(&b, 5);
	clmsg_add_text(&b, "杜克", strlen("杜克"));
	ok(clmsg_parse(b.data, b.len, &m) == NULL && m.uid == 5,
	    "a rename to a UTF-8 name");
	clbuf_free(&b);
}

static void
test_refused(void)
{
	static const struct {
		const char	*what, *msg;
	} bad[] = {
		{ "empty", "" },
		{ "another format", "chatd2 M n 0123456789abcdef 1 - - x" },
		{ "no kind", "chatd1" },
		{ "unknown kind", "chatd1 Q n 0123456789abcdef 1" },
		{ "kind of two letters", "chatd1 MM n 0123456789abcdef 1 - - x" },
		{ "node with a brace", "chatd1 L n{x} 0123456789abcdef 1 2" },
		{ "node of 65 bytes", "chatd1 L aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0123456789abcdef 1 2" },
		{ "short incarnation", "chatd1 L n 0123456789abcde 1 2" },
		{ "upper-case incarnation", "chatd1 L n 0123456789ABCDEF 1 2" },
		{ "zero incarnation", "chatd1 L n 0000000000000000 1 2" },
		{ "sequence 0", "chatd1 L n 0123456789abcdef 0 2" },
		{ "sequence with a leading zero",
		  "chatd1 L n 0123456789abcdef 01 2" },
		{ "sequence past 2^63", "chatd1 L n 0123456789abcdef "
		  "9223372036854775808 2" },
		{ "sequence of 20 digits", "chatd1 L n 0123456789abcdef "
		  "10000000000000000000 2" },
		{ "negative user", "chatd1 L n 0123456789abcdef 1 -2" },
		{ "missing user", "chatd1 L n 0123456789abcdef 1" },
		{ "extra field", "chatd1 L n 0123456789abcdef 1 2 3" },
		{ "two spaces", "chatd1  L n 0123456789abcdef 1 2" },
		{ "a trailing space", "chatd1 L n 0123456789abcdef 1 2 " },
		{ "a tab for a space", "chatd1\tL n 0123456789abcdef 1 2" },
		{ "join without a name",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5" },
		{ "join with an empty name",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 " },
		{ "join, a name with a space",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 a b" },
		{ "join, a name starting with '*'",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 *admin" },
		{ "join, a name with a bracket",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 [bob]" },
		{ "join, a name of 33 bytes", "chatd1 J n 0123456789abcdef 1 2 "
		  "3 1.2.3.4:5 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ "join, a name that is almost an address",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 1.2.3.4:5x" },
		{ "join, an address name with #1",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 1.2.3.4:5#1" },
		{ "join, an address name with #",
		  "chatd1 J n 0123456789abcdef 1 2 3 1.2.3.4:5 1.2.3.4:5#" },
		{ "join, a bad address",
		  "chatd1 J n 0123456789abcdef 1 2 3 host:5 bob" },
		{ "join, an address with a space in it", "chatd1 J n "
		  "0123456789abcdef 1 2 3 1.2.3.4 5 bob" },
		{ "line without except", "chatd1 M n 0123456789abcdef 1 hello" },
		{ "line, half an except", "chatd1 M n 0123456789abcdef 1 - 3 x" },
		{ "line, no text", "chatd1 M n 0123456789abcdef 1 - -" },
		{ "private, no user", "chatd1 P n 0123456789abcdef 1 m x" },
		{ "private to no one", "chatd1 P n 0123456789abcdef 1 - - x" },
		{ "topic with a blank", "chatd1 T n 0123456789abcdef 1 a/b x" },
		{ "heartbeat, a node without incarnation",
		  "chatd1 H n 0123456789abcdef 1 dead" },
		{ "heartbeat, a bad incarnation",
		  "chatd1 H n 0123456789abcdef 1 dead/xyz" },
		{ "heartbeat, a trailing space",
		  "chatd1 H n 0123456789abcdef 1 dead/0123456789abcdef " },
		{ "reset with a field", "chatd1 R n 0123456789abcdef 1 x" },
	};
	struct clmsg	 m;
	const char	*why;
	size_t		 i;
	char		*big;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = parse(bad[i].msg, &m);
		if (!ok(why != NULL, "refused: %s", bad[i].what))
			diag("parsed: %s", bad[i].msg);
	}
	ok(clmsg_parse("chatd1 L n 0123456789abcdef 1 2\0", 33, &m) != NULL,
	    "refused: a NUL byte at the end");

	/* A line at the limit passes; one byte more is refused. */
	big = malloc(CLMSG_TEXT_MAX + 64);
	strcpy(big, "chatd1 M n 0123456789abcdef 1 - - ");
	i = strlen(big);
	memset(big + i, 'x', CLMSG_TEXT_MAX);
	ok(clmsg_parse(big, i + CLMSG_TEXT_MAX, &m) == NULL &&
	    m.textlen == CLMSG_TEXT_MAX, "a line of CLMSG_TEXT_MAX bytes");
	big[i + CLMSG_TEXT_MAX] = 'x';
	ok(clmsg_parse(big, i + CLMSG_TEXT_MAX + 1, &m) != NULL,
	    "a line of one byte more: refused");
	free(big);
}

static void
test_names_and_records(void)
{
	struct clrec	r;

	ok(clmsg_name_ok("bob", 3), "a chosen name");
	ok(clmsg_name_ok("127.0.0.1:5000", 14), "an IPv4 default name");
	ok(clmsg_name_ok("[::1]:5000", 10), "an IPv6 default name");
	ok(clmsg_name_ok("127.0.0.1:5000#2", 16), "a default name, #2");
	ok(clmsg_name_ok("127.0.0.1:5000#17", 17), "a default name, #17");
	ok(!clmsg_name_ok("127.0.0.1:5000#02", 17), "... not #02");
	ok(!clmsg_name_ok("bob:1", 5), "a chosen name with ':' is no name");
	ok(!clmsg_name_ok("!bob", 4), "'!' first is no name");
	ok(!clmsg_name_ok("", 0), "the empty name is no name");
	ok(!clmsg_name_ok("a\x01" "b", 3), "a control character");
	ok(clmsg_addr_ok("unknown", 7), "the address of an unknown family");
	ok(!clmsg_addr_ok("UNKNOWN", 7), "... in upper case, no");

	ok(clmsg_parse_record("1700000000000\t1.2.3.4:5\tbob\tbob", 31,
	    &r) == NULL && r.joined == 1700000000000ULL && r.namelen == 3 &&
	    memcmp(r.name, "bob", 3) == 0 && r.addrlen == 9,
	    "a record as the scripts store it");
	ok(clmsg_parse_record("1\t1.2.3.4:5\tbob", 15, &r) != NULL,
	    "a record without its fold");
	ok(clmsg_parse_record("1\t1.2.3.4:5\tbob\tbob\tx", 21, &r) != NULL,
	    "a record of five fields");
	ok(clmsg_parse_record("x\t1.2.3.4:5\tbob\tbob", 19, &r) != NULL,
	    "a record with a bad time");
	ok(clmsg_parse_record("1\t1.2.3.4:5\t*bob\t*bob", 21, &r) != NULL,
	    "a record with a name no user may have");
}

int
main(void)
{
	test_round_trips();
	test_refused();
	test_names_and_records();
	return done_testing();
}
