/*
 * fuzz_clmsg.c - libFuzzer target for clmsg.c, the parser of what arrives
 * on a cluster's channel (anyone who can publish there can send anything).
 *
 * clmsg_parse() must refuse the input or accept it; an accepted message
 * has every field inside the input, each of the shape its kind requires
 * (a name passes the name rules, a node is a word), and built again from
 * its fields with clmsg_start() and friends it is the same bytes.  The
 * input is also tried as a user's record from Redis.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Whether [p, p + n) lies within [base, base + len). */
static int
inside(const char *p, size_t n, const char *base, size_t len)
{
	return (p >= base && p + n <= base + len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in = (const char *)data, *node;
	struct clbuf	 b = { NULL, 0, 0 };
	struct clmsg	 m, lost;
	struct clrec	 r;
	char		 id[CHATD_WORD_MAX + 1];
	size_t		 nodelen;
	uint64_t	 inc;

	if (clmsg_parse_record(in, size, &r) == NULL &&
	    (!inside(r.name, r.namelen, in, size) ||
	    !clmsg_name_ok(r.name, r.namelen) ||
	    !clmsg_addr_ok(r.addr, r.addrlen)))
		abort();
	if (clmsg_parse(in, size, &m) != NULL)
		return (0);
	if (!inside(m.node, m.nodelen, in, size) ||
	    !clmsg_is_word(m.node, m.nodelen) || m.seq == 0 || m.inc == 0)
		abort();
	memcpy(id, m.node, m.nodelen);
	id[m.nodelen] = '\0';
	clmsg_start(&b, m.kind, id, m.inc, m.seq);
	switch (m.kind) {
	case CM_JOIN:
		clmsg_add_number(&b, m.uid);
		clmsg_add_number(&b, m.joined);
		if (!clmsg_addr_ok(m.addr, m.addrlen))
			abort();
		clmsg_add_word(&b, m.addr, m.addrlen);
		/* FALLTHROUGH */
	case CM_RENAME:
		if (m.kind == CM_RENAME)
			clmsg_add_number(&b, m.uid);
		if (!clmsg_name_ok(m.text, m.textlen))
			abort();
		clmsg_add_text(&b, m.text, m.textlen);
		break;
	case CM_LEAVE:
		clmsg_add_number(&b, m.uid);
		break;
	case CM_LINE:
	case CM_PRIVATE:
		if (m.tnode == NULL) {
			if (m.kind == CM_PRIVATE)
				abort();
			clmsg_add_word(&b, "-", 1);
			clmsg_add_word(&b, "-", 1);
		} else {
			clmsg_add_word(&b, m.tnode, m.tnodelen);
			clmsg_add_number(&b, m.tuid);
		}
		/* FALLTHROUGH */
	case CM_TOPIC:
		if (m.kind == CM_TOPIC)
			clmsg_add_word(&b, m.topic, m.topiclen);
		if (m.textlen > CLMSG_TEXT_MAX ||
		    !inside(m.text, m.textlen, in, size))
			abort();
		clmsg_add_text(&b, m.text, m.textlen);
		break;
	case CM_HEARTBEAT:
		lost = m;
		while (clmsg_next_lost(&lost, &node, &nodelen, &inc)) {
			if (!clmsg_is_word(node, nodelen) || inc == 0)
				abort();
			memcpy(id, node, nodelen);
			id[nodelen] = '\0';
			clmsg_add_lost(&b, id, inc);
		}
		break;
	}
	if (b.len != size || memcmp(b.data, in, size) != 0)
		abort();
	clbuf_free(&b);
	return (0);
}
