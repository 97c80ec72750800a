/*
 * soakgen: the load and the checker of chatd's soak test.
 *
 * One process, one thread, epoll, libc only.  For -d seconds it keeps -n
 * chaos clients connected to a chatd on 127.0.0.1, each doing random
 * things: chat, rename (valid and not), who, help, lines over max_line,
 * invalid UTF-8, control and NUL bytes, lines written a byte at a time,
 * bursts, blank lines, clients that never read, clients that never speak;
 * and the hostile mix: non-readers asking "who" 20 times a second, lines
 * that never end (4 KiB every 50 ms, no LF), and join spam (SPAM_SLOTS
 * clients of one address, 127.0.0.250, each living a tenth of a second at
 * most and replaced at once, beside the -n others);
 * each lives a random time and ends by exit, close, reset (SO_LINGER 0) or
 * half-close, and is replaced.  Every -E seconds a storm of -S more
 * connections comes and goes at once.
 *
 * Beside them, -w well-behaved clients (W) come and go too.  Each W
 * connection reads everything and sends chat lines "WB:<id>:<seq>:..."
 * with <id> unique to the connection and <seq> counting from 1; at the
 * end of its life it sends "WB:<id>:end" and then "exit", and reads until
 * the server closes.  W connections bind to 127.0.0.2 with ports used only
 * once, so their names ("127.0.0.2:PORT") are never reused; chaos clients
 * use 127.0.0.3 and up and never send the byte 'W' or ':' in a name.
 *
 * What a W receiver R is owed, judged by the server's order as the
 * streams show it (each client's stream is in the order the server
 * processed the events it holds):
 *
 *   A line m of W sender S is owed to R when the server broadcast it
 *   while R was online and before R's end marker: in S's stream, S's echo
 *   of m comes after "* R joined" (or R is in the online list S got on
 *   joining) and before R's "WB:R:end" line; and S joined before R's end
 *   marker (in R's stream, S is in R's online list or "* S joined" comes
 *   before R's own end echo).
 *
 * R must receive, before its own end echo, exactly S's owed lines: each
 * once, in S's order, nothing else of S.  After its end marker (until its
 * "exit" is processed) R may receive more of S's lines; they are not
 * counted but must still be in order.  A W connection the server closes
 * without "* bye", or that gets an error line, is a failure too.
 *
 * Prints a report and "key=value" lines; exit status 0 when every owed
 * line arrived as it should and no W connection failed, 1 otherwise,
 * 2 on a usage or setup error.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS	1024
#define TICK_MS		10
#define RBUF		65536
#define OUT_CAP		(512 * 1024)	/* chaos: no new action above this */
#define W_PORT_FIRST	20000
#define W_PORT_LAST	65000
#define FINISH_GRACE	60.0		/* seconds for W to finish at the end */
#define WELCOME_WAIT	120.0		/* seconds for W to be welcomed */

enum kind { K_WELL, K_CHAOS, K_STORM };

/* Chaos behaviours, chosen per connection. */
#define B_NOREAD	0x01	/* never reads */
#define B_SILENT	0x02	/* never writes: the idle timeout's */
#define B_FLOODER	0x04	/* sends bursts */
#define B_WHOFLOOD	0x08	/* with B_NOREAD: "who" 20 times a second */
#define B_ENDLESS	0x10	/* one line that never ends */
#define B_SPAM		0x20	/* join spam: in and out, one address */
#define HOSTILE_EVERY	0.05	/* seconds between a flooder's actions */
#define SPAM_SLOTS	8	/* join-spam connections at any time */

/* How a connection ends. */
enum ending { E_EXIT, E_CLOSE, E_RESET, E_HALF, E_NENDINGS };

/* Well-behaved stream events. */
enum w_ev {
	WE_ECHO,	/* a: own seq */
	WE_JOIN,	/* a: W id joined (or was in the online list) */
	WE_RECV,	/* a: sender id, b: seq */
	WE_END,		/* a: W id whose end marker came */
};

struct wevent {
	uint8_t		 type;
	uint32_t	 a;
	uint32_t	 b;
};

/* A well-behaved connection's record, kept after it closes. */
struct wrec {
	uint32_t	 id;
	char		 name[32];
	struct wevent	*ev;
	size_t		 nev, cap;
	uint32_t	 sent;		/* last seq sent */
	uint32_t	 echoed;	/* last own seq echoed */
	long		 endpos;	/* index of own WE_END, -1 */
	int		 welcomed, onlined, bye, closed, failed;
	int		 listed;	/* who|127.0.0.2: answered in full */
	long		 rows;		/* its rows still to come; -1 before */
	double		 t_open, t_welcome;
	char		 why[160];	/* first failure */
};

struct conn {
	int		 fd;
	enum kind	 kind;
	unsigned	 behav;
	enum ending	 ending;
	int		 connected;
	int		 ending_now;	/* end started */
	int		 pollout;
	double		 next;		/* next action */
	double		 end;		/* end of life */
	double		 deadline;	/* give up waiting for the close */
	char		*out;		/* bytes not yet taken by the kernel */
	size_t		 olen, ooff, ocap;
	char		*drip;		/* sent one byte per tick */
	size_t		 dlen, doff;
	char		*in;		/* W: a partial line */
	size_t		 ilen, icap;
	struct wrec	*w;
	size_t		 slot;		/* in the live array */
	unsigned	 storm;		/* storm behaviour */
	int		 dead;		/* closed, freed after this turn */
	struct conn	*next_dead;
};

static struct {
	const char	*host;
	int		 port;
	double		 duration;
	int		 nchaos;
	int		 nwell;
	uint64_t	 seed;
	int		 max_line;
	int		 storm_n;
	double		 storm_every;
	double		 interval;	/* mean seconds between chaos actions */
	double		 w_interval;	/* mean seconds between W lines */
	int		 verbose;
} opt = { "127.0.0.1", 0, 300, 2000, 16, 1, 1024, 300, 20, 10.0, 0.25, 0 };

static struct {
	uint64_t	 conns[3], connect_fail, server_closed[3];
	uint64_t	 lines, chat, rename_ok, rename_bad, who, help, oversize;
	uint64_t	 invalid, nul, drip, bursts, burst_lines, blank;
	uint64_t	 endings[E_NENDINGS], storms;
	uint64_t	 bytes_out, bytes_in;
	uint64_t	 w_lines, w_conns, w_failed;
	uint64_t	 owed, received, missing, extra, disorder, late;
	uint64_t	 pairs;
	uint64_t	 whoflooders, endless, endless_bytes, spam;
} st;

static int		 ep;
static struct conn	**live;
static size_t		 nlive, live_cap;
static struct wrec	**wrecs;
static size_t		 nwrecs, wrecs_cap;
static int32_t		 port_wid[65536];
static int		 next_wport = W_PORT_FIRST;
static unsigned		 chaos_addr;
static uint64_t		 rng;
static char		 rbuf[RBUF];
static int		 stopping;
static size_t		 alive_chaos, alive_well, alive_spam;
static double		 next_spam;	/* when the spam slots are refilled */
static struct conn	*graveyard;
static double		 t_start;

static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "soakgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static uint64_t
rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static double
rnd01(void)
{
	return (rnd() >> 11) * (1.0 / 9007199254740992.0);
}

/* Exponential with the given mean. */
static double
rndexp(double mean)
{
	double	u = rnd01();

	return -mean * log1p(-u * 0.999999);
}

/* ---- the live set and output ------------------------------------------ */

static void
live_add(struct conn *c)
{
	if (nlive == live_cap) {
		live_cap = live_cap ? 2 * live_cap : 1024;
		live = xrealloc(live, live_cap * sizeof *live);
	}
	c->slot = nlive;
	live[nlive++] = c;
}

static void
live_del(struct conn *c)
{
	live[c->slot] = live[--nlive];
	live[c->slot]->slot = c->slot;
}

static void
set_events(struct conn *c)
{
	struct epoll_event	ev;
	int			want = c->olen > c->ooff || !c->connected;

	memset(&ev, 0, sizeof ev);
	ev.events = (want ? EPOLLOUT : 0) |
	    ((c->behav & B_NOREAD) ? 0 : EPOLLIN);
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->pollout = want;
}

static void	conn_free(struct conn *);
static void	queuef(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	wfail(struct wrec *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Write what is queued; 0, or -1 if the connection failed. */
static int
flush_out(struct conn *c)
{
	ssize_t	n;

	while (c->olen > c->ooff) {
		n = send(c->fd, c->out + c->ooff, c->olen - c->ooff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->ooff += (size_t)n;
		st.bytes_out += (uint64_t)n;
	}
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if ((c->olen > c->ooff) != c->pollout)
		set_events(c);
	return 0;
}

static void
queue(struct conn *c, const void *p, size_t len)
{
	if (c->olen + len > c->ocap) {
		if (c->ooff > 0) {
			memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
			c->olen -= c->ooff;
			c->ooff = 0;
		}
		while (c->olen + len > c->ocap)
			c->ocap = c->ocap ? 2 * c->ocap : 4096;
		c->out = xrealloc(c->out, c->ocap);
	}
	memcpy(c->out + c->olen, p, len);
	c->olen += len;
}

static void
queuef(struct conn *c, const char *fmt, ...)
{
	char	buf[512];
	int	n;
	va_list	ap;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		die("line too long for queuef");
	queue(c, buf, (size_t)n);
}

/* ---- well-behaved records ----------------------------------------------- */

static void
wev(struct wrec *w, int type, uint32_t a, uint32_t b)
{
	if (w->nev == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		w->ev = xrealloc(w->ev, w->cap * sizeof *w->ev);
	}
	w->ev[w->nev].type = (uint8_t)type;
	w->ev[w->nev].a = a;
	w->ev[w->nev].b = b;
	w->nev++;
}

static void
wfail(struct wrec *w, const char *fmt, ...)
{
	va_list	ap;

	if (w->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof w->why, fmt, ap);
	va_end(ap);
	st.w_failed++;
	fprintf(stderr, "soakgen: %.1fs: W %s: %s\n", now() - t_start,
	    w->name, w->why);
}

/* The W id of a name "127.0.0.2:PORT", or -1. */
static int32_t
wid_of(const char *name, size_t len)
{
	unsigned long	port = 0;
	size_t		i;

	if (len < 11 || len > 15 || memcmp(name, "127.0.0.2:", 10) != 0)
		return -1;
	for (i = 10; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(name[i] - '0');
	}
	return port < 65536 ? port_wid[port] : -1;
}

static int
has_suffix(const char *s, size_t len, const char *suf, size_t *stem)
{
	size_t	n = strlen(suf);

	if (len < n || memcmp(s + len - n, suf, n) != 0)
		return 0;
	*stem = len - n;
	return 1;
}

/* One line (CRLF removed) arrived at a W connection. */
static void
w_line(struct conn *c, const char *l, size_t len)
{
	struct wrec	*w = c->w;
	const char	*p, *q, *end = l + len;
	size_t		 stem;
	unsigned long	 id, seq;
	int32_t		 x;

	if (!w->welcomed) {
		if (len < 10 || memcmp(l, "* welcome ", 10) != 0 ||
		    strlen(w->name) != len - 10 ||
		    memcmp(l + 10, w->name, len - 10) != 0)
			wfail(w, "expected its welcome, got \"%.*s\"",
			    (int)(len > 80 ? 80 : len), l);
		w->welcomed = 1;
		w->t_welcome = now();
		return;
	}
	if (!w->onlined) {
		/* "* online (N): a, b, c" */
		w->onlined = 1;
		if ((p = memchr(l, ':', len)) == NULL || len < 11 ||
		    memcmp(l, "* online (", 10) != 0) {
			wfail(w, "expected the online list");
			return;
		}
		for (p += 2; p < end; p = q + 2) {
			if ((q = memmem(p, (size_t)(end - p), ", ", 2)) ==
			    NULL)
				q = end;
			if ((x = wid_of(p, (size_t)(q - p))) >= 0 &&
			    (uint32_t)x != w->id)
				wev(w, WE_JOIN, (uint32_t)x, 0);
			if (q == end)
				break;
		}
		/* In a big room the line names only the first few: the W
		 * online are asked for by name (no chaos name has a ':'). */
		queue(c, "who|127.0.0.2:\n", 15);
		return;
	}
	if (!w->listed && w->rows < 0 && len > 10 &&
	    memcmp(l, "* online (", 10) == 0) {
		/* "* online (N): K start with "127.0.0.2:"; page 1 of 1 ..." */
		if ((p = memmem(l, len, "): ", 3)) == NULL ||
		    (id = strtoul(p + 3, (char **)&q, 10)) == 0 ||
		    q >= end || memmem(q, (size_t)(end - q), "page 1 of 1 ",
		    12) == NULL) {
			wfail(w, "expected who's answer in one page, got "
			    "\"%.*s\"", (int)(len > 80 ? 80 : len), l);
			w->listed = 1;
			return;
		}
		w->rows = (long)id;
		return;
	}
	if (!w->listed && w->rows > 0 && len > 4 && memcmp(l, "*   ", 4) == 0) {
		/* "*   NAME" or "*   NAME ADDR": a W online */
		p = memchr(l + 4, ' ', len - 4);
		if ((x = wid_of(l + 4, (size_t)((p ? p : end) - (l + 4))))
		    >= 0 && (uint32_t)x != w->id)
			wev(w, WE_JOIN, (uint32_t)x, 0);
		if (--w->rows == 0)
			w->listed = 1;
		return;
	}
	if (len > 0 && l[0] == '[') {
		if ((p = memmem(l, len, "]: WB:", 6)) == NULL)
			return;		/* chaos chat */
		p += 6;
		id = strtoul(p, (char **)&q, 10);
		if (q >= end || *q != ':')
			goto bad;
		q++;
		if (end - q >= 3 && memcmp(q, "end", 3) == 0) {
			if (id == w->id)
				w->endpos = (long)w->nev;
			wev(w, WE_END, (uint32_t)id, 0);
			return;
		}
		seq = strtoul(q, (char **)&p, 10);
		if (p >= end || *p != ':' || seq == 0)
			goto bad;
		if (id == w->id) {
			if (seq != w->echoed + 1)
				wfail(w, "own line %lu echoed after %u", seq,
				    w->echoed);
			w->echoed = (uint32_t)seq;
			wev(w, WE_ECHO, (uint32_t)seq, 0);
		} else
			wev(w, WE_RECV, (uint32_t)id, (uint32_t)seq);
		return;
	}
	if (len >= 2 && l[0] == '*' && l[1] == ' ') {
		if (len == 5 && memcmp(l, "* bye", 5) == 0) {
			w->bye = 1;
			return;
		}
		if (has_suffix(l + 2, len - 2, " joined", &stem) &&
		    (x = wid_of(l + 2, stem)) >= 0)
			wev(w, WE_JOIN, (uint32_t)x, 0);
		return;
	}
	if (len >= 2 && l[0] == '!' && l[1] == ' ')
		wfail(w, "got an error: %.*s", (int)(len > 80 ? 80 : len), l);
	return;
bad:
	wfail(w, "unparsable WB line: %.*s", (int)(len > 80 ? 80 : len), l);
}

/* Split what a W connection read into lines. */
static void
w_input(struct conn *c, const char *data, size_t len)
{
	size_t	start = 0, i;
	char	*nl;

	if (c->ilen + len > c->icap) {
		while (c->ilen + len > c->icap)
			c->icap = c->icap ? 2 * c->icap : 65536;
		c->in = xrealloc(c->in, c->icap);
	}
	memcpy(c->in + c->ilen, data, len);
	c->ilen += len;
	while ((nl = memchr(c->in + start, '\n', c->ilen - start)) != NULL) {
		i = (size_t)(nl - c->in);
		if (i == start || c->in[i - 1] != '\r')
			wfail(c->w, "a line not ending in CRLF");
		w_line(c, c->in + start, i > start ? i - start - 1 : 0);
		start = i + 1;
	}
	memmove(c->in, c->in + start, c->ilen - start);
	c->ilen -= start;
}

/* ---- connections -------------------------------------------------------- */

static struct conn *
conn_open(enum kind kind, unsigned behav)
{
	struct sockaddr_in	 sin, src;
	struct epoll_event	 ev;
	struct conn		*c;
	struct wrec		*w = NULL;
	int			 fd, one = 1, r;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		if (errno == EMFILE || errno == ENFILE)
			return NULL;
		die("socket: %s", strerror(errno));
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	if (kind == K_WELL) {
		/* a port used once: the name is never reused */
		for (;;) {
			if (next_wport > W_PORT_LAST) {
				close(fd);
				return NULL;
			}
			src.sin_addr.s_addr = htonl(0x7f000002);
			src.sin_port = htons((uint16_t)next_wport++);
			if (bind(fd, (struct sockaddr *)&src, sizeof src) == 0)
				break;
			if (errno != EADDRINUSE)
				die("bind 127.0.0.2: %s", strerror(errno));
		}
		w = calloc(1, sizeof *w);
		if (w == NULL)
			die("out of memory");
		w->id = (uint32_t)nwrecs + 1;
		w->endpos = -1;
		w->rows = -1;
		w->t_open = now();
		snprintf(w->name, sizeof w->name, "127.0.0.2:%u",
		    (unsigned)ntohs(src.sin_port));
		port_wid[ntohs(src.sin_port)] = (int32_t)w->id;
		if (nwrecs == wrecs_cap) {
			wrecs_cap = wrecs_cap ? 2 * wrecs_cap : 256;
			wrecs = xrealloc(wrecs, wrecs_cap * sizeof *wrecs);
		}
		wrecs[nwrecs++] = w;
		st.w_conns++;
	} else {
		/* spread over 127.0.0.3-127.0.0.202: more source ports */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		src.sin_addr.s_addr = htonl((behav & B_SPAM) ? 0x7f0000fa :
		    0x7f000003 + chaos_addr++ % 200);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) == -1)
			die("bind: %s", strerror(errno));
	}
	if (behav & B_NOREAD) {
		/* a small receive buffer fills sooner */
		int	small = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		die("out of memory");
	c->fd = fd;
	c->kind = kind;
	c->behav = behav;
	c->w = w;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &sin.sin_addr) != 1)
		die("bad host %s", opt.host);
	r = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	if (r == -1 && errno != EINPROGRESS) {
		st.connect_fail++;
		if (w != NULL)
			wfail(w, "connect: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->pollout = 1;
	st.conns[kind]++;
	live_add(c);
	if (kind == K_CHAOS && (behav & B_SPAM))
		alive_spam++;
	else if (kind == K_CHAOS)
		alive_chaos++;
	if (kind == K_WELL)
		alive_well++;
	return c;
}

/* What a new chaos connection will be. */
static unsigned
chaos_behaviour(void)
{
	uint64_t	r = rndn(1000);

	if (r < 80)
		return B_NOREAD;
	if (r < 130)
		return B_SILENT;
	if (r < 135)
		return B_FLOODER;
	if (r < 155)
		return B_NOREAD | B_WHOFLOOD;
	if (r < 165)
		return B_ENDLESS;
	return 0;
}

static void
chaos_setup(struct conn *c, double t)
{
	c->end = t + 1 + rndexp(25);
	c->next = t + rndexp(opt.interval);
	if (c->behav & B_NOREAD) {	/* lives to be dropped as too slow */
		c->end = t + 10 + rndexp(60);
		c->next = t + rndexp(2);
	}
	if (c->behav & (B_WHOFLOOD | B_ENDLESS))
		c->next = t + HOSTILE_EVERY;
	if (c->behav & B_SPAM)		/* in, and out at once */
		c->end = t + rnd01() * 0.2;
	st.whoflooders += (c->behav & B_WHOFLOOD) != 0;
	st.endless += (c->behav & B_ENDLESS) != 0;
	st.spam += (c->behav & B_SPAM) != 0;
	c->ending = (enum ending)rndn(E_NENDINGS);
}

/*
 * Close a connection.  Its memory is freed after the current batch of
 * events, which may still name it.
 */
static void
conn_free(struct conn *c)
{
	if (c->kind == K_CHAOS && (c->behav & B_SPAM))
		alive_spam--;
	else if (c->kind == K_CHAOS)
		alive_chaos--;
	if (c->kind == K_WELL)
		alive_well--;
	if (c->w != NULL)
		c->w->closed = 1;
	live_del(c);
	close(c->fd);
	c->dead = 1;
	c->next_dead = graveyard;
	graveyard = c;
}

static void
reap(void)
{
	struct conn	*c;

	while ((c = graveyard) != NULL) {
		graveyard = c->next_dead;
		free(c->out);
		free(c->drip);
		free(c->in);
		free(c);
	}
}

/* The server closed (or reset) a connection. */
static void
conn_gone(struct conn *c)
{
	struct wrec	*w = c->w;

	if (w != NULL) {
		if (c->ilen > 0)
			wfail(w, "closed with a partial line");
		if (!w->bye)
			wfail(w, "closed by the server without \"* bye\"");
		else if (w->endpos < 0)
			wfail(w, "its end marker never came back");
	} else if (!c->ending_now)
		st.server_closed[c->kind]++;
	conn_free(c);
}

static void
set_linger0(int fd)
{
	struct linger	l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/* End a chaos or storm connection its chosen way; 1 if it is freed. */
static int
chaos_end(struct conn *c, double t)
{
	c->ending_now = 1;
	c->deadline = t + 10;
	st.endings[c->ending]++;
	switch (c->ending) {
	case E_EXIT:
		queue(c, "exit\n", 5);
		if (flush_out(c) == -1 || (c->behav & B_NOREAD)) {
			conn_free(c);
			return 1;
		}
		return 0;	/* read until the server closes */
	case E_HALF:
		shutdown(c->fd, SHUT_WR);
		if (c->behav & B_NOREAD) {
			conn_free(c);
			return 1;
		}
		return 0;
	case E_RESET:
		set_linger0(c->fd);
		/* FALLTHROUGH */
	default:
		conn_free(c);
		return 1;
	}
}

/* Random chat text: no 'W', so never a well-behaved marker. */
static size_t
rand_text(char *p, size_t len)
{
	static const char	alpha[] =
	    "abcdefghijklmnopqrstuvxyz ABCDEFGHIJKLMNOPQRSTUVXYZ0123456789"
	    " .,;!?-_()[]'\"|";
	size_t			i;

	for (i = 0; i < len; i++)
		p[i] = alpha[rndn(sizeof alpha - 1)];
	return len;
}

/* Random bytes, invalid UTF-8, controls and NULs, but no LF, 'W', ':'. */
static size_t
rand_garbage(char *p, size_t len)
{
	static const char	bad[][4] = {
		"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80", "\x80",
		"\xe2\x82", "\x00", "\x1b[", "\r", "\x7f", "\xc2\x9b", "\t",
		"\xef\xbf\xbd", "\xf0\x9f\x98\x80"
	};
	size_t			i = 0, n;
	int			k;

	while (i < len) {
		if (rndn(3) == 0) {
			k = (int)rndn(sizeof bad / sizeof bad[0]);
			n = bad[k][0] == '\0' ? 1 : strlen(bad[k]);
			if (i + n > len)
				n = len - i;
			memcpy(p + i, bad[k], n);
			i += n;
		} else {
			p[i] = (char)rndn(256);
			if (p[i] == '\n' || p[i] == 'W' || p[i] == ':')
				p[i] = '\x01';
			i++;
		}
	}
	return len;
}

/* One random action of a chaos client. */
static void
chaos_act(struct conn *c)
{
	static char	line[70000];
	size_t		n, i, k;
	uint64_t	r;

	if (c->behav & B_SILENT)
		return;
	if (c->behav & B_NOREAD) {
		/* grow its output: who lists everyone */
		queue(c, "who\n", 4);
		st.who++;
		st.lines++;
		return;
	}
	if (c->behav & B_ENDLESS) {
		/* more of a line that never ends: chatd discards it at
		 * max_line and reads it at bytes_per_second */
		n = rand_text(line, 4096);
		queue(c, line, n);
		st.endless_bytes += n;
		return;
	}
	if (c->behav & B_SPAM)
		return;
	if ((c->behav & B_FLOODER) && rndn(10) == 0) {
		k = 20 + rndn(1000);	/* over burst: the rate limit */
		for (i = 0; i < k; i++) {
			n = rand_text(line, 5 + rndn(60));
			line[n++] = '\n';
			queue(c, line, n);
		}
		st.bursts++;
		st.burst_lines += k;
		st.lines += k;
		return;
	}
	r = rndn(100);
	st.lines++;
	if (r < 40) {
		n = rand_text(line, 1 + rndn(100));
		memcpy(line + n, rndn(4) ? "\n" : "\r\n", 2);
		n += line[n] == '\r' ? 2 : 1;
		queue(c, line, n);
		st.chat++;
	} else if (r < 48) {
		memcpy(line, "rename|", 7);
		n = 7;
		k = 1 + rndn(20);
		for (i = 0; i < k; i++)
			line[n++] = "abcdefghijklmnopqrstuvxyz0123456789_"
			    [rndn(36)];
		line[n++] = '\n';
		queue(c, line, n);
		st.rename_ok++;
	} else if (r < 53) {
		memcpy(line, "rename|", 7);
		n = 7;
		switch (rndn(5)) {
		case 0:
			n += rand_garbage(line + n, 1 + rndn(10));
			break;
		case 1:
			memcpy(line + n, "two words", 9);
			n += 9;
			break;
		case 2:
			memcpy(line + n, "a|b", 3);
			n += 3;
			break;
		case 3:
			memset(line + n, 'x', 40);
			n += 40;
			break;
		default:
			break;	/* empty */
		}
		line[n++] = '\n';
		queue(c, line, n);
		st.rename_bad++;
	} else if (r < 59) {
		queue(c, "who\n", 4);
		st.who++;
	} else if (r < 61) {
		queue(c, "help\n", 5);
		st.help++;
	} else if (r < 69) {
		k = rndn(10) == 0 ? 60000 : (size_t)opt.max_line * 3;
		n = rand_text(line, (size_t)opt.max_line + 1 +
		    rndn(k - (size_t)opt.max_line));
		memcpy(line + n, "\r\n", 2);
		n += rndn(2) ? 2 : 1;
		if (line[n - 1] == '\r')
			line[n - 1] = '\n';
		queue(c, line, n);
		st.oversize++;
	} else if (r < 79) {
		n = rand_garbage(line, 1 + rndn(200));
		line[n++] = '\n';
		queue(c, line, n);
		if (memchr(line, '\0', n) != NULL)
			st.nul++;
		st.invalid++;
	} else if (r < 86) {
		if (c->drip == NULL) {
			n = rand_text(line, 1 + rndn(40));
			line[n++] = '\n';
			c->drip = xrealloc(NULL, n);
			memcpy(c->drip, line, n);
			c->dlen = n;
			c->doff = 0;
			st.drip++;
		}
	} else if (r < 92) {
		queue(c, rndn(2) ? "\n" : "\r\n", rndn(2) + 1);
		queue(c, " \t \n", 4);
		st.blank++;
	} else {
		k = 2 + rndn(8);
		for (i = 0; i < k; i++) {
			n = rand_text(line, 5 + rndn(40));
			line[n++] = '\n';
			queue(c, line, n);
		}
		st.bursts++;
		st.burst_lines += k;
		st.lines += k - 1;
	}
}

/* A well-behaved connection's next line, or its end. */
static void
well_act(struct conn *c, double t)
{
	struct wrec	*w = c->w;
	char		 pad[64];
	size_t		 n;

	if (!w->listed || c->ending_now)
		return;		/* chat once it knows who is there */
	if (t >= c->end || stopping) {
		queuef(c, "WB:%u:end\nexit\n", w->id);
		c->ending_now = 1;
		c->deadline = t + FINISH_GRACE;
		return;
	}
	if (rndn(50) == 0) {
		queue(c, "who\n", 4);
		return;
	}
	n = rand_text(pad, 1 + rndn(40));
	pad[n] = '\0';
	queuef(c, "WB:%u:%u:%s\n", w->id, ++w->sent, pad);
	st.w_lines++;
}

static void
storm(double t)
{
	struct conn	*c;
	int		 i;

	st.storms++;
	for (i = 0; i < opt.storm_n; i++) {
		if ((c = conn_open(K_STORM, 0)) == NULL)
			break;
		c->storm = (unsigned)rndn(4);
		c->end = t + 2 + rnd01() * 3;
		if (c->storm == 3) {	/* gone before the handshake ends */
			set_linger0(c->fd);
			conn_free(c);
		}
	}
}

/* The socket is writable: a connect finished, or output can go. */
static void
on_writable(struct conn *c, double t)
{
	socklen_t	len = sizeof(int);
	int		err = 0;

	if (!c->connected) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
		    -1 || err != 0) {
			st.connect_fail++;
			if (c->w != NULL)
				wfail(c->w, "connect: %s", strerror(err));
			conn_free(c);
			return;
		}
		c->connected = 1;
		if (c->kind == K_STORM) {
			switch (c->storm) {
			case 0:
				set_linger0(c->fd);
				conn_free(c);
				return;
			case 1:
				queue(c, "hi\n", 3);
				flush_out(c);
				conn_free(c);
				return;
			default:
				break;	/* read the welcome, then close */
			}
		}
		if (c->kind == K_WELL)
			c->end = t + 10 + rndexp(40);
		set_events(c);
	}
	if (flush_out(c) == -1)
		conn_gone(c);
}

static void
on_readable(struct conn *c)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < 16; i++) {
		n = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
		if (n > 0) {
			st.bytes_in += (uint64_t)n;
			if (c->w != NULL)
				w_input(c, rbuf, (size_t)n);
			else if (c->kind == K_STORM && c->storm == 2) {
				conn_free(c);
				return;
			}
			if ((size_t)n < sizeof rbuf)
				return;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)) {
			conn_gone(c);
			return;
		}
		return;
	}
}

/* Every tick: actions due, drips, ends, replacements. */
static void
tick(double t, double t_end)
{
	struct conn	*c;
	size_t		 i;

	for (i = 0; i < nlive; i++) {
		c = live[i];
		if (c->kind == K_WELL && !c->ending_now &&
		    (!c->connected || !c->w->onlined) && t > c->deadline) {
			wfail(c->w, "%s within %.0f s", !c->connected ?
			    "not connected" : !c->w->welcomed ? "no welcome" :
			    "no online list", WELCOME_WAIT);
			conn_free(c);
			i--;
			continue;
		}
		if (!c->connected) {
			if (t > c->end + 30 && c->kind != K_WELL) {
				conn_free(c);
				i--;
			}
			continue;
		}
		if (c->ending_now) {
			if (t > c->deadline) {
				if (c->w != NULL)
					wfail(c->w, "not closed within %.0f s "
					    "of its exit", FINISH_GRACE);
				conn_free(c);
				i--;
			}
			continue;
		}
		if (c->kind == K_WELL) {
			if (t >= c->next) {
				well_act(c, t);
				c->next = t + rndexp(opt.w_interval);
			}
		} else if (c->kind == K_STORM) {
			if (t >= c->end || stopping) {
				conn_free(c);
				i--;
			}
			continue;
		} else {
			if (stopping || t >= c->end) {
				if (chaos_end(c, t))
					i--;
				continue;
			}
			if (c->drip != NULL && c->olen == c->ooff) {
				queue(c, c->drip + c->doff++, 1);
				if (c->doff == c->dlen) {
					free(c->drip);
					c->drip = NULL;
				}
			}
			if (t >= c->next && c->olen - c->ooff < OUT_CAP) {
				chaos_act(c);
				c->next = (c->behav & (B_WHOFLOOD |
				    B_ENDLESS)) ? t + HOSTILE_EVERY :
				    t + rndexp((c->behav & B_NOREAD) ? 2.0 :
				    opt.interval);
			}
		}
		if (c->olen > c->ooff && flush_out(c) == -1) {
			conn_gone(c);
			i--;
		}
	}
	if (stopping || t >= t_end)
		return;
	/* keep the numbers up, a bounded number per tick */
	for (i = 0; alive_chaos < (size_t)opt.nchaos && i < 50; i++) {
		if ((c = conn_open(K_CHAOS, chaos_behaviour())) == NULL)
			break;
		chaos_setup(c, t);
	}
	/* the spam slots refilled every 10 ms: up to 800 connects a second,
	 * as many as one address sent in the join spam chatd was tried with */
	for (i = 0; t >= next_spam && alive_spam < SPAM_SLOTS &&
	    i < SPAM_SLOTS; i++) {
		if ((c = conn_open(K_CHAOS, B_SPAM)) == NULL)
			break;
		chaos_setup(c, t);
	}
	if (t >= next_spam)
		next_spam = t + 0.01;
	for (i = 0; alive_well < (size_t)opt.nwell && i < 4; i++) {
		if ((c = conn_open(K_WELL, 0)) == NULL)
			break;
		c->next = t;
		c->end = t + 3600;	/* set when connected */
		c->deadline = t + WELCOME_WAIT;
	}
}

/* ---- the check ---------------------------------------------------------- */

/* Whether, in R's stream before its end echo, S is seen joining. */
static int
joined_before_end(const struct wrec *r, uint32_t s)
{
	long	i;

	for (i = 0; i < r->endpos; i++) {
		if (r->ev[i].type == WE_JOIN && r->ev[i].a == s)
			return 1;
	}
	return 0;
}

static void
check_pair(const struct wrec *r, const struct wrec *s, int *shown)
{
	uint32_t	*owed = NULL, *got = NULL, last = 0;
	size_t		 nowed = 0, ngot = 0, i, j;
	int		 present = 0, owes;
	long		 k;

	owes = joined_before_end(r, s->id);
	if (owes) {
		owed = xrealloc(NULL, (s->nev + 1) * sizeof *owed);
		for (i = 0; i < s->nev; i++) {
			const struct wevent *e = &s->ev[i];

			if (e->type == WE_JOIN && e->a == r->id)
				present = 1;
			else if (e->type == WE_END && e->a == r->id)
				break;
			else if (e->type == WE_ECHO && present)
				owed[nowed++] = e->a;
		}
	}
	got = xrealloc(NULL, (r->nev + 1) * sizeof *got);
	for (k = 0; k < (long)r->nev; k++) {
		const struct wevent *e = &r->ev[k];

		if (e->type != WE_RECV || e->a != s->id)
			continue;
		if (e->b <= last) {
			st.disorder++;
			if ((*shown)++ < 10)
				fprintf(stderr, "soakgen: %s got %u of %s "
				    "after %u\n", r->name, e->b, s->name,
				    last);
		}
		last = e->b;
		if (k < r->endpos)
			got[ngot++] = e->b;
		else
			st.late++;
	}
	st.owed += nowed;
	for (i = 0, j = 0; i < nowed || j < ngot;) {
		if (i < nowed && j < ngot && owed[i] == got[j]) {
			st.received++;
			i++;
			j++;
		} else if (j >= ngot || (i < nowed && owed[i] < got[j])) {
			st.missing++;
			if ((*shown)++ < 10)
				fprintf(stderr, "soakgen: %s missed line %u "
				    "of %s\n", r->name, owed[i], s->name);
			i++;
		} else {
			st.extra++;
			if ((*shown)++ < 10)
				fprintf(stderr, "soakgen: %s got line %u of "
				    "%s, not owed\n", r->name, got[j],
				    s->name);
			j++;
		}
	}
	st.pairs++;
	free(owed);
	free(got);
}

static void
check_all(void)
{
	size_t	i, j;
	int	shown = 0;

	for (i = 0; i < nwrecs; i++) {
		if (wrecs[i]->endpos < 0 && !wrecs[i]->failed)
			wfail(wrecs[i], "never saw its end marker");
	}
	for (i = 0; i < nwrecs; i++) {
		if (wrecs[i]->endpos < 0)
			continue;
		for (j = 0; j < nwrecs; j++) {
			if (i != j)
				check_pair(wrecs[i], wrecs[j], &shown);
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and maximum of the W connections' waits for their welcome. */
static void
welcome_latency(double *median, double *max)
{
	double	*v;
	size_t	 i, n = 0;

	*median = *max = 0;
	v = xrealloc(NULL, (nwrecs + 1) * sizeof *v);
	for (i = 0; i < nwrecs; i++) {
		if (wrecs[i]->welcomed)
			v[n++] = wrecs[i]->t_welcome - wrecs[i]->t_open;
	}
	if (n > 0) {
		qsort(v, n, sizeof *v, cmp_double);
		*median = v[n / 2];
		*max = v[n - 1];
	}
	free(v);
}

static void
usage(void)
{
	fprintf(stderr, "usage: soakgen -p port [-h host] [-d seconds] "
	    "[-n chaos] [-w well-behaved] [-s seed]\n"
	    "               [-l max_line] [-S storm] [-E storm-every] "
	    "[-i interval] [-I w-interval] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct rlimit		 rl;
	struct rusage		 ru;
	struct conn		*c;
	double			 t0, t, t_end, next_storm, next_report;
	double			 wl_median, wl_max;
	int			 ch, n, i, rc;

	while ((ch = getopt(argc, argv, "p:h:d:n:w:s:l:S:E:i:I:v")) != -1) {
		switch (ch) {
		case 'p': opt.port = atoi(optarg); break;
		case 'h': opt.host = optarg; break;
		case 'd': opt.duration = atof(optarg); break;
		case 'n': opt.nchaos = atoi(optarg); break;
		case 'w': opt.nwell = atoi(optarg); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'l': opt.max_line = atoi(optarg); break;
		case 'S': opt.storm_n = atoi(optarg); break;
		case 'E': opt.storm_every = atof(optarg); break;
		case 'i': opt.interval = atof(optarg); break;
		case 'I': opt.w_interval = atof(optarg); break;
		case 'v': opt.verbose = 1; break;
		default: usage();
		}
	}
	if (opt.port <= 0 || opt.port > 65535 || opt.duration <= 0 ||
	    opt.nchaos < 0 || opt.nwell < 2 || opt.max_line < 1 ||
	    opt.max_line > 60000 || opt.storm_n < 0 ||
	    opt.storm_every <= 0 || opt.interval <= 0 || opt.w_interval <= 0)
		usage();
	rng = opt.seed * 0x9E3779B97F4A7C15ULL + 1;
	memset(port_wid, 0xff, sizeof port_wid);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <
	    (rlim_t)(opt.nchaos + opt.nwell + opt.storm_n + 64))
		die("RLIMIT_NOFILE %llu is too low for %d clients",
		    (unsigned long long)rl.rlim_cur,
		    opt.nchaos + opt.nwell + opt.storm_n);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));

	t0 = t_start = now();
	t_end = t0 + opt.duration;
	next_storm = t0 + opt.storm_every;
	next_report = t0 + 10;
	for (;;) {
		n = epoll_wait(ep, evs, MAX_EVENTS, TICK_MS);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		t = now();
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->dead)	/* closed earlier in this batch */
				continue;
			if (evs[i].events & EPOLLOUT) {
				on_writable(c, t);
				if (c->dead)
					continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				if (c->behav & B_NOREAD) {
					conn_gone(c);
					continue;
				}
				if (c->connected)
					on_readable(c);
			}
		}
		if (!stopping && t >= t_end) {
			stopping = 1;
			if (opt.verbose)
				fprintf(stderr, "soakgen: stopping\n");
		}
		if (!stopping && opt.storm_n > 0 && t >= next_storm) {
			storm(t);
			next_storm = t + opt.storm_every;
		}
		tick(t, t_end);
		reap();
		if (opt.verbose && t >= next_report) {
			fprintf(stderr, "soakgen: %.0fs live %zu chaos %zu "
			    "well %zu lines %" PRIu64 " wlines %" PRIu64 "\n",
			    t - t0, nlive, alive_chaos, alive_well, st.lines,
			    st.w_lines);
			next_report = t + 10;
		}
		if (stopping && alive_well == 0) {
			/* the W are done: close whatever chaos is left */
			while (nlive > 0)
				conn_free(live[0]);
			reap();
			break;
		}
		if (stopping && t > t_end + FINISH_GRACE + 15)
			die("W connections still open %.0f s after the end",
			    t - t_end);
	}
	/* a W that was never welcomed is still a failure */
	check_all();
	getrusage(RUSAGE_SELF, &ru);

	printf("soak: %.0f s, %" PRIu64 " chaos + %" PRIu64 " storm + %"
	    PRIu64 " well-behaved connections (%d chaos at a time, %" PRIu64
	    " storms)\n", now() - t0, st.conns[K_CHAOS], st.conns[K_STORM],
	    st.conns[K_WELL], opt.nchaos, st.storms);
	printf("soak: chaos sent %" PRIu64 " lines: %" PRIu64 " chat, %"
	    PRIu64 " valid and %" PRIu64 " invalid renames, %" PRIu64
	    " who, %" PRIu64 " help, %" PRIu64 " over max_line, %" PRIu64
	    " invalid UTF-8/controls (%" PRIu64 " with NUL), %" PRIu64
	    " byte at a time, %" PRIu64 " bursts (%" PRIu64 " lines), %"
	    PRIu64 " blank\n", st.lines, st.chat, st.rename_ok,
	    st.rename_bad, st.who, st.help, st.oversize, st.invalid, st.nul,
	    st.drip, st.bursts, st.burst_lines, st.blank);
	printf("soak: chaos endings: %" PRIu64 " exit, %" PRIu64 " close, %"
	    PRIu64 " reset, %" PRIu64 " half-close; closed by the server: %"
	    PRIu64 " chaos, %" PRIu64 " storm; %" PRIu64 " connects failed\n",
	    st.endings[E_EXIT], st.endings[E_CLOSE], st.endings[E_RESET],
	    st.endings[E_HALF], st.server_closed[K_CHAOS],
	    st.server_closed[K_STORM], st.connect_fail);
	printf("soak: well-behaved: %" PRIu64 " lines sent; owed %" PRIu64
	    ", received %" PRIu64 " (missing %" PRIu64 ", not owed %" PRIu64
	    ", out of order %" PRIu64 ", after the end marker %" PRIu64
	    "); %" PRIu64 " receiver-sender pairs; %" PRIu64
	    " connections failed\n", st.w_lines, st.owed, st.received,
	    st.missing, st.extra, st.disorder, st.late, st.pairs,
	    st.w_failed);
	printf("soak: hostile: %" PRIu64 " who flooders (non-readers, who "
	    "20 a second), %" PRIu64 " endless lines (%" PRIu64 " bytes "
	    "queued), %" PRIu64 " join-spam connections from 127.0.0.250\n",
	    st.whoflooders, st.endless, st.endless_bytes, st.spam);
	welcome_latency(&wl_median, &wl_max);
	printf("soak: well-behaved connections waited for their welcome %.0f "
	    "ms (median), %.0f ms at most\n", wl_median * 1e3, wl_max * 1e3);
	printf("soak: bytes sent %" PRIu64 ", received %" PRIu64
	    "; soakgen CPU %.1f s\n", st.bytes_out, st.bytes_in,
	    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	printf("owed=%" PRIu64 " received=%" PRIu64 " missing=%" PRIu64
	    " extra=%" PRIu64 " disorder=%" PRIu64 " w_failed=%" PRIu64
	    " w_conns=%" PRIu64 " chaos_conns=%" PRIu64 " storm_conns=%"
	    PRIu64 " chaos_lines=%" PRIu64 "\n", st.owed, st.received,
	    st.missing, st.extra, st.disorder, st.w_failed, st.conns[K_WELL],
	    st.conns[K_CHAOS], st.conns[K_STORM], st.lines);
	rc = st.owed == st.received && st.missing == 0 && st.extra == 0 &&
	    st.disorder == 0 && st.w_failed == 0 && st.owed > 0 ? 0 : 1;
	return rc;
}
