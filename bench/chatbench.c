/*
 * chatbench: a load generator for chatd, and for Redis pub/sub as a
 * yardstick.  See chatbench(1).
 *
 * One process, one thread, epoll, libc only (and OpenSSL for --tls), so
 * that the generator costs as little as it can; it reports its own CPU
 * time next to the server's so a reader can tell which of the two was the
 * bottleneck.
 *
 * It connects N clients (at most --ramp of them waiting for their welcome
 * at once), waits until every one is welcomed and every join notice has
 * arrived, then lets S of them send lines as fast as a window of unechoed
 * lines allows, or at a fixed total rate.  Every client reads everything.
 * A line carries its sender's index, a sequence number and a time:
 *
 *     "<sender> <seq> <t_ns> xxxx...xxxx"        (B bytes)
 *
 * chatd sends it back to everyone as "[<name>]: <line>\r\n"; Redis, to
 * which every client has said HELLO 3 and SUBSCRIBE, pushes it as a RESP3
 * "message".  The tool counts deliveries, checks that each receiver sees
 * each sender's lines in order, and keeps a histogram of the delivery
 * latency (the time of the read() that returned a line minus the time in
 * it).
 *
 * --ws speaks to chatd's [websocket] listener instead: each client
 * upgrades (GET /ws), sends each line as one masked text frame and reads
 * each line from one text frame.
 *
 * --idle connects the clients, lets them sit, and reports the server's
 * RSS per connection; then one line is broadcast, which every client must
 * receive.  --slow K adds K clients that never read; with --who-flood W
 * each of them sends "who" W times a third of the way into the talk (a
 * cheap request with an expensive answer: the others' latency shows what
 * it costs).  --join-spam J has J more clients from an address of their
 * own (127.0.0.254) connect, and connect again as soon as they are
 * welcomed, refused or closed, through the middle third of the talk.
 * With an attack, the latency is also reported by the third of the talk
 * in which each line was sent: before, during and after it.
 *
 * --tls speaks TLS to the server (chatd's [tls] port, its [websocket]
 * port with tls = true together with --ws, or a Redis built with TLS):
 * a full handshake per connection, no resumption and no
 * verification (it measures, it does not trust), and the time from
 * connect() to the end of each handshake is reported.
 *
 * The load of a big room's door: --storm drops every client at once once
 * all are in and reconnects them all at once, and times until every one
 * is welcomed again; --churn R has R extra clients a second join and
 * leave while the room talks; --surge M connects M extra clients at once
 * a third of the way into the talk.  The extra clients read everything
 * and count for nothing but their own welcome.
 *
 * Output: one line for people, then one line of key=value pairs.  Exit
 * status: 0 when every line arrived, in order, before the deadline; 1
 * otherwise; 2 on a usage or setup error.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define NAME_MAX_LEN	64
#define RBUF_INITIAL	(256 * 1024)
#define MAX_EVENTS	512
#define CHANNEL		"chatbench"
#define SOURCES_PER	5000	/* clients per source address, by default */
#define QUIET_S		0.5	/* idle mode: no input for this long = settled */
#define TIMER_TAG	UINT32_MAX	/* epoll data of the timerfd */
#define MAX_PORTS	16	/* nodes of a cluster, and their pids */
#define SURGE_STEP	200	/* surging clients connected per loop turn */
#define RETRY_PAUSE_S	0.25	/* first pause after a refusal; it doubles */

/* Histogram of nanoseconds: exact below 1024, then 512 steps per octave. */
#define H_SUB		512
#define H_BUCKETS	(1024 + 54 * H_SUB)

enum proto { P_CHATD, P_REDIS };

struct conn {
	int		 fd;
	int		 idx;
	int		 slow;		/* never reads */
	int		 dead;
	int		 welcomed;	/* chatd: welcome; redis: subscribed */
	int		 retries;	/* connections lost before the welcome */
	int		 refused;	/* the server said why, before the welcome */
	double		 retry_at;	/* when to connect again after that */
	int		 onlined;	/* chatd: the "* online" line */
	int		 sender;	/* sender index, or -1 */
	int		 pollout;
	SSL		*ssl;		/* --tls */
	int		 handshaking;	/* --tls: the handshake is not done */
	uint64_t	 t_connect;	/* when connect() was called */
	int		 ws_up;		/* --ws: the 101 response is in */
	int		 extra;		/* 0, or EXTRA_CHURN, EXTRA_SURGE */
#define EXTRA_CHURN	1
#define EXTRA_SURGE	2
#define EXTRA_SPAM	3
	char		 name[NAME_MAX_LEN];
	char		*carry;		/* a partial line from the last read */
	size_t		 carry_len, carry_cap;
	uint64_t	 got;		/* chat lines received */
	uint64_t	 last_rx;	/* when the last one came */
	/* senders */
	uint64_t	 sent, acked;
	double		 next_at;	/* rate mode: when the next line is due */
	char		*obuf;		/* written, not yet taken by the kernel */
	size_t		 olen, ooff, ocap;
};

static struct {
	enum proto	 proto;
	const char	*host;
	int		 port;		/* the first of ports */
	int		 ports[MAX_PORTS];	/* a cluster's nodes */
	int		 nports;
	int		 nclients, nsenders, nslow;
	int		 whoflood;	/* "who" lines each slow client sends */
	uint64_t	 lines;
	double		 duration;
	double		 rate;		/* lines/s over all senders; 0 = no limit */
	int		 bytes, window, ramp, sources;
	double		 deadline;
	int		 pid;	/* the first of pids */
	int		 pids[MAX_PORTS];
	int		 npids;
	int		 watch;	/* another process to report on */
	int		 idle;
	int		 verbose;
	double		 upgrade;	/* SIGUSR2 to pid this long into chat */
	int		 tls;
	int		 ws;		/* over WebSocket */
	int		 storm;		/* drop all, reconnect all at once */
	double		 churn;		/* joins and leaves a second */
	int		 surge;		/* clients connecting at once */
	int		 joinspam;	/* clients connecting in a loop */
} opt = {
	P_CHATD, "127.0.0.1", 0, { 0 }, 0, 100, -1, 0, 0, 0, 0., 0., 64, 16,
	100, 0, 120., 0, { 0 }, 0, 0, 0, 0, 0., 0, 0, 0, 0., 0, 0
};

static SSL_CTX		*tls_ctx;	/* --tls */

static struct conn	*conns;
static int		 ep;
static int		 tfd;		/* timerfd: the next line due */
static char		*rbuf;
static size_t		 rbuf_cap;
static char		*wsbuf;		/* --ws: the lines of the frames read */
static size_t		 wsbuf_cap;
static uint32_t		*lastseq;	/* [receiver][sender], 0 = none yet */
static uint64_t		 hist[H_BUCKETS];
static uint64_t		 hist3[3][H_BUCKETS];	/* by third of the talk */
static uint64_t		 t_chat_ns;	/* when the talk started */
static uint64_t		 target;	/* lines each reader must get */
static int		 phase;		/* 0 join, 1 slow join, 2 chat, 3 drain */
static uint64_t		 last_input;	/* time of the last chatd input */
static int		 nchurn;	/* churn slots, after the slow ones */
static struct sockaddr_in *servers;	/* where clients connect: ports[] */

static struct {
	uint64_t	 welcomes, onlines, joins, drops_slow, drops_other;
	uint64_t	 other, errors, chat_early;
	uint64_t	 deliveries, reordered, bad;
	uint64_t	 lat_max;
	uint64_t	 gap_max;	/* longest wait of a client between lines */
	uint64_t	 t_upgrade;	/* when SIGUSR2 was sent */
	uint64_t	 handshakes, hs_sum, hs_max;	/* --tls, ns */
	uint64_t	 churns, surge_welcomes, reconnects;
	uint64_t	 t_surge, t_surge_done;	/* surge opened, all welcomed */
	uint64_t	 spam_connects, spam_welcomes, spam_refused;
	uint64_t	 refusals;	/* "! ..." before a client's welcome */
	char		 refusal[160];	/* the first of them */
	int		 waiting;	/* clients pausing before a retry */
	uint64_t	 t_slow_drop;	/* first notice naming a slow client */
	uint64_t	 slow_drop_lines; /* chat lines its receiver had then */
	int		 dead, finished;
} st;

static void	usage(int) __attribute__((noreturn));
static void	conn_dead(struct conn *, const char *);
static void	conn_open(struct conn *, const struct sockaddr_in *);
static const struct sockaddr_in *client_addr(const struct sockaddr_in *, int);
static void	conn_shut(struct conn *);
static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "chatbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return (p);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

static double
now_s(void)
{
	return ((double)now_ns() / 1e9);
}

/*
 * Count one latency, of a line sent at ts, in the histogram, and in the
 * one of the third of the talk it was sent in (a --duration talk only).
 */
static void
hist_add(uint64_t v, uint64_t ts)
{
	int	msb, shift;
	size_t	i, third;

	if (v > st.lat_max)
		st.lat_max = v;
	if (v < 1024)
		i = v;
	else {
		msb = 63 - __builtin_clzll(v);
		shift = msb - 9;
		if (shift > 54)
			shift = 54;
		i = 1024 + (size_t)(shift - 1) * H_SUB +
		    (size_t)(((v >> shift) & (H_SUB - 1)));
		if (i >= H_BUCKETS)
			i = H_BUCKETS - 1;
	}
	hist[i]++;
	if (opt.lines == 0 && opt.duration > 0.) {
		third = ts <= t_chat_ns ? 0 : (size_t)((double)(ts -
		    t_chat_ns) * 3. / (opt.duration * 1e9));
		hist3[third > 2 ? 2 : third][i]++;
	}
}

/* The value at quantile q (0..1) of histogram h, the middle of its bucket. */
static uint64_t
hist_quantile_of(const uint64_t *h, double q)
{
	uint64_t	total = 0, want, acc = 0;
	size_t		i;
	int		shift;

	for (i = 0; i < H_BUCKETS; i++)
		total += h[i];
	if (total == 0)
		return (0);
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < H_BUCKETS; i++) {
		acc += h[i];
		if (acc > want)
			break;
	}
	if (i < 1024)
		return (i);
	shift = (int)((i - 1024) / H_SUB) + 1;
	return ((((uint64_t)(H_SUB + (i - 1024) % H_SUB)) << shift) +
	    ((uint64_t)1 << (shift - 1)));
}

/* The value at quantile q of all the latencies. */
static uint64_t
hist_quantile(double q)
{
	return (hist_quantile_of(hist, q));
}

/* Parse a decimal number; advance *p past it and one following space. */
static int
parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char	*s = *p;
	uint64_t	 v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return (-1);
	while (s < end && *s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	if (s < end && *s == ' ')
		s++;
	*p = s;
	*out = v;
	return (0);
}

static int
has_suffix(const char *s, size_t len, const char *suf)
{
	size_t	n = strlen(suf);

	return (len >= n && memcmp(s + len - n, suf, n) == 0);
}

/* A chat line (the payload a sender wrote) received by c at time t. */
static void
handle_chat(struct conn *c, const char *p, const char *end, uint64_t t)
{
	uint64_t	 snd, seq, ts;
	uint32_t	*last;

	if (parse_u64(&p, end, &snd) || parse_u64(&p, end, &seq) ||
	    parse_u64(&p, end, &ts) || snd >= (uint64_t)opt.nsenders) {
		st.bad++;
		return;
	}
	if (c->extra)
		return;		/* counts for nothing but its welcome */
	if (phase < 2) {
		st.chat_early++;
		return;
	}
	/* While lines are sent, no reader should wait long for the next:
	 * the longest wait is the pause an upgrade costs. */
	if (c->last_rx != 0 && t > c->last_rx && t - c->last_rx > st.gap_max)
		st.gap_max = t - c->last_rx;
	c->last_rx = t;
	c->got++;
	st.deliveries++;
	if (c->got == target)
		st.finished++;
	hist_add(t > ts ? t - ts : 0, ts);
	last = &lastseq[(size_t)c->idx * (size_t)opt.nsenders + snd];
	if (seq != (uint64_t)*last + 1)
		st.reordered++;
	if (seq > *last)
		*last = (uint32_t)seq;
	if (c->sender == (int)snd)
		c->acked++;
}

/*
 * The joins a gathered notice announces ("* 37 joined: ada, bob and 35
 * more"), or 0 if the line is not one.
 */
static uint64_t
gathered_joins(const char *s, size_t len)
{
	const char	*p = s + 2, *end = s + len;
	uint64_t	 n;

	if (len < 4 || s[0] != '*' || s[1] != ' ' || parse_u64(&p, end, &n))
		return (0);
	if (end - p < 6 || memcmp(p, "joined", 6) != 0 ||
	    (end - p > 6 && p[6] != ':'))
		return (0);
	return (n);
}

/* An extra client was welcomed: a churner leaves at once. */
static void
extra_welcomed(struct conn *c, uint64_t t)
{
	if (c->extra == EXTRA_CHURN) {
		st.churns++;
		conn_shut(c);
		return;
	}
	if (++st.surge_welcomes == (uint64_t)opt.surge)
		st.t_surge_done = t;
}

/* One chatd line (CRLF stripped) received by c at time t. */
static void
chatd_line(struct conn *c, const char *s, size_t len, uint64_t t)
{
	const char	*p, *end = s + len;
	int		 i, total = opt.nclients + opt.nslow;
	uint64_t	 n;

	if (c->extra == EXTRA_SPAM) {
		/* In, refused or told anything: gone, to come again. */
		if (len >= 10 && memcmp(s, "* welcome ", 10) == 0)
			st.spam_welcomes++;
		else if (len > 0 && s[0] == '!')
			st.spam_refused++;
		else
			return;
		conn_shut(c);
		return;
	}
	if (len > 0 && s[0] == '[') {
		p = memchr(s, ']', len);
		if (p == NULL || end - p < 3 || p[1] != ':' || p[2] != ' ') {
			st.bad++;
			return;
		}
		handle_chat(c, p + 3, end, t);
		return;
	}
	if (len > 0 && s[0] == '!' && !c->welcomed && !c->extra &&
	    opt.proto == P_CHATD) {
		/* Refused at the door (a full server, a connect rate): the
		 * server closes next, and the client tries again later. */
		if (st.refusals++ == 0)
			snprintf(st.refusal, sizeof st.refusal, "%.*s",
			    (int)(len < 150 ? len : 150), s);
		c->refused = 1;
		return;
	}
	if (len > 0 && s[0] == '!') {
		st.errors++;
		if (opt.verbose)
			fprintf(stderr, "client %d: %.*s\n", c->idx, (int)len,
			    s);
		return;
	}
	if (len >= 10 && memcmp(s, "* welcome ", 10) == 0 && c->extra) {
		extra_welcomed(c, t);
		return;
	}
	if (len >= 10 && memcmp(s, "* welcome ", 10) == 0) {
		c->welcomed = 1;
		st.welcomes++;
		/* The name is the client's address, or guest:ID where the
		 * server hides addresses ([server] show_addresses). */
		if (len - 10 > 6 && len - 10 < sizeof c->name &&
		    memcmp(s + 10, "guest:", 6) == 0) {
			memcpy(c->name, s + 10, len - 10);
			c->name[len - 10] = '\0';
		} else if (len - 10 != strlen(c->name) ||
		    memcmp(s + 10, c->name, len - 10) != 0)
			st.bad++;
		return;
	}
	if (len >= 10 && memcmp(s, "* online (", 10) == 0) {
		c->onlined = 1;
		st.onlines++;
		return;
	}
	if ((n = gathered_joins(s, len)) > 0) {
		st.joins += n;
		return;
	}
	if (has_suffix(s, len, " joined")) {
		st.joins++;
		return;
	}
	if (has_suffix(s, len, " dropped (too slow)")) {
		for (i = opt.nclients; i < total; i++) {
			if (len == 2 + strlen(conns[i].name) + 19 &&
			    memcmp(s + 2, conns[i].name,
			    strlen(conns[i].name)) == 0)
				break;
		}
		if (i < total) {
			if (st.drops_slow++ == 0) {
				st.t_slow_drop = t;
				st.slow_drop_lines = c->got;
			}
		} else
			st.drops_other++;
		return;
	}
	st.other++;
	if (opt.verbose > 1)
		fprintf(stderr, "client %d: %.*s\n", c->idx, (int)len, s);
}

/* Frame chatd lines; returns the bytes consumed. */
static size_t
chatd_input(struct conn *c, const char *buf, size_t len, uint64_t t)
{
	const char	*nl;
	size_t		 start = 0, i;

	while (start < len &&
	    (nl = memchr(buf + start, '\n', len - start)) != NULL) {
		i = (size_t)(nl - buf);
		chatd_line(c, buf + start, i > start && buf[i - 1] == '\r' ?
		    i - 1 - start : i - start, t);
		start = i + 1;
	}
	return (start);
}

/*
 * --ws: the server's frames (after its 101 response) turned into chatd's
 * "line\r\n" for chatd_input; returns the bytes of whole frames consumed.
 * A line is never longer than its frame, header included, so wsbuf needs
 * no more room than the input.
 */
static size_t
ws_input(struct conn *c, const char *buf, size_t len, uint64_t t)
{
	const unsigned char	*p = (const unsigned char *)buf;
	const char		*e;
	size_t			 off = 0, out = 0, n, h;
	int			 i;

	if (!c->ws_up) {
		if ((e = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
			return (0);
		if (len < 13 || memcmp(buf, "HTTP/1.1 101 ", 13) != 0) {
			st.bad++;
			conn_dead(c, "upgrade refused");
			return (len);
		}
		c->ws_up = 1;
		off = (size_t)(e + 4 - buf);
	}
	if (wsbuf_cap < len) {
		wsbuf_cap = len * 2;
		wsbuf = xrealloc(wsbuf, wsbuf_cap);
	}
	while (off + 2 <= len) {
		n = p[off + 1] & 0x7f;
		h = 2;
		if (n == 126) {
			if (off + 4 > len)
				break;
			n = (size_t)p[off + 2] << 8 | p[off + 3];
			h = 4;
		} else if (n == 127) {
			if (off + 10 > len)
				break;
			for (n = 0, i = 0; i < 8; i++)
				n = n << 8 | p[off + 2 + i];
			h = 10;
		}
		if (n > len || off + h + n > len)
			break;
		switch (p[off] & 0x0f) {
		case 0x1:
			memcpy(wsbuf + out, buf + off + h, n);
			out += n;
			wsbuf[out++] = '\r';
			wsbuf[out++] = '\n';
			break;
		case 0x8:
			conn_dead(c, "close frame");
			break;
		default:
			st.other++;
		}
		off += h + n;
	}
	chatd_input(c, wsbuf, out, t);
	return (off);
}

/*
 * One RESP value at p: returns its length, 0 if it is not complete yet or
 * -1 if it is not RESP.  For a bulk or simple string, *s and *slen are its
 * bytes; for an aggregate, *n is its element count.
 */
static long
resp_value(const char *p, const char *end, const char **s, size_t *slen,
    long long *n)
{
	const char	*cr;
	long long	 v;
	long		 len, k;
	int		 i, per;
	char		*e;

	if (p >= end)
		return (0);
	if ((cr = memchr(p, '\r', (size_t)(end - p))) == NULL ||
	    cr + 1 >= end)
		return (0);
	if (cr[1] != '\n')
		return (-1);
	*s = p + 1;
	*slen = (size_t)(cr - p - 1);
	len = (long)(cr + 2 - p);
	switch (p[0]) {
	case '+': case '-': case ':': case '_': case '#': case ',': case '(':
		return (len);
	case '$': case '=': case '!':
		v = strtoll(p + 1, &e, 10);
		if (e != cr)
			return (-1);
		if (v < 0)
			return (len);			/* RESP2 null */
		if (end - (cr + 2) < v + 2)
			return (0);
		*s = cr + 2;
		*slen = (size_t)v;
		return (len + (long)v + 2);
	case '*': case '>': case '~': case '%': case '|':
		v = strtoll(p + 1, &e, 10);
		if (e != cr)
			return (-1);
		*n = v;
		per = p[0] == '%' || p[0] == '|' ? 2 : 1;
		for (i = 0; v > 0 && i < v * per; i++) {
			const char	*ss;
			size_t		 sl;
			long long	 nn;

			if ((k = resp_value(p + len, end, &ss, &sl, &nn)) <= 0)
				return (k);
			len += k;
		}
		if (p[0] == '|') {	/* an attribute precedes a value */
			const char	*ss;
			size_t		 sl;
			long long	 nn;

			if ((k = resp_value(p + len, end, &ss, &sl, &nn)) <= 0)
				return (k);
			len += k;
		}
		return (len);
	default:
		return (-1);
	}
}

/* Frame RESP replies and pushes; returns the bytes consumed. */
static size_t
redis_input(struct conn *c, const char *buf, size_t len, uint64_t t)
{
	const char	*p = buf, *end = buf + len, *s, *kind, *data;
	size_t		 slen, klen, dlen;
	long long	 n;
	long		 k, h;

	while (p < end) {
		if ((k = resp_value(p, end, &s, &slen, &n)) == 0)
			break;
		if (k < 0) {
			st.bad++;
			return (len);
		}
		if (p[0] == '-') {
			st.errors++;
			if (opt.verbose)
				fprintf(stderr, "client %d: %.*s\n", c->idx,
				    (int)slen, s);
		} else if (p[0] == '>' && n == 3) {
			/* >3 $kind $channel $data-or-:count */
			h = (long)((const char *)memchr(p, '\n', (size_t)k) - p) + 1;
			h += resp_value(p + h, end, &kind, &klen, &n);
			h += resp_value(p + h, end, &s, &slen, &n);
			resp_value(p + h, end, &data, &dlen, &n);
			if (klen == 7 && memcmp(kind, "message", 7) == 0)
				handle_chat(c, data, data + dlen, t);
			else if (klen == 9 && memcmp(kind, "subscribe", 9) == 0) {
				c->welcomed = c->onlined = 1;
				st.welcomes++;
				st.onlines++;
			} else
				st.other++;
		} else if (p[0] == ':' && phase >= 2 && c->sender >= 0) {
			/* PUBLISH: how many subscribers got it */
			if (strtoll(s, NULL, 10) !=
			    opt.nclients + opt.nslow - st.dead)
				st.other++;
		}
		/* HELLO's map and anything else: nothing to check */
		p += k;
	}
	return ((size_t)(p - buf));
}

/* What an SSL call that did not succeed means, as errno: EAGAIN, or not. */
static void
tls_errno(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		break;
	case SSL_ERROR_ZERO_RETURN:
		errno = 0;
		break;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		break;
	default:
		errno = EPROTO;
		break;
	}
	ERR_clear_error();
}

/* read(2) on c, through TLS with --tls. */
static ssize_t
io_read(struct conn *c, char *buf, size_t len)
{
	int	r;

	if (c->ssl == NULL)
		return (read(c->fd, buf, len));
	errno = 0;
	if ((r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return (r);
	tls_errno(c, r);
	return (errno == 0 ? 0 : -1);
}

/* write(2) on c, through TLS with --tls. */
static ssize_t
io_write(struct conn *c, const char *buf, size_t len)
{
	int	r;

	if (c->ssl == NULL)
		return (write(c->fd, buf, len));
	errno = 0;
	if ((r = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return (r);
	tls_errno(c, r);
	if (errno == 0)
		errno = EPIPE;
	return (-1);
}


/*
 * One step of c's handshake.  Until it is done the socket is watched for
 * what OpenSSL waits for; then as a plain connection would be (a slow
 * client, not at all).
 */
static void
conn_handshake(struct conn *c)
{
	struct epoll_event	ev;
	uint64_t		t;
	int			r;

	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->handshaking = 0;
		t = now_ns() - c->t_connect;
		st.handshakes++;
		st.hs_sum += t;
		if (t > st.hs_max)
			st.hs_max = t;
		if (c->slow) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
		c->pollout = c->olen > 0;
		ev.events = EPOLLIN | (c->pollout ? EPOLLOUT : 0);
		ev.data.u32 = (uint32_t)c->idx;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE ||
	    SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
		ev.events = EPOLLIN | (SSL_get_error(c->ssl, r) ==
		    SSL_ERROR_WANT_WRITE ? EPOLLOUT : 0);
		ev.data.u32 = (uint32_t)c->idx;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		ERR_clear_error();
		return;
	}
	tls_errno(c, r);
	conn_dead(c, errno == EPROTO ? "TLS handshake failed" :
	    errno != 0 ? strerror(errno) : "closed during the handshake");
}

/*
 * A connection was closed or reset.  One that had no welcome yet was lost
 * at the door and connects again, as a real client would, a few times:
 * at once if the kernel dropped it (a server too busy to accept in time
 * lets a full accept queue overflow), after a pause that doubles each
 * time if the server refused it with a reason (a connect rate refills
 * slowly); anything else is dead.
 */
static void
conn_dead(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	if (c->extra == EXTRA_SPAM) {
		conn_shut(c);	/* it comes again */
		return;
	}
	if (!c->welcomed && opt.proto == P_CHATD && c->retries < 5 &&
	    c->fd != -1) {
		if (opt.verbose)
			fprintf(stderr, "chatbench: client %d (%s): %s before "
			    "its welcome; connecting again\n", c->idx, c->name,
			    why);
		c->retries++;
		st.reconnects++;
		conn_shut(c);
		if (c->refused) {
			c->refused = 0;
			c->retry_at = now_s() + RETRY_PAUSE_S *
			    (double)(1 << (c->retries - 1));
			st.waiting++;
		} else
			conn_open(c, client_addr(servers, c->idx));
		return;
	}
	if (opt.verbose)
		fprintf(stderr, "chatbench: client %d (%s): %s\n", c->idx,
		    c->name, why);
	c->dead = 1;
	st.dead++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* Read what is there (a few reads at most) and handle what is complete. */
static void
conn_read(struct conn *c)
{
	ssize_t		 n;
	size_t		 len, used;
	uint64_t	 t;
	int		 round;

	for (round = 0; round < 4; round++) {
		if (c->carry_len + 65536 > rbuf_cap) {
			rbuf_cap = (c->carry_len + 65536) * 2;
			rbuf = xrealloc(rbuf, rbuf_cap);
		}
		if (c->carry_len > 0)
			memcpy(rbuf, c->carry, c->carry_len);
		n = io_read(c, rbuf + c->carry_len, rbuf_cap - c->carry_len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_dead(c, n == 0 ? "closed by the server" :
			    strerror(errno));
			return;
		}
		t = now_ns();
		last_input = t;
		len = c->carry_len + (size_t)n;
		if (opt.proto == P_REDIS)
			used = redis_input(c, rbuf, len, t);
		else if (opt.ws)
			used = ws_input(c, rbuf, len, t);
		else
			used = chatd_input(c, rbuf, len, t);
		if (c->fd == -1)
			return;		/* a churner or spammer, gone */
		c->carry_len = len - used;
		if (c->carry_len > c->carry_cap) {
			c->carry_cap = c->carry_len * 2;
			c->carry = xrealloc(c->carry, c->carry_cap);
		}
		if (c->carry_len > 0)
			memcpy(c->carry, rbuf + used, c->carry_len);
		if ((size_t)n < rbuf_cap - (len - (size_t)n) &&
		    (c->ssl == NULL || SSL_pending(c->ssl) == 0))
			return;		/* short read: drained */
		if (c->ssl != NULL)
			round = 0;	/* no event would announce the rest */
	}
}

/*
 * Close c as a client that leaves does (a FIN, not a reset) and forget
 * what it had read, so that its slot can connect again.
 */
static void
conn_shut(struct conn *c)
{
	if (c->fd == -1)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->handshaking = c->ws_up = 0;
	c->welcomed = c->onlined = c->pollout = 0;
	c->carry_len = c->olen = c->ooff = 0;
}

static void
set_pollout(struct conn *c, int on)
{
	struct epoll_event	ev;

	if (c->pollout == on || c->slow)
		return;
	c->pollout = on;
	if (c->handshaking)
		return;		/* conn_handshake() watches for itself */
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.u32 = (uint32_t)c->idx;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what the kernel takes of c's output. */
static void
conn_write(struct conn *c)
{
	ssize_t	n;

	while (c->ooff < c->olen) {
		n = io_write(c, c->obuf + c->ooff, c->olen - c->ooff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOTCONN)
				break;
			conn_dead(c, strerror(errno));
			return;
		}
		c->ooff += (size_t)n;
	}
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
	set_pollout(c, c->olen > 0);
}

/* Room in c's output buffer for n more bytes. */
static char *
conn_reserve(struct conn *c, size_t n)
{
	if (c->ooff > 0 && c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (c->olen + n > c->ocap) {
		c->ocap = (c->olen + n) * 2;
		c->obuf = xrealloc(c->obuf, c->ocap);
	}
	return (c->obuf + c->olen);
}

/* Queue the sender's next line, stamped with ts, and write it. */
static void
send_one(struct conn *c, uint64_t ts)
{
	char	*p, hdr[64];
	int	 n, h = 0;

	if (opt.proto == P_REDIS)
		h = snprintf(hdr, sizeof hdr, "*3\r\n$7\r\nPUBLISH\r\n$%d\r\n"
		    "%s\r\n$%d\r\n", (int)strlen(CHANNEL), CHANNEL, opt.bytes);
	else if (opt.ws) {
		/* A masked text frame; a zero mask leaves the bytes as they
		 * are, so the generator spends nothing on masking. */
		hdr[h++] = (char)0x81;
		if (opt.bytes <= 125)
			hdr[h++] = (char)(0x80 | opt.bytes);
		else if (opt.bytes <= 65535) {
			hdr[h++] = (char)(0x80 | 126);
			hdr[h++] = (char)(opt.bytes >> 8);
			hdr[h++] = (char)opt.bytes;
		} else {
			hdr[h++] = (char)(0x80 | 127);
			memset(hdr + h, 0, 5);
			h += 5;
			hdr[h++] = (char)(opt.bytes >> 16);
			hdr[h++] = (char)(opt.bytes >> 8);
			hdr[h++] = (char)opt.bytes;
		}
		memset(hdr + h, 0, 4);
		h += 4;
	}
	p = conn_reserve(c, (size_t)h + (size_t)opt.bytes + 2);
	memcpy(p, hdr, (size_t)h);
	p += h;
	c->sent++;
	n = snprintf(p, (size_t)opt.bytes + 1, "%d %" PRIu64 " %" PRIu64 " ",
	    c->sender, c->sent, ts);
	if (n < opt.bytes)
		memset(p + n, 'x', (size_t)(opt.bytes - n));
	p += opt.bytes;
	if (opt.proto == P_REDIS)
		*p++ = '\r';
	if (!opt.ws)
		*p++ = '\n';
	c->olen = (size_t)(p - c->obuf);
	if (!c->pollout)
		conn_write(c);
}

/* Whether sender c may send another line. */
static int
may_send(const struct conn *c, double t, double t_stop)
{
	if (c->dead || phase != 2)
		return (0);
	if (opt.lines > 0 ? c->sent >= opt.lines : t >= t_stop)
		return (0);
	return (c->sent - c->acked < (uint64_t)opt.window &&
	    (opt.rate <= 0. || c->next_at <= t));
}

/*
 * Let every sender send what its window and rate allow.  At a fixed rate a
 * line carries the time it was due, not the time it was written, so a
 * sender held back by its window or by a slow loop counts that delay.
 */
static void
pump(double t, double t_stop)
{
	struct conn	*c;
	double		 per = opt.rate / (double)opt.nsenders;
	int		 i;

	for (i = 0; i < opt.nsenders; i++) {
		c = &conns[i];
		while (may_send(c, t, t_stop)) {
			if (opt.rate > 0.) {
				send_one(c, (uint64_t)(c->next_at * 1e9));
				c->next_at += 1. / per;
			} else
				send_one(c, now_ns());
		}
	}
}

/* When the next sender is due (rate mode), or -1 if none is. */
static double
pump_next(double t_stop)
{
	double	next = -1.;
	int	i;

	if (opt.rate <= 0.)
		return (-1.);
	for (i = 0; i < opt.nsenders; i++) {
		if (conns[i].dead || conns[i].sent - conns[i].acked >=
		    (uint64_t)opt.window || (opt.lines > 0 ?
		    conns[i].sent >= opt.lines : conns[i].next_at >= t_stop))
			continue;
		if (next < 0. || conns[i].next_at < next)
			next = conns[i].next_at;
	}
	return (next);
}

/*
 * Wake up at time t (seconds, CLOCK_MONOTONIC): epoll_wait() counts in
 * milliseconds, too coarse for a line due every half millisecond, so the
 * rate is kept with a timerfd.
 */
static void
timer_arm(double t)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)t;
	its.it_value.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm it */
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		die("timerfd_settime: %s", strerror(errno));
}

/*
 * Open a connection to the server.  With several sources, client i binds
 * 127.0.0.(1 + i % sources) first: each source address has its own range
 * of ephemeral ports, so tens of thousands of clients do not run out.
 */
static void
conn_open(struct conn *c, const struct sockaddr_in *sin)
{
	struct epoll_event	ev;
	struct sockaddr_in	me;
	socklen_t		mlen = sizeof me;
	int			one = 1, small = 4096;
	char			ip[INET_ADDRSTRLEN];
	static const char	hello[] = "HELLO 3\r\nSUBSCRIBE " CHANNEL "\r\n";
	static const char	upgrade[] = "GET /ws HTTP/1.1\r\n"
	    "Host: chatbench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		die("socket: %s (raise the limit with ulimit -n)",
		    strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c->slow)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	if (c->extra == EXTRA_SPAM)
		st.spam_connects++;
	if (opt.sources > 1 || c->extra == EXTRA_SPAM) {
		memset(&me, 0, sizeof me);
		me.sin_family = AF_INET;
		me.sin_addr.s_addr = htonl(c->extra == EXTRA_SPAM ?
		    0x7f0000feu : 0x7f000001u +
		    (uint32_t)(c->idx % opt.sources));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		if (bind(c->fd, (struct sockaddr *)&me, sizeof me) == -1)
			die("bind: %s", strerror(errno));
	}
	if (connect(c->fd, (const struct sockaddr *)sin, sizeof *sin) == -1 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	if (getsockname(c->fd, (struct sockaddr *)&me, &mlen) == -1)
		die("getsockname: %s", strerror(errno));
	inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
	snprintf(c->name, sizeof c->name, "%s:%u", ip, ntohs(me.sin_port));
	if (opt.proto == P_REDIS) {
		/* Queued now, written once the connection is up. */
		memcpy(conn_reserve(c, sizeof hello - 1), hello,
		    sizeof hello - 1);
		c->olen += sizeof hello - 1;
	} else if (opt.ws) {
		memcpy(conn_reserve(c, sizeof upgrade - 1), upgrade,
		    sizeof upgrade - 1);
		c->olen += sizeof upgrade - 1;
	} else if (!c->slow) {
		/*
		 * A blank line, which chatd ignores: should the server's
		 * kernel have dropped the connection from a full accept
		 * queue, it answers this with a reset, and the client knows
		 * to connect again instead of waiting for ever.
		 */
		memcpy(conn_reserve(c, 1), "\n", 1);
		c->olen += 1;
	}
	c->t_connect = now_ns();
	if (opt.tls) {
		if ((c->ssl = SSL_new(tls_ctx)) == NULL ||
		    !SSL_set_fd(c->ssl, c->fd))
			die("SSL_new: out of memory");
		SSL_set_connect_state(c->ssl);
		c->handshaking = 1;
	} else if (c->slow && opt.proto == P_CHATD)
		return;		/* never polled: it never reads */
	/* Polled for the end of connect(); with TLS, for the handshake. */
	ev.events = EPOLLIN | (c->olen > 0 || c->handshaking ? EPOLLOUT : 0);
	c->pollout = c->olen > 0;
	ev.data.u32 = (uint32_t)c->idx;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/*
 * The address client i connects to: with a cluster's ports, the senders
 * to the first node, the others to each node in turn.
 */
static const struct sockaddr_in *
client_addr(const struct sockaddr_in *sin, int i)
{
	if (i < opt.nsenders)
		return (&sin[0]);
	return (&sin[i % opt.nports]);
}

/* utime + stime of process pid in seconds, or -1. */
static double
proc_cpu(int pid)
{
	char		 path[64], buf[1024], *p;
	FILE		*f;
	unsigned long	 ut, stt;
	size_t		 n;

	if (pid <= 0)
		return (-1.);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1.);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1.);
	/* after ") ": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &stt) != 2)
		return (-1.);
	return ((double)(ut + stt) / (double)sysconf(_SC_CLK_TCK));
}

/* utime + stime of the server (of all of a cluster's) in seconds, or -1. */
static double
server_cpu(void)
{
	double	sum = 0., v;
	int	i;

	if (opt.npids == 0)
		return (-1.);
	for (i = 0; i < opt.npids; i++) {
		if ((v = proc_cpu(opt.pids[i])) < 0.)
			return (-1.);
		sum += v;
	}
	return (sum);
}

/*
 * The server's read and write system calls so far (syscr and syscw of
 * /proc/PID/io: read, readv, write, writev and the like), or -1.
 */
static void
server_syscalls(long long *r, long long *w)
{
	char	 path[64], line[128];
	FILE	*f;

	int	 i;

	*r = *w = -1;
	for (i = 0; i < opt.npids; i++) {
		snprintf(path, sizeof path, "/proc/%d/io", opt.pids[i]);
		if ((f = fopen(path, "r")) == NULL) {
			*r = *w = -1;
			return;
		}
		while (fgets(line, sizeof line, f) != NULL) {
			if (strncmp(line, "syscr:", 6) == 0)
				*r = (*r < 0 ? 0 : *r) +
				    strtoll(line + 6, NULL, 10);
			else if (strncmp(line, "syscw:", 6) == 0)
				*w = (*w < 0 ? 0 : *w) +
				    strtoll(line + 6, NULL, 10);
		}
		fclose(f);
	}
}

/* This process's user + system CPU time in seconds. */
static double
self_cpu(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return (0.);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
}

/* A "VmRSS:"-style field of the server's status in kB (summed over a
 * cluster's), or -1. */
static long
server_status_kb(const char *key)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 v = -1;
	size_t	 klen = strlen(key);
	int	 i;

	for (i = 0; i < opt.npids; i++) {
		snprintf(path, sizeof path, "/proc/%d/status", opt.pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			return (-1);
		while (fgets(line, sizeof line, f) != NULL) {
			if (strncmp(line, key, klen) == 0) {
				v = (v < 0 ? 0 : v) +
				    strtol(line + klen, NULL, 10);
				break;
			}
		}
		fclose(f);
	}
	return (v);
}

static const struct option longopts[] = {
	{ "proto",	required_argument, NULL, 'x' },
	{ "host",	required_argument, NULL, 'H' },
	{ "port",	required_argument, NULL, 'p' },
	{ "clients",	required_argument, NULL, 'n' },
	{ "senders",	required_argument, NULL, 's' },
	{ "lines",	required_argument, NULL, 'm' },
	{ "duration",	required_argument, NULL, 't' },
	{ "rate",	required_argument, NULL, 'r' },
	{ "size",	required_argument, NULL, 'b' },
	{ "window",	required_argument, NULL, 'w' },
	{ "slow",	required_argument, NULL, 'k' },
	{ "who-flood",	required_argument, NULL, 'F' },
	{ "idle",	no_argument,	   NULL, 'i' },
	{ "pid",	required_argument, NULL, 'P' },
	{ "watch",	required_argument, NULL, 'W' },
	{ "sources",	required_argument, NULL, 'S' },
	{ "ramp",	required_argument, NULL, 'R' },
	{ "deadline",	required_argument, NULL, 'd' },
	{ "upgrade",	required_argument, NULL, 'U' },
	{ "tls",	no_argument,	   NULL, 'T' },
	{ "ws",		no_argument,	   NULL, 'X' },
	{ "storm",	no_argument,	   NULL, 'O' },
	{ "churn",	required_argument, NULL, 'C' },
	{ "surge",	required_argument, NULL, 'G' },
	{ "join-spam",	required_argument, NULL, 'J' },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: chatbench -p PORT [options]\n"
"Load generator for chatd (and Redis pub/sub); see chatbench(1).\n"
"\n"
"  -x, --proto P       chatd (default) or redis: HELLO 3, SUBSCRIBE and\n"
"                      PUBLISH to a redis-server\n"
"  -H, --host ADDR     the server's IPv4 address (default 127.0.0.1)\n"
"  -p, --port PORT     the server's port (required); PORT,PORT,... for\n"
"                      the nodes of a cluster: the senders connect to the\n"
"                      first, the other clients to each in turn\n"
"  -n, --clients N     clients that read everything (default 100)\n"
"  -s, --senders S     of which this many send (default: min(10, N);\n"
"                      with --idle, 1)\n"
"  -m, --lines M       lines each sender sends (default 1000)\n"
"  -t, --duration D    send for D seconds instead of M lines; with\n"
"                      --idle, how long the clients sit (default 2)\n"
"  -r, --rate R        lines per second over all senders, spread evenly\n"
"                      (default 0: as fast as the window allows)\n"
"  -b, --size B        bytes per line, 32..65536 (default 64)\n"
"  -w, --window W      lines a sender may have sent but not yet seen\n"
"                      come back (default 16)\n"
"  -k, --slow K        add K clients that never read (receive buffer\n"
"                      4 KiB), joined after the others\n"
"  -F, --who-flood W   each --slow client sends \"who\" W times (1..64)\n"
"                      a third of the way into the talk (with --lines,\n"
"                      when the lines start)\n"
"  -J, --join-spam J   J more clients from 127.0.0.254 connect again as\n"
"                      soon as each is welcomed, refused or closed,\n"
"                      through the middle third of the talk (needs\n"
"                      --duration); latencies are also reported by\n"
"                      third: before, during and after\n"
"  -i, --idle          connect, let the clients sit, report the server's\n"
"                      RSS per connection (needs --pid), then broadcast\n"
"                      one line that every client must receive\n"
"  -P, --pid PID       the server's process: its CPU time (/proc/PID/stat)\n"
"                      and RSS (/proc/PID/status) are reported;\n"
"                      PID,PID,... for a cluster's nodes, summed\n"
"  -W, --watch PID     another process (a cluster's redis-server): its CPU\n"
"                      time while the lines are sent, apart\n"
"  -S, --sources K     bind clients to 127.0.0.1 .. 127.0.0.K round-robin\n"
"                      (default: one per %d clients, on a loopback host)\n"
"  -R, --ramp C        connections waiting for their welcome at once\n"
"                      (default 100)\n"
"  -d, --deadline D    give up after D seconds in all (default 120)\n"
"  -U, --upgrade T     T seconds into the chat, send SIGUSR2 to --pid (a\n"
"                      chatd upgrade) and report the longest wait any\n"
"                      client had between two lines\n"
"  -T, --tls           speak TLS (a full handshake per client, the server\n"
"                      not verified); the handshake times are reported\n"
"  -X, --ws            chatd over WebSocket: PORT is its [websocket] port;\n"
"                      every client upgrades at /ws, each line is a frame\n"
"  -O, --storm         once all are in, drop every client at once and\n"
"                      reconnect them all at once; time the welcomes\n"
"  -C, --churn R       R extra clients a second join and leave while the\n"
"                      room talks (needs --duration)\n"
"  -G, --surge M       M extra clients connect at once a third of the way\n"
"                      into the talk (needs --duration)\n"
"  -v, --verbose       progress and oddities on stderr (twice: more)\n"
"  -h, --help          this text\n"
"\n"
"Prints a line for people, then a line of key=value pairs.  Exit status:\n"
"0 if every line arrived in order before the deadline, 1 if not, 2 on a\n"
"usage or setup error.\n", SOURCES_PER);
	exit(status);
}

static double
num(const char *name, const char *s, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "chatbench: --%s: %s is not a number from %g "
		    "to %g\n", name, s, lo, hi);
		usage(2);
	}
	return (v);
}

/* A comma-separated list of whole numbers in [lo, hi]: their count. */
static int
num_list(const char *name, const char *s, double lo, double hi, int *out)
{
	char	 item[32];
	size_t	 len;
	int	 n = 0;

	for (;;) {
		len = strcspn(s, ",");
		if (n == MAX_PORTS || len == 0 || len >= sizeof item) {
			fprintf(stderr, "chatbench: --%s: a list of at most %d "
			    "numbers, not %s\n", name, MAX_PORTS, s);
			usage(2);
		}
		memcpy(item, s, len);
		item[len] = '\0';
		out[n++] = (int)num(name, item, lo, hi);
		if (s[len] == '\0')
			return (n);
		s += len + 1;
	}
}

static void
parse_args(int argc, char **argv)
{
	int	ch, i;

	while ((ch = getopt_long(argc, argv,
	    "x:H:p:n:s:m:t:r:b:w:k:F:iP:W:S:R:d:U:TXOC:G:J:vh", longopts, NULL)) != -1) {
		for (i = 0; longopts[i].name != NULL; i++)
			if (longopts[i].val == ch)
				break;
		switch (ch) {
		case 'x':
			if (strcmp(optarg, "chatd") == 0)
				opt.proto = P_CHATD;
			else if (strcmp(optarg, "redis") == 0)
				opt.proto = P_REDIS;
			else
				die("--proto: chatd or redis, not %s", optarg);
			break;
		case 'H': opt.host = optarg; break;
		case 'X': opt.ws = 1; break;
		case 'p':
			opt.nports = num_list(longopts[i].name, optarg, 1, 65535,
			    opt.ports);
			opt.port = opt.ports[0];
			break;
		case 'n':
			opt.nclients = (int)num(longopts[i].name, optarg, 1,
			    1000000);
			break;
		case 's':
			opt.nsenders = (int)num(longopts[i].name, optarg, 0,
			    1000000);
			break;
		case 'm':
			opt.lines = (uint64_t)num(longopts[i].name, optarg, 1,
			    4e9);
			break;
		case 't':
			opt.duration = num(longopts[i].name, optarg, 0.001, 1e6);
			break;
		case 'r':
			opt.rate = num(longopts[i].name, optarg, 0, 1e9);
			break;
		case 'b':
			opt.bytes = (int)num(longopts[i].name, optarg, 32, 65536);
			break;
		case 'w':
			opt.window = (int)num(longopts[i].name, optarg, 1, 1e6);
			break;
		case 'k':
			opt.nslow = (int)num(longopts[i].name, optarg, 0, 1e6);
			break;
		case 'F':
			opt.whoflood = (int)num(longopts[i].name, optarg, 1, 64);
			break;
		case 'i': opt.idle = 1; break;
		case 'P':
			opt.npids = num_list(longopts[i].name, optarg, 1,
			    1 << 30, opt.pids);
			opt.pid = opt.pids[0];
			break;
		case 'W':
			opt.watch = (int)num(longopts[i].name, optarg, 1,
			    1 << 30);
			break;
		case 'S':
			opt.sources = (int)num(longopts[i].name, optarg, 1, 254);
			break;
		case 'R':
			opt.ramp = (int)num(longopts[i].name, optarg, 1, 1e6);
			break;
		case 'd':
			opt.deadline = num(longopts[i].name, optarg, 0.1, 1e6);
			break;
		case 'U':
			opt.upgrade = num(longopts[i].name, optarg, 0.001, 1e6);
			break;
		case 'T': opt.tls = 1; break;
		case 'O': opt.storm = 1; break;
		case 'C':
			opt.churn = num(longopts[i].name, optarg, 0, 10000);
			break;
		case 'G':
			opt.surge = (int)num(longopts[i].name, optarg, 0, 1e6);
			break;
		case 'J':
			opt.joinspam = (int)num(longopts[i].name, optarg, 0,
			    10000);
			break;
		case 'v': opt.verbose++; break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		die("unexpected argument %s", argv[optind]);
	if (opt.port == 0)
		die("--port is required (see --help)");
	if (opt.lines > 0 && opt.duration > 0. && !opt.idle)
		die("--lines and --duration exclude each other");
	if (opt.ws && opt.proto != P_CHATD)
		die("--ws is for chatd");
	if (opt.ws && opt.nslow > 0)
		die("--slow and --ws exclude each other (a client that never "
		    "reads could not upgrade)");
	if (opt.idle) {
		if (opt.pid == 0)
			die("--idle needs the server's --pid");
		if (opt.nsenders < 0)
			opt.nsenders = 1;
		if (opt.duration == 0.)
			opt.duration = 2.;
		opt.lines = 1;
		opt.rate = 0.;
	} else if (opt.lines == 0 && opt.duration == 0.)
		opt.lines = 1000;
	if (opt.upgrade > 0. && (opt.pid == 0 || opt.npids > 1 ||
	    opt.idle || opt.proto != P_CHATD))
		die("--upgrade needs one chatd's --pid, and no --idle");
	if (opt.nsenders < 0)
		opt.nsenders = opt.nclients < 10 ? opt.nclients : 10;
	if (opt.nsenders > opt.nclients)
		die("more senders than clients");
	if (opt.nsenders == 0 && !opt.idle)
		die("no senders");
	if ((opt.storm || opt.churn > 0. || opt.surge > 0) &&
	    opt.proto != P_CHATD)
		die("--storm, --churn and --surge are for chatd");
	if ((opt.churn > 0. || opt.surge > 0) && (opt.idle || opt.lines > 0))
		die("--churn and --surge need a --duration of talk");
	if (opt.joinspam > 0 && (opt.idle || opt.lines > 0 ||
	    opt.proto != P_CHATD || strncmp(opt.host, "127.", 4) != 0))
		die("--join-spam needs chatd on a loopback --host and a "
		    "--duration of talk");
	if (opt.sources == 0) {
		opt.sources = strncmp(opt.host, "127.", 4) == 0 ?
		    (opt.nclients * (opt.storm ? 2 : 1) + opt.nslow +
		    opt.surge + (int)(opt.churn * opt.duration)) /
		    SOURCES_PER + 1 : 1;
		if (opt.sources > 253)
			opt.sources = 253;
	} else if (opt.sources > 1 && strncmp(opt.host, "127.", 4) != 0)
		die("--sources needs a loopback --host");
}

/* Raise the descriptor limit as far as allowed; check it is enough. */
static void
raise_nofile(int total)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)total + 16)
		die("RLIMIT_NOFILE %llu is too low for %d clients (the hard "
		    "limit is raised with ulimit -Hn as root)",
		    (unsigned long long)rl.rlim_cur, total);
}

/*
 * Each slow client sends "who" --who-flood times: at most 256 bytes, which
 * a new socket's send buffer takes at once; the answers are never read.
 */
static void
who_flood(int from, int to)
{
	char	buf[4 * 64];
	int	i, n;

	for (n = 0; n < opt.whoflood; n++)
		memcpy(buf + 4 * n, "who\n", 4);
	for (i = from; i < to; i++) {
		if (conns[i].dead)
			continue;
		if (write(conns[i].fd, buf, (size_t)(4 * opt.whoflood)) == -1 &&
		    opt.verbose)
			fprintf(stderr, "chatbench: who flood: %s\n",
			    strerror(errno));
	}
}

/* Whether every reader has its welcome and its online line. */
static int
all_welcomed(int nreaders)
{
	return (st.welcomes + (uint64_t)st.dead >= (uint64_t)nreaders &&
	    st.onlines + (uint64_t)st.dead >= (uint64_t)nreaders);
}

/*
 * Whether the join notices are all in: every one counted, or (a server
 * that gathers them, so that no count can be foretold) nothing came for
 * QUIET_S.
 */
static int
joins_settled(uint64_t expect_joins, double t)
{
	return (st.joins >= expect_joins ||
	    t >= (double)last_input / 1e9 + QUIET_S);
}

/* Whether every reader has joined (chatd: and the notices settled). */
static int
all_joined(int nreaders, uint64_t expect_joins, double t)
{
	return (all_welcomed(nreaders) && joins_settled(expect_joins, t));
}

/*
 * The storm: every reader drops at once, and at once connects again; the
 * join phase starts over.
 */
static void
storm_start(const struct sockaddr_in *sin, int nreaders)
{
	int	i;

	for (i = 0; i < nreaders; i++)
		conn_shut(&conns[i]);
	st.welcomes = st.onlines = st.joins = 0;
	for (i = 0; i < nreaders; i++)
		conn_open(&conns[i], client_addr(sin, i));
}

/* Open the next free churn slot: one more client joins (and leaves). */
static void
churn_one(const struct sockaddr_in *sin, int first)
{
	static int	next;
	int		i, k;

	for (k = 0; k < nchurn; k++) {
		i = first + (next + k) % nchurn;
		if (conns[i].fd == -1) {
			conn_open(&conns[i], client_addr(sin, i));
			next = (next + k + 1) % nchurn;
			return;
		}
	}
	st.errors++;	/* every slot still waits for its welcome */
}

/* Count the readers that already have target lines. */
static void
count_finished(int nreaders)
{
	int	i;

	st.finished = 0;
	for (i = 0; i < nreaders; i++)
		if (conns[i].got >= target)
			st.finished++;
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[MAX_EVENTS], tev;
	struct sockaddr_in	 sin[MAX_PORTS];
	struct linger		 lg = { 1, 0 };
	struct conn		*c;
	uint64_t		 t_start, t_joined = 0, t_chat = 0, t_end = 0;
	uint64_t		 expect_joins, expected, lost, sent;
	double			 t, deadline, t_stop = 0., cpu0 = -1.;
	double			 cpu1 = -1., jcpu0, jcpu1 = -1., me0 = 0.;
	double			 wcpu0 = -1., wcpu1 = -1.;
	double			 me1 = 0., el, srv_pct, me_pct, next_due;
	uint64_t		 expirations;
	long			 rss0, rss_idle = -1, rss_kb, hwm_kb;
	long long		 sr0 = -1, sw0 = -1, sr1 = -1, sw1 = -1;
	int			 i, n, total, nall, next = 0, ramping;
	int			 stormed = 0, surged = 0, surge_next = 0;
	int			 attacked = 0, nspam0;
	uint64_t		 t_welcomed = 0, t_storm = 0, t_storm_done = 0;
	double			 scpu0 = -1., scpu1 = -1., churn_at = 0.;
	int			 timed_out = 0, to, ok, nreaders;
	const char		*pname;

	parse_args(argc, argv);
	pname = opt.proto == P_CHATD ? "chatd" : "redis";
	if (opt.tls) {
		if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new: out of memory");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	total = opt.nclients + opt.nslow;
	/* A churner lives for one round trip: a few slots a second's worth. */
	nchurn = opt.churn > 0. ? (int)opt.churn + 16 : 0;
	nall = total + nchurn + opt.surge + opt.joinspam;
	raise_nofile(nall);

	conns = calloc((size_t)nall, sizeof *conns);
	lastseq = calloc((size_t)opt.nclients * (size_t)(opt.nsenders + 1),
	    sizeof *lastseq);
	rbuf_cap = RBUF_INITIAL;
	rbuf = malloc(rbuf_cap);
	if (conns == NULL || lastseq == NULL || rbuf == NULL)
		die("out of memory");
	for (i = 0; i < nall; i++) {
		conns[i].idx = i;
		conns[i].fd = -1;
		conns[i].sender = i < opt.nsenders ? i : -1;
		conns[i].slow = i >= opt.nclients && i < total;
		conns[i].extra = i < total ? 0 : i < total + nchurn ?
		    EXTRA_CHURN : i < total + nchurn + opt.surge ?
		    EXTRA_SURGE : EXTRA_SPAM;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		die("timerfd_create: %s", strerror(errno));
	tev.events = EPOLLIN;
	tev.data.u32 = TIMER_TAG;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	memset(&sin, 0, sizeof sin);
	servers = sin;
	for (i = 0; i < opt.nports; i++) {
		sin[i].sin_family = AF_INET;
		sin[i].sin_port = htons((uint16_t)opt.ports[i]);
		if (inet_pton(AF_INET, opt.host, &sin[i].sin_addr) != 1)
			die("%s: not an IPv4 address", opt.host);
	}

	rss0 = server_status_kb("VmRSS:");
	jcpu0 = server_cpu();
	t_start = now_ns();
	deadline = (double)t_start / 1e9 + opt.deadline;
	nreaders = opt.nclients;
	nspam0 = total + nchurn + opt.surge;
	expect_joins = opt.proto == P_CHATD ?
	    (uint64_t)nreaders * (uint64_t)(nreaders - 1) / 2 : 0;
	target = opt.lines > 0 ? (uint64_t)opt.nsenders * opt.lines :
	    UINT64_MAX;

	for (;;) {
		t = now_s();
		if (t >= deadline) {
			timed_out = 1;
			break;
		}
		for (i = 0; st.waiting > 0 && i < nall; i++)
			if (conns[i].retry_at > 0. && conns[i].retry_at <= t) {
				conns[i].retry_at = 0.;
				st.waiting--;
				conn_open(&conns[i], client_addr(sin, i));
			}
		if (phase == 0) {
			/* keep at most opt.ramp connections unwelcomed */
			ramping = next - (int)st.welcomes - st.dead;
			while (next < opt.nclients && ramping < opt.ramp) {
				conn_open(&conns[next], client_addr(sin, next));
				next++;
				ramping++;
			}
			if (t_welcomed == 0 && all_welcomed(nreaders))
				t_welcomed = now_ns();
			if (stormed && t_storm_done == 0 &&
			    all_welcomed(nreaders)) {
				t_storm_done = now_ns();
				scpu1 = server_cpu();
			}
			if (stormed && all_joined(nreaders, 0, t)) {
				phase = 1;	/* the slow ones are in already */
				goto wait;
			}
			if (all_joined(nreaders, expect_joins, t)) {
				t_joined = now_ns();
				jcpu1 = server_cpu();
				if (opt.verbose)
					fprintf(stderr, "chatbench: %d joined "
					    "in %.3f s\n", nreaders,
					    (double)(t_joined - t_start) / 1e9);
				phase = 1;
				for (i = opt.nclients; i < total; i++)
					conn_open(&conns[i], client_addr(sin, i));
				if (opt.proto == P_CHATD)
					expect_joins += (uint64_t)nreaders *
					    (uint64_t)opt.nslow;
			}
		}
		if (phase == 1 && opt.idle) {
			/* sit: read what comes, measure once all is quiet */
			if (t < (double)t_joined / 1e9 + opt.duration ||
			    t < (double)last_input / 1e9 + QUIET_S ||
			    !joins_settled(expect_joins, t))
				goto wait;
			if (rss_idle < 0)
				rss_idle = server_status_kb("VmRSS:");
		}
		if (phase == 1 && opt.storm && !stormed &&
		    joins_settled(expect_joins, t)) {
			stormed = 1;
			phase = 0;
			if (opt.verbose)
				fprintf(stderr, "chatbench: the storm\n");
			scpu0 = server_cpu();
			t_storm = now_ns();
			storm_start(sin, nreaders);
			goto wait;
		}
		if (phase == 1 && joins_settled(expect_joins, t) &&
		    (opt.proto == P_CHATD || st.welcomes >= (uint64_t)total)) {
			for (i = nreaders; i < total; i++)
				if (opt.proto == P_REDIS && !conns[i].dead)
					epoll_ctl(ep, EPOLL_CTL_DEL,
					    conns[i].fd, NULL);
			phase = 2;
			if (opt.whoflood > 0 && opt.proto == P_CHATD &&
			    opt.lines > 0)
				who_flood(nreaders, total);
			server_syscalls(&sr0, &sw0);
			cpu0 = server_cpu();
			wcpu0 = proc_cpu(opt.watch);
			me0 = self_cpu();
			t_chat = t_chat_ns = now_ns();
			t = (double)t_chat / 1e9;
			t_stop = t + opt.duration;
			/* rate mode: spread the senders over one interval */
			for (i = 0; i < opt.nsenders; i++)
				conns[i].next_at = opt.rate > 0. ? t +
				    (double)i / opt.rate : t;
			churn_at = t;
		}
		if (phase == 2 && opt.upgrade > 0. && st.t_upgrade == 0 &&
		    t >= (double)t_chat / 1e9 + opt.upgrade) {
			if (kill(opt.pid, SIGUSR2) == -1)
				die("--upgrade: pid %d: %s", opt.pid,
				    strerror(errno));
			st.t_upgrade = now_ns();
		}
		if (phase == 2) {
			while (opt.churn > 0. && churn_at <= t && t < t_stop) {
				churn_one(sin, total);
				churn_at += 1. / opt.churn;
			}
			if (opt.surge > 0 && !surged &&
			    t >= (double)t_chat / 1e9 + opt.duration / 3.) {
				surged = 1;
				st.t_surge = now_ns();
				surge_next = total + nchurn;
			}
			/* A few hundred a turn: the generator keeps reading
			 * the room's chat while it connects the crowd. */
			for (i = 0; surged && surge_next < nall &&
			    i < SURGE_STEP; i++, surge_next++)
				conn_open(&conns[surge_next],
				    client_addr(sin, surge_next));
			/* The attacks: the middle third of the talk. */
			if (opt.lines == 0 && !attacked && t >= (double)t_chat /
			    1e9 + opt.duration / 3.) {
				attacked = 1;
				if (opt.whoflood > 0 && opt.proto == P_CHATD)
					who_flood(nreaders, total);
			}
			for (i = nspam0; attacked && i < nall; i++) {
				if (t < (double)t_chat / 1e9 + 2. *
				    opt.duration / 3.) {
					if (conns[i].fd == -1)
						conn_open(&conns[i],
						    client_addr(sin, i));
				} else
					conn_shut(&conns[i]);
			}
			pump(t, t_stop);
			if (opt.lines == 0 && t >= t_stop) {
				/* duration over: wait for what was sent */
				phase = 3;
				for (sent = 0, i = 0; i < opt.nsenders; i++)
					sent += conns[i].sent;
				target = sent;
				count_finished(nreaders);
			}
		}
		if (phase >= 2 && (uint64_t)st.finished + (uint64_t)st.dead >=
		    (uint64_t)nreaders && st.surge_welcomes >= (uint64_t)(surged ?
		    opt.surge : 0)) {
			t_end = now_ns();
			break;
		}
wait:
		to = (int)((deadline - t) * 1000.) + 1;
		if (phase == 2) {
			next_due = pump_next(t_stop);
			if (opt.lines == 0 && (next_due < 0. || next_due > t_stop))
				next_due = t_stop;
			if (opt.churn > 0. && churn_at < t_stop &&
			    (next_due < 0. || churn_at < next_due))
				next_due = churn_at;
			if ((opt.joinspam > 0 || opt.whoflood > 0) &&
			    opt.lines == 0 && t < (double)t_chat / 1e9 +
			    2. * opt.duration / 3. && (next_due < 0. ||
			    next_due > t + 0.01))
				next_due = t + 0.01;	/* spam comes again */
			if (next_due >= 0. && next_due <= t)
				to = 0;
			else if (next_due >= 0.)
				timer_arm(next_due);
		}
		if (to > 100)
			to = 100;
		n = epoll_wait(ep, evs, MAX_EVENTS, to);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == TIMER_TAG) {
				if (read(tfd, &expirations, sizeof expirations) ==
				    -1 && errno != EAGAIN)
					die("timerfd: %s", strerror(errno));
				continue;
			}
			c = &conns[evs[i].data.u32];
			if (c->dead)
				continue;
			if (c->handshaking) {
				conn_handshake(c);
				if (c->handshaking || c->dead || c->slow)
					continue;
			}
			if (evs[i].events & EPOLLOUT)
				conn_write(c);
			if (!c->dead && (evs[i].events &
			    (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(c);
		}
	}
	if (t_end == 0)
		t_end = now_ns();
	if (phase >= 2) {
		cpu1 = server_cpu();
		wcpu1 = proc_cpu(opt.watch);
		me1 = self_cpu();
		server_syscalls(&sr1, &sw1);
	}
	rss_kb = server_status_kb("VmRSS:");
	hwm_kb = server_status_kb("VmHWM:");
	if (t_joined == 0)
		t_joined = t_end;
	if (t_chat == 0)
		t_chat = t_end;
	el = (double)(t_end - t_chat) / 1e9;

	for (sent = 0, i = 0; i < opt.nsenders; i++)
		sent += conns[i].sent;
	expected = (uint64_t)nreaders * sent;
	lost = expected > st.deliveries ? expected - st.deliveries : 0;
	ok = !timed_out && lost == 0 && st.reordered == 0 && st.bad == 0 &&
	    st.dead == 0 && st.errors == 0 && st.drops_other == 0 &&
	    (!opt.storm || t_storm_done > 0) &&
	    st.surge_welcomes == (uint64_t)opt.surge;
	srv_pct = cpu0 >= 0. && cpu1 >= 0. && el > 0. ?
	    100. * (cpu1 - cpu0) / el : -1.;
	me_pct = el > 0. ? 100. * (me1 - me0) / el : -1.;

	if (opt.storm)
		printf("%s: storm: %d clients dropped and reconnected at once, "
		    "all welcomed again in %.2f s (server CPU %.2f s)\n", pname,
		    nreaders, t_storm_done > t_storm ? (double)(t_storm_done -
		    t_storm) / 1e9 : -1., scpu0 >= 0. && scpu1 >= 0. ?
		    scpu1 - scpu0 : -1.);
	if (opt.churn > 0. || opt.surge > 0)
		printf("%s: %" PRIu64 " churners joined and left; %" PRIu64
		    " of %d surging clients welcomed in %.2f s\n", pname,
		    st.churns, st.surge_welcomes, opt.surge,
		    st.t_surge_done > st.t_surge ? (double)(st.t_surge_done -
		    st.t_surge) / 1e9 : -1.);
	if (opt.idle)
		printf("%s: %d idle clients joined in %.2f s; server RSS %.1f "
		    "MiB -> %.1f MiB, %.0f bytes per connection; a broadcast "
		    "reached %" PRIu64 " of %d in %.1f ms%s\n", pname,
		    nreaders, (double)(t_joined - t_start) / 1e9,
		    (double)rss0 / 1024., (double)rss_idle / 1024.,
		    rss_idle >= 0 && rss0 >= 0 ? (double)(rss_idle - rss0) *
		    1024. / nreaders : -1., st.deliveries, nreaders, el * 1e3,
		    ok ? "" : " (FAILED)");
	else
		printf("%s: %d clients, %d senders, %d B%s: %.3g M deliveries/s"
		    ", p50 %.3g ms, p99 %.3g ms, max %.3g ms, lost %" PRIu64
		    "; CPU: server %.0f %%, chatbench %.0f %%; longest wait "
		    "%.3g ms%s%s\n", pname,
		    nreaders, opt.nsenders, opt.bytes, opt.rate > 0. ?
		    " at a fixed rate" : "", el > 0. ?
		    (double)st.deliveries / el / 1e6 : 0.,
		    (double)hist_quantile(0.50) / 1e6,
		    (double)hist_quantile(0.99) / 1e6, (double)st.lat_max / 1e6,
		    lost, srv_pct, me_pct, (double)st.gap_max / 1e6,
		    st.t_upgrade != 0 ? " (upgraded)" : "", ok ? "" : " (FAILED)");
	if (st.refusals > 0)
		printf("%s: the server refused %" PRIu64 " connections before "
		    "their welcome, the first with \"%s\"; each tried again "
		    "after a pause (-S spreads clients over more addresses)\n",
		    pname, st.refusals, st.refusal);
	if ((opt.whoflood > 0 || opt.joinspam > 0) && opt.lines == 0)
		printf("%s: the attack (%s%s%s): p50/p99 %.3g/%.3g ms before, "
		    "%.3g/%.3g ms during, %.3g/%.3g ms after; join spam: %"
		    PRIu64 " connects, %" PRIu64 " welcomed, %" PRIu64
		    " refused\n", pname,
		    opt.whoflood > 0 ? "who flood" : "",
		    opt.whoflood > 0 && opt.joinspam > 0 ? ", " : "",
		    opt.joinspam > 0 ? "join spam" : "",
		    (double)hist_quantile_of(hist3[0], 0.50) / 1e6,
		    (double)hist_quantile_of(hist3[0], 0.99) / 1e6,
		    (double)hist_quantile_of(hist3[1], 0.50) / 1e6,
		    (double)hist_quantile_of(hist3[1], 0.99) / 1e6,
		    (double)hist_quantile_of(hist3[2], 0.50) / 1e6,
		    (double)hist_quantile_of(hist3[2], 0.99) / 1e6,
		    st.spam_connects, st.spam_welcomes, st.spam_refused);
	printf("proto=%s mode=%s clients=%d senders=%d slow=%d who_flood=%d "
	    "lines=%" PRIu64
	    " duration=%g bytes=%d window=%d rate=%g sources=%d sent=%" PRIu64
	    " expected=%" PRIu64 " deliveries=%" PRIu64 " join_s=%.3f"
	    " join_srv_cpu_s=%.2f elapsed_s=%.3f deliveries_per_s=%.0f"
	    " p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f"
	    " lost=%" PRIu64 " reordered=%" PRIu64 " dead=%d"
	    " slow_dropped=%" PRIu64 " other_dropped=%" PRIu64
	    " slow_drop_s=%.3f slow_drop_lines=%" PRIu64
	    " errors=%" PRIu64 " bad=%" PRIu64 " other=%" PRIu64
	    " srv_cpu_s=%.2f bench_cpu_s=%.2f srv_cpu_pct=%.0f"
	    " bench_cpu_pct=%.0f srv_reads=%lld srv_writes=%lld"
	    " watch_cpu_s=%.2f watch_cpu_pct=%.0f"
	    " srv_rss0_kb=%ld srv_rss_idle_kb=%ld"
	    " rss_per_conn_b=%.0f srv_rss_kb=%ld srv_hwm_kb=%ld"
	    " gap_max_us=%.1f upgraded=%d"
	    " welcome_s=%.3f tls=%d handshakes=%" PRIu64 " handshake_mean_us=%.1f"
	    " handshake_max_us=%.1f storm=%d storm_s=%.3f storm_srv_cpu_s=%.2f"
	    " churn=%g churns=%" PRIu64 " surge=%d surge_welcomed=%" PRIu64
	    " surge_s=%.3f reconnects=%" PRIu64 " refusals=%" PRIu64
	    " join_spam=%d spam_connects=%" PRIu64 " spam_welcomed=%" PRIu64
	    " spam_refused=%" PRIu64
	    " p50_before_us=%.1f p99_before_us=%.1f"
	    " p50_during_us=%.1f p99_during_us=%.1f"
	    " p50_after_us=%.1f p99_after_us=%.1f complete=%d\n",
	    pname, opt.idle ? "idle" : "chat", opt.nclients, opt.nsenders,
	    opt.nslow, opt.whoflood, opt.lines, opt.duration, opt.bytes,
	    opt.window,
	    opt.rate, opt.sources, sent, expected, st.deliveries,
	    (double)(t_joined - t_start) / 1e9,
	    jcpu0 >= 0. && jcpu1 >= 0. ? jcpu1 - jcpu0 : -1., el,
	    el > 0. ? (double)st.deliveries / el : 0.,
	    (double)hist_quantile(0.50) / 1e3,
	    (double)hist_quantile(0.90) / 1e3,
	    (double)hist_quantile(0.99) / 1e3, (double)st.lat_max / 1e3,
	    lost, st.reordered, st.dead, st.drops_slow, st.drops_other,
	    st.t_slow_drop > t_chat ? (double)(st.t_slow_drop - t_chat) / 1e9 :
	    -1., st.slow_drop_lines, st.errors, st.bad, st.other,
	    cpu0 >= 0. && cpu1 >= 0. ? cpu1 - cpu0 : -1., me1 - me0,
	    srv_pct, me_pct, sr0 >= 0 && sr1 >= 0 ? sr1 - sr0 : -1,
	    sw0 >= 0 && sw1 >= 0 ? sw1 - sw0 : -1,
	    wcpu0 >= 0. && wcpu1 >= 0. ? wcpu1 - wcpu0 : -1.,
	    wcpu0 >= 0. && wcpu1 >= 0. && el > 0. ? 100. * (wcpu1 - wcpu0) /
	    el : -1., rss0, rss_idle,
	    rss_idle >= 0 && rss0 >= 0 ? (double)(rss_idle - rss0) * 1024. /
	    nreaders : -1., rss_kb, hwm_kb, (double)st.gap_max / 1e3,
	    st.t_upgrade != 0, t_welcomed > 0 ?
	    (double)(t_welcomed - t_start) / 1e9 : -1., opt.tls, st.handshakes,
	    st.handshakes > 0 ? (double)st.hs_sum / (double)st.handshakes /
	    1e3 : -1., (double)st.hs_max / 1e3,
	    opt.storm, t_storm_done > t_storm ? (double)(t_storm_done -
	    t_storm) / 1e9 : -1., scpu0 >= 0. && scpu1 >= 0. ? scpu1 - scpu0 :
	    -1., opt.churn, st.churns, opt.surge, st.surge_welcomes,
	    st.t_surge_done > st.t_surge ? (double)(st.t_surge_done -
	    st.t_surge) / 1e9 : -1., st.reconnects, st.refusals,
	    opt.joinspam, st.spam_connects, st.spam_welcomes, st.spam_refused,
	    (double)hist_quantile_of(hist3[0], 0.50) / 1e3,
	    (double)hist_quantile_of(hist3[0], 0.99) / 1e3,
	    (double)hist_quantile_of(hist3[1], 0.50) / 1e3,
	    (double)hist_quantile_of(hist3[1], 0.99) / 1e3,
	    (double)hist_quantile_of(hist3[2], 0.50) / 1e3,
	    (double)hist_quantile_of(hist3[2], 0.99) / 1e3, !timed_out);
	fflush(stdout);

	/* No TIME_WAIT pile-up across runs: reset, do not close. */
	for (i = 0; i < nall; i++) {
		if (conns[i].fd != -1) {
			setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof lg);
			close(conns[i].fd);
		}
		SSL_free(conns[i].ssl);
	}
	SSL_CTX_free(tls_ctx);
	return (ok ? 0 : 1);
}
