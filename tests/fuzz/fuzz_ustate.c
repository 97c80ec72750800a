/*
 * fuzz_ustate.c - libFuzzer target for ustate.c, the reader of the state
 * an upgrade hands to the new process (which must refuse a damaged one,
 * never adopt half of it).
 *
 * ustate_parse() must refuse the input or accept it; an accepted state
 * has every client's name, input and output inside the input, and written
 * again from its fields with ustate_put_*() it is the same bytes.
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
	return (n == 0 || (p >= base && p + n <= base + len));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*in = (const char *)data;
	struct clbuf		 b = { NULL, 0, 0 };
	struct ustate		 st;
	struct ustate_header	 h;
	size_t			 i;

	if (ustate_parse(in, size, &st) != NULL)
		return (0);
	memset(&h, 0, sizeof h);
	h.version = st.version;
	h.next_id = st.next_id;
	h.started = st.started;
	h.nlisteners = st.nlisteners;
	h.nclients = st.nclients;
	ustate_put_header(&b, &h);
	for (i = 0; i < st.nlisteners; i++)
		ustate_put_listener(&b, &st.listeners[i]);
	for (i = 0; i < st.nclients; i++) {
		if (!inside(st.clients[i].name, st.clients[i].namelen, in,
		    size) || !inside(st.clients[i].input,
		    st.clients[i].inputlen, in, size) ||
		    !inside(st.clients[i].output, st.clients[i].outputlen, in,
		    size))
			abort();
		ustate_put_client(&b, &st.clients[i]);
	}
	for (i = 0; i < st.nrates; i++)
		ustate_put_rate(&b, &st.rates[i]);
	if (st.cluster.present)
		ustate_put_cluster(&b, &st.cluster);
	ustate_put_end(&b);
	/* Only the current format is written: an older one is read. */
	if (st.format == 2 && (b.len != size || memcmp(b.data, in, size) != 0))
		abort();
	ustate_free(&st);
	clbuf_free(&b);
	return (0);
}
