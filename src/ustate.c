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
 *   state    = "chatd-upgrade" u32:version header listener* client* end
 *   header   = 'H' str:chatd-version u64:next_id f64:started
 *              u32:nlisteners u32:nclients
 *   listener = 'L' str:kind str:addr
 *   client   = 'C' u64:id str:name str:addr str:ipkey f64:joined
 *              f64:last_active f64:tokens f64:tokens_at u8:telnet-state
 *              u8:telnet-cr u8:flags str:input str:output
 *   end      = 'E'
 *   str      = u32:length bytes
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"

#define USTATE_MAGIC		"chatd-upgrade"
#define USTATE_VERSION		1
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
	ustate_put_u8(b, c->telnet_state);
	ustate_put_u8(b, c->telnet_cr);
	ustate_put_u8(b, c->flags);
	ustate_put_str(b, c->input, c->inputlen);
	ustate_put_str(b, c->output, c->outputlen);
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

static void
ustate_get_client(struct ustate_in *in, struct ustate_client *c)
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
	s = ustate_get_str(in, sizeof c->ipkey, &len, "bad client ipkey");
	if (s != NULL) {
		if ((len != 5 || s[0] != 4) && (len != 17 || s[0] != 6))
			in->err = "bad client ipkey";
		memcpy(c->ipkey, s, len);
		c->ipkeylen = len;
	}
	c->joined = ustate_get_amount(in, "bad join time");
	c->last_active = ustate_get_amount(in, "bad activity time");
	c->tokens = ustate_get_amount(in, "bad rate tokens");
	c->tokens_at = ustate_get_amount(in, "bad rate time");
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
	uint64_t		 prev = 0;

	memset(st, 0, sizeof *st);
	magic = ustate_take(&in, strlen(USTATE_MAGIC));
	if (magic == NULL || memcmp(magic, USTATE_MAGIC,
	    strlen(USTATE_MAGIC)) != 0)
		return ("not an upgrade state");
	if (ustate_get_uint(&in, 4) != USTATE_VERSION)
		return (in.err != NULL ? in.err : "unknown state version");
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
		ustate_get_client(&in, &st->clients[i]);
		/* Ids are unique and in join order, below the next one. */
		if (in.err == NULL && (st->clients[i].id <= prev ||
		    st->clients[i].id >= st->next_id))
			in.err = "client ids out of order";
		prev = st->clients[i].id;
	}
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
	st->listeners = NULL;
	st->clients = NULL;
	st->nlisteners = st->nclients = 0;
}
