/*
 * Telnet: what a telnet client sends besides text is taken out of the byte
 * stream before framing, so nobody ever sees it as garbage.
 *
 *   IAC WILL/WONT/DO/DONT opt   option negotiation: consumed
 *   IAC SB ... IAC SE           subnegotiation: consumed, IAC IAC within
 *   IAC IAC                     a literal 0xFF byte, which is invalid UTF-8
 *                               and becomes U+FFFD when the line is cleaned
 *   IAC NOP, AYT, IP, ...       the other commands (240..249): consumed
 *   IAC and a byte below 240    not a command: the IAC is dropped, the byte
 *                               kept (so a stray 0xFF cannot eat an LF);
 *                               inside a subnegotiation, any IAC but IAC
 *                               IAC ends it
 *   CR NUL                      a telnet client's Return in character
 *                               mode: becomes CR LF, an end of line
 *
 * The filter is always on: 0xFF never occurs in UTF-8, so a client that
 * sends it speaks telnet or sends invalid text either way.  chatd answers
 * no negotiation: every option stays in its default state, off, and a
 * telnet client gets on in its default line mode.
 *
 * A sequence may be split anywhere between two reads, so the state is kept
 * per client.  The output is never longer than the input, so the filter
 * works in place on the bytes just read.
 */

#include "config.h"

#include "chatd.h"

#define TN_SE		240	/* end of subnegotiation */
#define TN_SB		250	/* subnegotiation begins */
#define TN_WILL		251
#define TN_DONT		254
#define TN_IAC		255	/* interpret as command */

enum {
	TS_DATA,	/* text */
	TS_IAC,		/* after IAC */
	TS_OPT,		/* after IAC WILL/WONT/DO/DONT: the option byte */
	TS_SB,		/* inside a subnegotiation */
	TS_SB_IAC	/* after IAC inside a subnegotiation */
};

/* Set up the state of a new connection. */
void
telnet_init(struct telnet *t)
{
	t->state = TS_DATA;
	t->cr = 0;
}

/*
 * Remove telnet commands from buf[0..len) in place, carrying the state of
 * an unfinished sequence over to the next call.  Returns the bytes of text
 * left at the start of buf.
 */
size_t
telnet_filter(struct telnet *t, char *buf, size_t len)
{
	unsigned char	*s = (unsigned char *)buf;
	size_t		 i, o = 0;
	unsigned char	 b;

	for (i = 0; i < len; i++) {
		b = s[i];
		switch (t->state) {
		case TS_DATA:
			if (b == TN_IAC) {
				t->state = TS_IAC;
				break;
			}
			if (b == '\0' && t->cr)
				b = '\n';
			t->cr = b == '\r';
			s[o++] = b;
			break;
		case TS_SB_IAC:
			/* IAC IAC is data of the subnegotiation; any other
			 * command ends it and is taken as a command. */
			if (b == TN_IAC) {
				t->state = TS_SB;
				break;
			}
			/* FALLTHROUGH */
		case TS_IAC:
			t->state = TS_DATA;
			if (b == TN_IAC) {
				t->cr = 0;
				s[o++] = b;
			} else if (b >= TN_WILL)
				t->state = TS_OPT;
			else if (b == TN_SB)
				t->state = TS_SB;
			else if (b < TN_SE) {
				if (b == '\0' && t->cr)
					b = '\n';
				t->cr = b == '\r';
				s[o++] = b;
			}
			break;
		case TS_OPT:
			t->state = TS_DATA;
			break;
		case TS_SB:
			if (b == TN_IAC)
				t->state = TS_SB_IAC;
			break;
		}
	}
	return (o);
}
