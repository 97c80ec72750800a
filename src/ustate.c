/*
 * The state an upgrade hands from the old process to the new one, as
 * bytes: a header, one record per listening socket and one per client,
 * and an end mark.  Descriptors travel beside it (upgrade.c); a record
 * names its descriptor by position: the listeners' first, then the
 * clients', in record order.
 *
 * The new binary may be a later chatd than the one that wrote the state,
 * so the format carries a version and every field is fixed in width and
 * byte order (little-endian).  The reader trusts nothing: each length is
 * checked against what is left, each value against what chatd itself
 * would hold (a name within the name rules' size and UTF-8, an address
 * that fits, rate tokens that are a finite number), so a damaged state
 * is refused as a whole with a message, never half adopted.
 *
 *   state    = "chatd-upgrade" u32:version header listener* client*
 *              rate* cluster? end
 *   header   = 'H' str:chatd-version u64:next_id f64:started
 *              u32:nlisteners u32:nclients
 *   listener = 'L' str:kind str:addr
 *   client   = 'C' u64:id str:name str:addr str:ipkey f64:joined
 *              f64:last_active f64:tokens f64:tokens_at
 *              f64:btokens f64:btokens_at u8:telnet-state
 *              u8:telnet-cr u8:flags str:input str:output
 *   rate     = 'T' str:ipkey f64:tokens f64:at
 *   cluster  = 'K' str:node u64:incarnation u64:seq u8:up u32:npeers
 *              (str:node u64:incarnation u64:seq)*
 *   end      = 'E'
 *   str      = u32:length bytes
 *
 * Version 1 (chatd before the byte-rate tokens, the connect buckets and
 * the cluster were carried) has no btokens, rate or cluster: it is still
 * read, so that such a chatd can be upgraded to this one.
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

#define USTATE_MAGIC		"chatd-upgrade"
#define USTATE_VERSION		2
#define USTATE_PEERS_MAX	100000	/* other servers of a room */
#define USTATE_NAME_MAX		(CHATD_ADDR_MAX + 24)	/* a default name */
#define USTATE_INPUT_MAX	(16u << 20)	/* bytes of unread input */
#define USTATE_OUTPUT_MAX	(1u << 30)	/* bytes of queued output */

void
ustate_put_u32(struct clbuf *b, uint32_t v)
{
	unsigned char	x[4];
	int		i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	clbuf_append(b, (const char *)x, sizeof x);
}

void
ustate_put_u64(struct clbuf *b, uint64_t v)
{
	unsigned char	x[8];
	int		i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	clbuf_append(b, (const char *)x, sizeof x);
}

/* A double by its bits: the clocks of both processes are the same. */
void
ustate_put_f64(struct clbuf *b, double d)
{
	uint64_t	v;

	memcpy(&v, &d, sizeof v);
	ustate_put_u64(b, v);
}

void
ustate_put_u8(struct clbuf *b, unsigned v)
{
	char	c = (char)(unsigned char)v;

	clbuf_append(b, &c, 1);
}

void
ustate_put_str(struct clbuf *b, const char *s, size_t len)
{
	ustate_put_u32(b, (uint32_t)len);
	clbuf_append(b, s, len);
}

/* Begin a state: the magic, the format's version and the header. */
void
ustate_put_header(struct clbuf *b, const struct ustate_header *h)
{
	clbuf_append(b, USTATE_MAGIC, strlen(USTATE_MAGIC));
	ustate_put_u32(b, USTATE_VERSION);
	ustate_put_u8(b, 'H');
	ustate_put_str(b, h->version, strlen(h->version));
	ustate_put_u64(b, h->next_id);
	ustate_put_f64(b, h->started);
	ustate_put_u32(b, (uint32_t)h->nlisteners);
	ustate_put_u32(b, (uint32_t)h->nclients);
}

/* A listening socket: its kind's name ("chat", "metrics") and address. */
void
ustate_put_listener(struct clbuf *b, const struct ustate_listener *l)
{
	ustate_put_u8(b, 'L');
	ustate_put_str(b, l->kind, strlen(l->kind));
	ustate_put_str(b, l->addr, strlen(l->addr));
}

/* A client. */
void
ustate_put_client(struct clbuf *b, const struct ustate_client *c)
{
	ustate_put_u8(b, 'C');
	ustate_put_u64(b, c->id);
	ustate_put_str(b, c->name, c->namelen);
	ustate_put_str(b, c->addr, strlen(c->addr));
	ustate_put_str(b, (const char *)c->ipkey, c->ipkeylen);
	ustate_put_f64(b, c->joined);
	ustate_put_f64(b, c->last_active);
	ustate_put_f64(b, c->tokens);
	ustate_put_f64(b, c->tokens_at);
	ustate_put_f64(b, c->btokens);
	ustate_put_f64(b, c->btokens_at);
	ustate_put_u8(b, c->telnet_state);
	ustate_put_u8(b, c->telnet_cr);
	ustate_put_u8(b, c->flags);
	ustate_put_str(b, c->input, c->inputlen);
	ustate_put_str(b, c->output, c->outputlen);
}

/* An address's connect bucket. */
void
ustate_put_rate(struct clbuf *b, const struct ustate_rate *r)
{
	ustate_put_u8(b, 'T');
	ustate_put_str(b, (const char *)r->ipkey, r->ipkeylen);
	ustate_put_f64(b, r->tokens);
	ustate_put_f64(b, r->at);
}

/* The server's identity in a cluster, and how far it heard the others. */
void
ustate_put_cluster(struct clbuf *b, const struct ustate_cluster *k)
{
	size_t	i;

	ustate_put_u8(b, 'K');
	ustate_put_str(b, k->node, strlen(k->node));
	ustate_put_u64(b, k->inc);
	ustate_put_u64(b, k->seq);
	ustate_put_u8(b, k->up ? 1 : 0);
	ustate_put_u32(b, (uint32_t)k->npeers);
	for (i = 0; i < k->npeers; i++) {
		ustate_put_str(b, k->peers[i].id, strlen(k->peers[i].id));
		ustate_put_u64(b, k->peers[i].inc);
		ustate_put_u64(b, k->peers[i].seq);
	}
}

/* End the state. */
void
ustate_put_end(struct clbuf *b)
{
	ustate_put_u8(b, 'E');
}

/* Take n bytes, or fail the reader. */
const unsigned char *
ustate_take(struct ustate_in *in, size_t n)
{
	const unsigned char	*p;

	if (in->err != NULL)
		return (NULL);
	if (n > in->left) {
		in->err = "truncated";
		return (NULL);
	}
	p = in->p;
	in->p += n;
	in->left -= n;
	return (p);
}

uint64_t
ustate_get_uint(struct ustate_in *in, size_t width)
{
	const unsigned char	*p = ustate_take(in, width);
	uint64_t		 v = 0;
	size_t			 i;

	if (p == NULL)
		return (0);
	for (i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return (v);
}

double
ustate_get_f64(struct ustate_in *in)
{
	uint64_t	v = ustate_get_uint(in, 8);
	double		d;

	memcpy(&d, &v, sizeof d);
	return (d);
}

/* A string of at most max bytes, left in place (not NUL-terminated). */
const char *
ustate_get_str(struct ustate_in *in, size_t max, size_t *len, const char *what)
{
	uint64_t	 n = ustate_get_uint(in, 4);
	const char	*p;

	if (in->err != NULL)
		return (NULL);
	if (n > max) {
		in->err = what;
		return (NULL);
	}
	p = (const char *)ustate_take(in, (size_t)n);
	*len = (size_t)n;
	return (p);
}

/* A string that must be text: UTF-8 without control characters or NUL. */
static const char *
ustate_get_text(struct ustate_in *in, size_t min, size_t max, size_t *len,
    const char *what)
{
	const char	*p = ustate_get_str(in, max, len, what);
	size_t		 i;

	if (p == NULL)
		return (NULL);
	if (*len < min || !text_utf8_valid(p, *len))
		goto bad;
	for (i = 0; i < *len; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			goto bad;
	}
	return (p);
bad:
	in->err = what;
	return (NULL);
}

/* A time or a token count: finite and not negative. */
static double
ustate_get_amount(struct ustate_in *in, const char *what)
{
	double	d = ustate_get_f64(in);

	if (in->err == NULL && (!isfinite(d) || d < 0.))
		in->err = what;
	return (d);
}

/* Expect the tag of the next record. */
static void
ustate_expect(struct ustate_in *in, char tag, const char *what)
{
	const unsigned char	*p = ustate_take(in, 1);

	if (p != NULL && *p != (unsigned char)tag)
		in->err = what;
}

static void
ustate_get_listener(struct ustate_in *in, struct ustate_listener *l)
{
	const char	*s;
	size_t		 len;

	ustate_expect(in, 'L', "a listener record expected");
	s = ustate_get_text(in, 1, CHATD_WORD_MAX, &len, "bad listener kind");
	if (s != NULL) {
		memcpy(l->kind, s, len);
		l->kind[len] = '\0';
	}
	s = ustate_get_text(in, 1, CHATD_ADDR_MAX - 1, &len,
	    "bad listener address");
	if (s != NULL) {
		memcpy(l->addr, s, len);
		l->addr[len] = '\0';
	}
}

/* An address key as listener.c makes them: IPv4 or IPv6. */
static void
ustate_get_ipkey(struct ustate_in *in, unsigned char *key, size_t *keylen,
    const char *what)
{
	const char	*s;
	size_t		 len;

	s = ustate_get_str(in, 17, &len, what);
	if (s != NULL) {
		if ((len != 5 || s[0] != 4) && (len != 17 || s[0] != 6))
			in->err = what;
		memcpy(key, s, len);
		*keylen = len;
	}
}

static void
ustate_get_client(struct ustate_in *in, struct ustate_client *c,
    unsigned format)
{
	const char	*s;
	size_t		 len;

	ustate_expect(in, 'C', "a client record expected");
	c->id = ustate_get_uint(in, 8);
	c->name = ustate_get_text(in, 1, USTATE_NAME_MAX, &c->namelen,
	    "bad client name");
	s = ustate_get_text(in, 1, CHATD_ADDR_MAX - 1, &len,
	    "bad client address");
	if (s != NULL) {
		memcpy(c->addr, s, len);
		c->addr[len] = '\0';
	}
	ustate_get_ipkey(in, c->ipkey, &c->ipkeylen, "bad client ipkey");
	c->joined = ustate_get_amount(in, "bad join time");
	c->last_active = ustate_get_amount(in, "bad activity time");
	c->tokens = ustate_get_amount(in, "bad rate tokens");
	c->tokens_at = ustate_get_amount(in, "bad rate time");
	if (format >= 2) {
		c->btokens = ustate_get_amount(in, "bad byte-rate tokens");
		c->btokens_at = ustate_get_amount(in, "bad byte-rate time");
	} else
		c->btokens = c->btokens_at = -1.;
	c->telnet_state = (unsigned char)ustate_get_uint(in, 1);
	c->telnet_cr = (unsigned char)ustate_get_uint(in, 1);
	c->flags = (unsigned)ustate_get_uint(in, 1);
	if (in->err == NULL && (c->flags & ~USTATE_FLAGS) != 0)
		in->err = "unknown client flags";
	if (in->err == NULL && c->telnet_cr > 1)
		in->err = "bad telnet state";
	c->input = ustate_get_str(in, USTATE_INPUT_MAX, &c->inputlen,
	    "client input too long");
	c->output = ustate_get_str(in, USTATE_OUTPUT_MAX, &c->outputlen,
	    "client output too long");
}

static void
ustate_get_rate(struct ustate_in *in, struct ustate_rate *r)
{
	ustate_expect(in, 'T', "a connect bucket expected");
	ustate_get_ipkey(in, r->ipkey, &r->ipkeylen, "bad connect bucket");
	r->tokens = ustate_get_amount(in, "bad connect tokens");
	r->at = ustate_get_amount(in, "bad connect time");
}

/* A node id: a word (clmsg.c's rule) that fits. */
static void
ustate_get_node(struct ustate_in *in, char *id, const char *what)
{
	const char	*s;
	size_t		 len;

	s = ustate_get_str(in, CHATD_WORD_MAX, &len, what);
	if (s == NULL)
		return;
	if (len == 0 || !clmsg_is_word(s, len)) {
		in->err = what;
		return;
	}
	memcpy(id, s, len);
	id[len] = '\0';
}

static void
ustate_get_cluster(struct ustate_in *in, struct ustate_cluster *k)
{
	size_t	i;

	ustate_expect(in, 'K', "a cluster record expected");
	ustate_get_node(in, k->node, "bad cluster node id");
	k->inc = ustate_get_uint(in, 8);
	k->seq = ustate_get_uint(in, 8);
	k->up = (int)ustate_get_uint(in, 1);
	k->npeers = (size_t)ustate_get_uint(in, 4);
	if (in->err != NULL)
		return;
	if (k->inc == 0 || k->up > 1) {
		in->err = "bad cluster identity";
		return;
	}
	/* Each peer takes more than 20 bytes. */
	if (k->npeers > USTATE_PEERS_MAX || k->npeers > in->left / 20) {
		in->err = "bad peer count";
		return;
	}
	k->peers = xcalloc(k->npeers + 1, sizeof *k->peers);
	for (i = 0; i < k->npeers && in->err == NULL; i++) {
		ustate_get_node(in, k->peers[i].id, "bad peer node id");
		k->peers[i].inc = ustate_get_uint(in, 8);
		k->peers[i].seq = ustate_get_uint(in, 8);
	}
	k->present = 1;
}

/* The tag of the next record, without taking it; 0 at the end. */
static int
ustate_peek(const struct ustate_in *in)
{
	return (in->err == NULL && in->left > 0 ? *in->p : 0);
}

/*
 * Read a whole state from buf (which must outlive st: the clients' name,
 * input and output point into it).  Returns NULL and fills st, or the
 * reason it is refused (st then holds nothing to free).
 */
const char *
ustate_parse(const char *buf, size_t len, struct ustate *st)
{
	struct ustate_in	 in = { (const unsigned char *)buf, len, NULL };
	const unsigned char	*magic;
	const char		*s;
	size_t			 i, n;
	uint64_t		 prev = 0, format;
	size_t			 cap = 0;

	memset(st, 0, sizeof *st);
	magic = ustate_take(&in, strlen(USTATE_MAGIC));
	if (magic == NULL || memcmp(magic, USTATE_MAGIC,
	    strlen(USTATE_MAGIC)) != 0)
		return ("not an upgrade state");
	format = ustate_get_uint(&in, 4);
	if (in.err != NULL)
		return (in.err);
	if (format < 1 || format > USTATE_VERSION)
		return ("unknown state version");
	st->format = (unsigned)format;
	ustate_expect(&in, 'H', "a header expected");
	s = ustate_get_text(&in, 1, sizeof st->version - 1, &n,
	    "bad chatd version");
	if (s != NULL) {
		memcpy(st->version, s, n);
		st->version[n] = '\0';
	}
	st->next_id = ustate_get_uint(&in, 8);
	st->started = ustate_get_amount(&in, "bad start time");
	st->nlisteners = (size_t)ustate_get_uint(&in, 4);
	st->nclients = (size_t)ustate_get_uint(&in, 4);
	if (in.err != NULL)
		return (in.err);
	/* Each record takes more bytes than this: no count can make the
	 * arrays larger than the input. */
	if (st->nlisteners > CHATD_LISTENER_MAX ||
	    st->nclients > in.left / 16)
		return ("bad record counts");
	st->listeners = xcalloc(st->nlisteners + 1, sizeof *st->listeners);
	st->clients = xcalloc(st->nclients + 1, sizeof *st->clients);
	for (i = 0; i < st->nlisteners && in.err == NULL; i++)
		ustate_get_listener(&in, &st->listeners[i]);
	for (i = 0; i < st->nclients && in.err == NULL; i++) {
		ustate_get_client(&in, &st->clients[i], st->format);
		/* Ids are unique and in join order, below the next one. */
		if (in.err == NULL && (st->clients[i].id <= prev ||
		    st->clients[i].id >= st->next_id))
			in.err = "client ids out of order";
		prev = st->clients[i].id;
	}
	while (st->format >= 2 && ustate_peek(&in) == 'T') {
		if (st->nrates == cap) {
			cap = cap > 0 ? 2 * cap : 64;
			st->rates = xrealloc(st->rates, cap *
			    sizeof *st->rates);
		}
		ustate_get_rate(&in, &st->rates[st->nrates++]);
	}
	if (st->format >= 2 && ustate_peek(&in) == 'K')
		ustate_get_cluster(&in, &st->cluster);
	ustate_expect(&in, 'E', "the end mark expected");
	if (in.err == NULL && in.left != 0)
		in.err = "bytes after the end mark";
	if (in.err != NULL) {
		ustate_free(st);
		return (in.err);
	}
	return (NULL);
}

/* Free what ustate_parse() allocated. */
void
ustate_free(struct ustate *st)
{
	free(st->listeners);
	free(st->clients);
	free(st->rates);
	free(st->cluster.peers);
	st->listeners = NULL;
	st->clients = NULL;
	st->rates = NULL;
	st->cluster.peers = NULL;
	st->nlisteners = st->nclients = st->nrates = 0;
	st->cluster.npeers = 0;
	st->cluster.present = 0;
}
