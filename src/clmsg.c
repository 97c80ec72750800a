/*
 * The messages on a cluster's channel: one line of bytes each,
 *
 *	chatd1 KIND NODE INC SEQ [FIELD ...] [TEXT]
 *
 * fields separated by one space, TEXT the rest of the message (spaces and
 * all).  doc/cluster.md lists the kinds.  Anyone who can publish on the
 * channel can put anything there, so a message is parsed as strictly as a
 * client line: every field has one shape, every number a range, every
 * name passes the rules a user's name passes, and a message that breaks
 * any of that is refused whole, with the reason for the log.  Parsing
 * allocates nothing; the parsed fields point into the message.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chatd.h"

#define CLMSG_MAGIC	"chatd1"

/* What each kind has after SEQ: fields (in order), then maybe a text. */
static const struct {
	char		 kind;
	const char	*fields;	/* u: number, a: address, n: node,
					   x: node or "-", t: topic,
					   l: the rest is a list of node/inc */
	int		 text;		/* 0: none, 1: a name, 2: any bytes */
} clmsg_kinds[] = {
	{ CM_HEARTBEAT,	"l",	0 },
	{ CM_JOIN,	"uua",	1 },
	{ CM_LEAVE,	"u",	0 },
	{ CM_RENAME,	"u",	1 },
	{ CM_RESET,	"",	0 },
	{ CM_BYE,	"",	0 },
	{ CM_LINE,	"xu",	2 },
	{ CM_PRIVATE,	"nu",	2 },
	{ CM_TOPIC,	"t",	2 },
	{ CM_FILLER,	"",	0 },
};

/* A space, as between two fields: skip it. */
static int
clmsg_sep(const char *s, size_t len, size_t *pos)
{
	if (*pos >= len || s[*pos] != ' ')
		return (-1);
	(*pos)++;
	return (0);
}

/* The word at s[*pos], up to the next space or the end: not empty. */
static int
clmsg_word(const char *s, size_t len, size_t *pos, const char **w,
    size_t *wlen)
{
	const char	*sp;

	*w = s + *pos;
	sp = *pos < len ? memchr(*w, ' ', len - *pos) : NULL;
	*wlen = sp != NULL ? (size_t)(sp - *w) : len - *pos;
	if (*wlen == 0)
		return (-1);
	*pos += *wlen;
	return (0);
}

/* A space, then a word. */
static int
clmsg_field(const char *s, size_t len, size_t *pos, const char **w,
    size_t *wlen)
{
	if (clmsg_sep(s, len, pos) != 0)
		return (-1);
	return (clmsg_word(s, len, pos, w, wlen));
}

/* Whether w is a node, room or topic name: CHATD_WORD_MAX word bytes. */
int
clmsg_is_word(const char *w, size_t len)
{
	size_t	i;

	if (len == 0 || len > CHATD_WORD_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((w[i] >= 'a' && w[i] <= 'z') ||
		    (w[i] >= 'A' && w[i] <= 'Z') ||
		    (w[i] >= '0' && w[i] <= '9') || w[i] == '.' ||
		    w[i] == '_' || w[i] == '-'))
			return (0);
	}
	return (1);
}

/* A decimal number from 0 to 2^63 - 1, without sign or leading zeros. */
static int
clmsg_number(const char *w, size_t len, uint64_t *v)
{
	uint64_t	n = 0;
	size_t		i;

	if (len == 0 || len > 19 || (len > 1 && w[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return (-1);
		n = n * 10 + (uint64_t)(w[i] - '0');
	}
	if (n > INT64_MAX)
		return (-1);
	*v = n;
	return (0);
}

/* An incarnation: exactly 16 lowercase hex digits, not all zero. */
static int
clmsg_inc(const char *w, size_t len, uint64_t *v)
{
	uint64_t	n = 0;
	size_t		i;

	if (len != 16)
		return (-1);
	for (i = 0; i < len; i++) {
		if (w[i] >= '0' && w[i] <= '9')
			n = n << 4 | (uint64_t)(w[i] - '0');
		else if (w[i] >= 'a' && w[i] <= 'f')
			n = n << 4 | (uint64_t)(w[i] - 'a' + 10);
		else
			return (-1);
	}
	if (n == 0)
		return (-1);
	*v = n;
	return (0);
}

/*
 * Whether s is a peer address as client_format_addr() writes them: an
 * IPv4 or bracketed IPv6 address and a port, or "unknown".
 */
int
clmsg_addr_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 7 && memcmp(s, "unknown", 7) == 0)
		return (1);
	if (len < 3 || len >= CHATD_ADDR_MAX || memchr(s, ':', len) == NULL)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || s[i] == '.' ||
		    s[i] == ':' || s[i] == '[' || s[i] == ']'))
			return (0);
	}
	return (1);
}

/* Whether s[0..len) is a guest's default name, guest:ID. */
static int
clmsg_guest_ok(const char *s, size_t len)
{
	uint64_t	n;

	return (len > 6 && memcmp(s, "guest:", 6) == 0 &&
	    clmsg_number(s + 6, len - 6, &n) == 0);
}

/*
 * Whether a name from another server may be shown here: a name a user may
 * choose (every rule of name_check()), or a default name, an address or
 * guest:ID, with perhaps "#N" after it (the cluster's way to tell apart
 * two users of one address; chosen names hold no ':', so the two never
 * meet).
 */
int
clmsg_name_ok(const char *s, size_t len)
{
	const char	*hash;
	uint64_t	 n;

	if (len == 0 || len > CHATD_ADDR_MAX + 24)
		return (0);
	if (len > 6 && memcmp(s, "guest:", 6) == 0) {
		if ((hash = memchr(s, '#', len)) == NULL)
			return (clmsg_guest_ok(s, len));
		return (clmsg_guest_ok(s, (size_t)(hash - s)) &&
		    clmsg_number(hash + 1, len - (size_t)(hash - s) - 1,
		    &n) == 0 && n >= 2);
	}
	if (memchr(s, ':', len) == NULL || (s[0] != '[' &&
	    (s[0] < '0' || s[0] > '9')))
		return (name_check(s, len, NULL, NULL) == NULL);
	if ((hash = memchr(s, '#', len)) == NULL)
		return (clmsg_addr_ok(s, len));
	if (!clmsg_addr_ok(s, (size_t)(hash - s)) ||
	    clmsg_number(hash + 1, len - (size_t)(hash - s) - 1, &n) != 0 ||
	    n < 2)
		return (0);
	return (1);
}

/*
 * Parse one message.  Returns NULL and fills m (pointing into msg), or
 * the reason the message is refused.
 */
const char *
clmsg_parse(const char *msg, size_t len, struct clmsg *m)
{
	const char	*w, *fields;
	size_t		 pos = 0, wlen, i, k;
	uint64_t	 v;
	int		 nu = 0;

	memset(m, 0, sizeof *m);
	if (len > CLMSG_MAX)
		return ("message too long");
	if (clmsg_word(msg, len, &pos, &w, &wlen) != 0 ||
	    wlen != sizeof CLMSG_MAGIC - 1 || memcmp(w, CLMSG_MAGIC, wlen) != 0)
		return ("not a chatd message");
	if (clmsg_field(msg, len, &pos, &w, &wlen) != 0 || wlen != 1)
		return ("no kind");
	for (k = 0; k < sizeof clmsg_kinds / sizeof clmsg_kinds[0]; k++) {
		if (clmsg_kinds[k].kind == w[0])
			break;
	}
	if (k == sizeof clmsg_kinds / sizeof clmsg_kinds[0])
		return ("unknown kind");
	m->kind = w[0];
	if (clmsg_field(msg, len, &pos, &w, &wlen) != 0 ||
	    !clmsg_is_word(w, wlen))
		return ("bad node");
	m->node = w;
	m->nodelen = wlen;
	if (clmsg_field(msg, len, &pos, &w, &wlen) != 0 ||
	    clmsg_inc(w, wlen, &m->inc) != 0)
		return ("bad incarnation");
	if (clmsg_field(msg, len, &pos, &w, &wlen) != 0 ||
	    clmsg_number(w, wlen, &m->seq) != 0 || m->seq == 0)
		return ("bad sequence number");

	for (fields = clmsg_kinds[k].fields; *fields != '\0'; fields++) {
		if (*fields == 'l') {
			/* node/inc pairs to the end: checked here, walked
			 * again by clmsg_next_lost() */
			m->list = msg + pos;
			m->listlen = len - pos;
			while (pos < len) {
				if (clmsg_field(msg, len, &pos, &w, &wlen) != 0)
					return ("bad node list");
				for (i = 0; i < wlen && w[i] != '/'; i++)
					;
				if (i == wlen || !clmsg_is_word(w, i) ||
				    clmsg_inc(w + i + 1, wlen - i - 1, &v) != 0)
					return ("bad node in the list");
			}
			continue;
		}
		if (clmsg_field(msg, len, &pos, &w, &wlen) != 0)
			return ("missing field");
		switch (*fields) {
		case 'u':
			if (clmsg_number(w, wlen, nu++ == 0 ? &m->uid :
			    &m->joined) != 0)
				return ("bad number");
			break;
		case 'a':
			if (!clmsg_addr_ok(w, wlen))
				return ("bad address");
			m->addr = w;
			m->addrlen = wlen;
			break;
		case 'x':		/* a node and user, or "- -" */
		case 'n':		/* a node and user */
			if (*fields == 'x' && wlen == 1 && w[0] == '-') {
				if (clmsg_field(msg, len, &pos, &w,
				    &wlen) != 0 || wlen != 1 || w[0] != '-')
					return ("bad user");
				fields++;	/* the user id is read */
				break;
			}
			if (!clmsg_is_word(w, wlen))
				return ("bad node");
			m->tnode = w;
			m->tnodelen = wlen;
			if (clmsg_field(msg, len, &pos, &w, &wlen) != 0 ||
			    clmsg_number(w, wlen, &m->tuid) != 0)
				return ("bad user");
			fields++;		/* the 'u' after it */
			break;
		case 't':
			if (!clmsg_is_word(w, wlen))
				return ("bad topic");
			m->topic = w;
			m->topiclen = wlen;
			break;
		}
	}

	if (clmsg_kinds[k].text == 0) {
		if (pos != len)
			return ("too many fields");
		return (NULL);
	}
	if (clmsg_sep(msg, len, &pos) != 0)
		return ("missing text");
	m->text = msg + pos;
	m->textlen = len - pos;
	if (clmsg_kinds[k].text == 1 && !clmsg_name_ok(m->text, m->textlen))
		return ("bad name");
	if (m->textlen > CLMSG_TEXT_MAX)
		return ("text too long");
	return (NULL);
}

/*
 * The next node/inc pair of a heartbeat's list (which clmsg_parse() has
 * checked): 1 with the node and incarnation, or 0 at the end.
 */
int
clmsg_next_lost(struct clmsg *m, const char **node, size_t *nodelen,
    uint64_t *inc)
{
	const char	*w, *slash;
	size_t		 pos = 0, wlen;

	if (m->listlen == 0 ||
	    clmsg_field(m->list, m->listlen, &pos, &w, &wlen) != 0 ||
	    (slash = memchr(w, '/', wlen)) == NULL)
		return (0);
	*node = w;
	*nodelen = (size_t)(slash - w);
	if (clmsg_inc(slash + 1, wlen - *nodelen - 1, inc) != 0)
		return (0);
	m->list += pos;
	m->listlen -= pos;
	return (1);
}

/*
 * Parse a user's record as the scripts store it in Redis (users:NODE):
 * "JOINED_MS<TAB>ADDR<TAB>NAME<TAB>FOLDED".  The fold is Redis's business
 * (to free the name when the user goes); chatd folds the name itself.
 * Returns NULL, or why the record is refused.
 */
const char *
clmsg_parse_record(const char *s, size_t len, struct clrec *r)
{
	const char	*f[4], *tab;
	size_t		 flen[4], i, pos = 0;

	for (i = 0; i < 4; i++) {
		f[i] = s + pos;
		tab = i < 3 ? memchr(f[i], '\t', len - pos) : NULL;
		if (i < 3 && tab == NULL)
			return ("a record of too few fields");
		flen[i] = tab != NULL ? (size_t)(tab - f[i]) : len - pos;
		pos += flen[i] + (tab != NULL ? 1 : 0);
	}
	if (memchr(f[3], '\t', flen[3]) != NULL)
		return ("a record of too many fields");
	if (clmsg_number(f[0], flen[0], &r->joined) != 0)
		return ("a record with a bad time");
	if (!clmsg_addr_ok(f[1], flen[1]))
		return ("a record with a bad address");
	if (!clmsg_name_ok(f[2], flen[2]))
		return ("a record with a bad name");
	r->addr = f[1];
	r->addrlen = flen[1];
	r->name = f[2];
	r->namelen = flen[2];
	return (NULL);
}

/* A user id, a node's sequence number: 0 to 2^63 - 1, in decimal. */
int
clmsg_parse_number(const char *s, size_t len, uint64_t *v)
{
	return (clmsg_number(s, len, v));
}

/* An incarnation, as in messages. */
int
clmsg_parse_inc(const char *s, size_t len, uint64_t *v)
{
	return (clmsg_inc(s, len, v));
}

/* ---- building --------------------------------------------------------- */

/* Make room for n more bytes. */
static void
clbuf_grow(struct clbuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->cap < b->len + n)
		b->cap = b->cap == 0 ? 256 : b->cap * 2;
	b->data = xrealloc(b->data, b->cap);
}

/* Append bytes. */
void
clbuf_append(struct clbuf *b, const char *s, size_t n)
{
	clbuf_grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Start a message: the magic word, kind, node, incarnation, sequence. */
void
clmsg_start(struct clbuf *b, char kind, const char *node, uint64_t inc,
    uint64_t seq)
{
	char	buf[64];
	int	n;

	b->len = 0;
	clbuf_append(b, CLMSG_MAGIC, sizeof CLMSG_MAGIC - 1);
	n = snprintf(buf, sizeof buf, " %c ", kind);
	clbuf_append(b, buf, (size_t)n);
	clbuf_append(b, node, strlen(node));
	n = snprintf(buf, sizeof buf, " %016llx %llu", (unsigned long long)inc,
	    (unsigned long long)seq);
	clbuf_append(b, buf, (size_t)n);
}

/* Append " word". */
void
clmsg_add_word(struct clbuf *b, const char *w, size_t len)
{
	clbuf_append(b, " ", 1);
	clbuf_append(b, w, len);
}

/* Append " number". */
void
clmsg_add_number(struct clbuf *b, uint64_t v)
{
	char	buf[24];
	int	n;

	n = snprintf(buf, sizeof buf, " %llu", (unsigned long long)v);
	clbuf_append(b, buf, (size_t)n);
}

/* Append " node/inc", an item of a heartbeat's list. */
void
clmsg_add_lost(struct clbuf *b, const char *node, uint64_t inc)
{
	char	buf[24];
	int	n;

	clmsg_add_word(b, node, strlen(node));
	n = snprintf(buf, sizeof buf, "/%016llx", (unsigned long long)inc);
	clbuf_append(b, buf, (size_t)n);
}

/* Append " text": the last part of a message. */
void
clmsg_add_text(struct clbuf *b, const char *text, size_t len)
{
	clbuf_append(b, " ", 1);
	clbuf_append(b, text, len);
}

/* Free a buffer's memory. */
void
clbuf_free(struct clbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}
