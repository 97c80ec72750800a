/*
 * chatbench: a load generator for chatd.
 *
 * One process, one thread, epoll, libc only.  Connects N clients to a chatd
 * on 127.0.0.1 (at most -R connections waiting for their welcome at once),
 * waits until every client has its welcome and online lines and every join
 * notice has arrived, then lets S of them send M chat lines each.  Every
 * client reads everything.  A line carries its sender's index, a sequence
 * number and the CLOCK_MONOTONIC time it was written:
 *
 *     "<sender> <seq> <t_ns> xxxx...xxxx\n"      (B bytes before the LF)
 *
 * and comes back to everyone as "[<name>]: <text>\r\n".  The tool counts
 * deliveries, checks that each receiver sees each sender's lines in order,
 * and keeps a histogram of delivery latency (read time - embedded time).
 *
 * Sending is closed-loop: a sender has at most W lines outstanding, a line
 * being acknowledged when its own echo comes back; with -r it also keeps to
 * a rate.  The latency measured is therefore that of a server kept as busy
 * as W allows (with -r: at that offered load), not of an idle one.
 *
 * -k K adds K clients that never read (SO_RCVBUF set small before connect):
 * they join after the others, and the tool counts the notices
 * "* <name> dropped (too slow)" naming them.
 *
 * Prints one line of key=value pairs.  Exit status: 0 when every line
 * arrived, in order, before the deadline; 1 otherwise; 2 on a usage or
 * setup error.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_LEN	64
#define RBUF_INITIAL	(256 * 1024)
#define MAX_EVENTS	512

/* Histogram of nanoseconds: exact below 1024, then 512 steps per octave. */
#define H_SUB		512
#define H_BUCKETS	(1024 + 54 * H_SUB)

struct conn {
	int		 fd;
	int		 idx;
	int		 slow;		/* never reads */
	int		 dead;
	int		 welcomed;
	int		 onlined;
	int		 sender;	/* sender index, or -1 */
	char		 name[NAME_MAX_LEN];
	char		*carry;		/* a partial line from the last read */
	size_t		 carry_len, carry_cap;
	uint64_t	 got;		/* chat lines received */
	/* sender only */
	uint64_t	 sent, acked;
	double		 next_at;	/* rate mode: when the next line is due */
	char		*obuf;		/* written, not yet taken by the kernel */
	size_t		 olen, ooff;
	int		 pollout;
};

static struct {
	const char	*host;
	int		 port;
	int		 nclients, nsenders, nslow;
	uint64_t	 msgs;
	int		 bytes, window, ramp;
	double		 rate, deadline_s;
	int		 server_pid;
	int		 verbose;
} opt = {
	"127.0.0.1", 0, 100, 10, 0, 1000, 100, 16, 100, 0., 60., 0, 0
};

static struct conn	*conns;
static int		 ep;
static char		*rbuf;
static size_t		 rbuf_cap;
static uint32_t		*lastseq;	/* [receiver][sender], 0 = none yet */
static uint64_t		 hist[H_BUCKETS];

static struct {
	uint64_t	 welcomes, onlines, joins, drops_slow, drops_other;
	uint64_t	 other, errors, chat_early;
	uint64_t	 deliveries, reordered, bad;
	uint64_t	 lat_max;
	uint64_t	 t_slow_drop;	/* first notice naming a slow client */
	uint64_t	 slow_drop_lines; /* chat lines its receiver had then */
	int		 dead, finished;
} st;

static int	phase;		/* 0 joining, 1 slow joining, 2 chatting */

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

static void
hist_add(uint64_t v)
{
	int	msb, shift;
	size_t	i;

	if (v > st.lat_max)
		st.lat_max = v;
	if (v < 1024) {
		hist[v]++;
		return;
	}
	msb = 63 - __builtin_clzll(v);
	shift = msb - 9;
	if (shift > 54)
		shift = 54;
	i = 1024 + (size_t)(shift - 1) * H_SUB +
	    (size_t)(((v >> shift) & (H_SUB - 1)));
	if (i >= H_BUCKETS)
		i = H_BUCKETS - 1;
	hist[i]++;
}

/* The value at quantile q (0..1), the middle of its bucket. */
static uint64_t
hist_quantile(double q)
{
	uint64_t	total = 0, want, acc = 0;
	size_t		i;
	int		shift;

	for (i = 0; i < H_BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return (0);
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < H_BUCKETS; i++) {
		acc += hist[i];
		if (acc > want)
			break;
	}
	if (i < 1024)
		return (i);
	shift = (int)((i - 1024) / H_SUB) + 1;
	return ((((uint64_t)(H_SUB + (i - 1024) % H_SUB)) << shift) +
	    ((uint64_t)1 << (shift - 1)));
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

/* One line (CRLF stripped) received by c at time t. */
static void
handle_line(struct conn *c, const char *s, size_t len, uint64_t t)
{
	const char	*p, *end = s + len;
	uint64_t	 snd, seq, ts;
	uint32_t	*last;
	size_t		 i;

	if (len > 0 && s[0] == '[') {
		p = memchr(s, ']', len);
		if (p == NULL || end - p < 3 || p[1] != ':' || p[2] != ' ') {
			st.bad++;
			return;
		}
		p += 3;
		if (parse_u64(&p, end, &snd) || parse_u64(&p, end, &seq) ||
		    parse_u64(&p, end, &ts) || snd >= (uint64_t)opt.nsenders) {
			st.bad++;
			return;
		}
		if (phase < 2) {
			st.chat_early++;
			return;
		}
		c->got++;
		st.deliveries++;
		if (c->got == (uint64_t)opt.nsenders * opt.msgs)
			st.finished++;
		hist_add(t > ts ? t - ts : 0);
		last = &lastseq[(size_t)c->idx * (size_t)opt.nsenders + snd];
		if (seq != (uint64_t)*last + 1)
			st.reordered++;
		if (seq > *last)
			*last = (uint32_t)seq;
		if (c->sender == (int)snd)
			c->acked++;
		return;
	}
	if (len > 0 && s[0] == '!') {
		st.errors++;
		if (opt.verbose)
			fprintf(stderr, "client %d: %.*s\n", c->idx, (int)len, s);
		return;
	}
	if (len >= 10 && memcmp(s, "* welcome ", 10) == 0) {
		c->welcomed = 1;
		st.welcomes++;
		if (len - 10 != strlen(c->name) ||
		    memcmp(s + 10, c->name, len - 10) != 0)
			st.bad++;
		return;
	}
	if (len >= 10 && memcmp(s, "* online (", 10) == 0) {
		c->onlined = 1;
		st.onlines++;
		return;
	}
	if (has_suffix(s, len, " joined")) {
		st.joins++;
		return;
	}
	if (has_suffix(s, len, " dropped (too slow)")) {
		for (i = 0; i < (size_t)opt.nclients + (size_t)opt.nslow; i++) {
			if (!conns[i].slow)
				continue;
			if (len == 2 + strlen(conns[i].name) + 19 &&
			    memcmp(s + 2, conns[i].name,
			    strlen(conns[i].name)) == 0)
				break;
		}
		if (i < (size_t)opt.nclients + (size_t)opt.nslow) {
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

static void
conn_dead(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	if (opt.verbose)
		fprintf(stderr, "chatbench: client %d (%s): %s\n", c->idx,
		    c->name, why);
	c->dead = 1;
	st.dead++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
}

/* Read what is there (a few reads at most) and handle the whole lines. */
static void
conn_read(struct conn *c)
{
	ssize_t		 n;
	size_t		 len, start, i;
	uint64_t	 t;
	char		*nl;
	int		 round;

	for (round = 0; round < 4; round++) {
		if (c->carry_len + 65536 > rbuf_cap) {
			rbuf_cap = (c->carry_len + 65536) * 2;
			if ((rbuf = realloc(rbuf, rbuf_cap)) == NULL)
				die("out of memory");
		}
		if (c->carry_len > 0)
			memcpy(rbuf, c->carry, c->carry_len);
		n = read(c->fd, rbuf + c->carry_len, rbuf_cap - c->carry_len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_dead(c, n == 0 ? "closed by the server" :
			    strerror(errno));
			return;
		}
		t = now_ns();
		len = c->carry_len + (size_t)n;
		start = 0;
		while (start < len &&
		    (nl = memchr(rbuf + start, '\n', len - start)) != NULL) {
			i = (size_t)(nl - rbuf);
			handle_line(c, rbuf + start,
			    i > start && rbuf[i - 1] == '\r' ?
			    i - 1 - start : i - start, t);
			start = i + 1;
		}
		c->carry_len = len - start;
		if (c->carry_len > c->carry_cap) {
			c->carry_cap = c->carry_len * 2;
			if ((c->carry = realloc(c->carry, c->carry_cap)) ==
			    NULL)
				die("out of memory");
		}
		if (c->carry_len > 0)
			memcpy(c->carry, rbuf + start, c->carry_len);
		if ((size_t)n < rbuf_cap - (len - (size_t)n))
			return;		/* short read: drained */
	}
}

static void
set_pollout(struct conn *c, int on)
{
	struct epoll_event	ev;

	if (c->pollout == on)
		return;
	c->pollout = on;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.u32 = (uint32_t)c->idx;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_write(struct conn *c)
{
	ssize_t	n;

	while (c->ooff < c->olen) {
		n = write(c->fd, c->obuf + c->ooff, c->olen - c->ooff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
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

/* Queue the sender's next line and write it. */
static void
send_one(struct conn *c)
{
	char	*p;
	int	 n;

	p = c->obuf + c->olen;
	c->sent++;
	n = snprintf(p, (size_t)opt.bytes + 1, "%d %" PRIu64 " %" PRIu64 " ",
	    c->sender, c->sent, now_ns());
	if (n < opt.bytes)
		memset(p + n, 'x', (size_t)(opt.bytes - n));
	p[opt.bytes] = '\n';
	c->olen += (size_t)opt.bytes + 1;
	if (!c->pollout)
		conn_write(c);
}

/* Let every sender send what its window and rate allow. */
static void
pump(double t)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < opt.nsenders; i++) {
		c = &conns[i];
		if (c->dead)
			continue;
		while (c->sent < opt.msgs && c->sent - c->acked <
		    (uint64_t)opt.window && (opt.rate <= 0. || c->next_at <= t)) {
			send_one(c);
			if (opt.rate > 0.)
				c->next_at += 1. / opt.rate;
			if (c->dead)
				break;
		}
	}
}

/* Milliseconds until the next sender is due (rate mode), or -1. */
static int
pump_wait_ms(double t)
{
	double	next = -1.;
	int	i;

	if (opt.rate <= 0.)
		return (-1);
	for (i = 0; i < opt.nsenders; i++) {
		if (conns[i].dead || conns[i].sent >= opt.msgs ||
		    conns[i].sent - conns[i].acked >= (uint64_t)opt.window)
			continue;
		if (next < 0. || conns[i].next_at < next)
			next = conns[i].next_at;
	}
	if (next < 0.)
		return (-1);
	return (next <= t ? 0 : (int)((next - t) * 1000.) + 1);
}

static void
conn_open(struct conn *c, struct sockaddr_in *sin)
{
	struct epoll_event	ev;
	struct sockaddr_in	me;
	socklen_t		mlen = sizeof me;
	int			one = 1, small = 4096;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c->slow)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	if (connect(c->fd, (struct sockaddr *)sin, sizeof *sin) == -1 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	if (getsockname(c->fd, (struct sockaddr *)&me, &mlen) == -1)
		die("getsockname: %s", strerror(errno));
	snprintf(c->name, sizeof c->name, "%s:%u", opt.host,
	    ntohs(me.sin_port));
	if (c->slow)
		return;		/* never polled: it never reads */
	ev.events = EPOLLIN;
	ev.data.u32 = (uint32_t)c->idx;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/* utime + stime of the server in seconds, or -1. */
static double
server_cpu(void)
{
	char		 path[64], buf[1024], *p;
	FILE		*f;
	unsigned long	 ut, stt;
	size_t		 n;

	if (opt.server_pid <= 0)
		return (-1.);
	snprintf(path, sizeof path, "/proc/%d/stat", opt.server_pid);
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

/* A "VmRSS:"-style field of the server's status in kB, or -1. */
static long
server_status_kb(const char *key)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 v = -1;
	size_t	 klen = strlen(key);

	if (opt.server_pid <= 0)
		return (-1);
	snprintf(path, sizeof path, "/proc/%d/status", opt.server_pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (v);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: chatbench -p port [-n clients] [-s senders] [-m msgs]\n"
	    "                 [-b bytes] [-w window] [-r rate] [-R ramp]\n"
	    "                 [-k slow] [-d deadline_s] [-P server_pid] [-v]\n"
	    "  -p port     chatd's port on 127.0.0.1\n"
	    "  -n N        clients that read (default 100)\n"
	    "  -s S        of which send (default min(10, N))\n"
	    "  -m M        lines per sender (default 1000)\n"
	    "  -b B        bytes per line before the LF, >= 32 (default 100)\n"
	    "  -w W        lines a sender may have unechoed (default 16)\n"
	    "  -r R        lines per second per sender (default: no pacing)\n"
	    "  -R C        connections awaiting their welcome at once "
	    "(default 100)\n"
	    "  -k K        clients that never read, joined last (default 0)\n"
	    "  -d D        give up after D seconds in all (default 60)\n"
	    "  -P pid      sample this chatd's CPU time and memory\n"
	    "  -v          progress and oddities on stderr (-vv: more)\n");
	exit(2);
}

static long
num(const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		usage();
	return (v);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[MAX_EVENTS];
	struct sockaddr_in	 sin;
	struct rlimit		 rl;
	struct linger		 lg = { 1, 0 };
	struct conn		*c;
	uint64_t		 t_start, t_chat = 0, t_end = 0, expect_joins;
	double			 t, deadline, cpu0 = -1., cpu1 = -1., el;
	double			 me0 = 0., me1 = 0.;
	uint64_t		 expected, lost;
	long			 rss_kb, hwm_kb;
	int			 ch, i, n, total, next = 0, ramping = 0;
	int			 timed_out = 0, to, ok, nreaders;

	opt.nsenders = -1;
	while ((ch = getopt(argc, argv, "p:n:s:m:b:w:r:R:k:d:P:vh")) != -1) {
		switch (ch) {
		case 'p': opt.port = (int)num(optarg, 1, 65535); break;
		case 'n': opt.nclients = (int)num(optarg, 1, 1000000); break;
		case 's': opt.nsenders = (int)num(optarg, 0, 1000000); break;
		case 'm': opt.msgs = (uint64_t)num(optarg, 0, 100000000); break;
		case 'b': opt.bytes = (int)num(optarg, 32, 100000); break;
		case 'w': opt.window = (int)num(optarg, 1, 1000000); break;
		case 'r': opt.rate = strtod(optarg, NULL); break;
		case 'R': opt.ramp = (int)num(optarg, 1, 1000000); break;
		case 'k': opt.nslow = (int)num(optarg, 0, 1000000); break;
		case 'd': opt.deadline_s = strtod(optarg, NULL); break;
		case 'P': opt.server_pid = (int)num(optarg, 1, 1 << 30); break;
		case 'v': opt.verbose++; break;
		default: usage();
		}
	}
	if (opt.port == 0 || optind != argc || opt.deadline_s <= 0.)
		usage();
	if (opt.nsenders < 0)
		opt.nsenders = opt.nclients < 10 ? opt.nclients : 10;
	if (opt.nsenders > opt.nclients)
		die("more senders than clients");

	total = opt.nclients + opt.nslow;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)total + 16)
		die("RLIMIT_NOFILE %llu is too low for %d clients",
		    (unsigned long long)rl.rlim_cur, total);

	conns = calloc((size_t)total, sizeof *conns);
	lastseq = calloc((size_t)opt.nclients * (size_t)(opt.nsenders + 1),
	    sizeof *lastseq);
	rbuf_cap = RBUF_INITIAL;
	rbuf = malloc(rbuf_cap);
	if (conns == NULL || lastseq == NULL || rbuf == NULL)
		die("out of memory");
	for (i = 0; i < total; i++) {
		conns[i].idx = i;
		conns[i].fd = -1;
		conns[i].sender = i < opt.nsenders ? i : -1;
		conns[i].slow = i >= opt.nclients;
		if (conns[i].sender >= 0 &&
		    (conns[i].obuf = malloc(((size_t)opt.bytes + 1) *
		    (size_t)opt.window)) == NULL)
			die("out of memory");
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.host, &sin.sin_addr) != 1)
		die("bad address");

	t_start = now_ns();
	deadline = (double)t_start / 1e9 + opt.deadline_s;
	nreaders = opt.nclients;
	expect_joins = (uint64_t)nreaders * (uint64_t)(nreaders - 1) / 2;

	for (;;) {
		t = now_s();
		if (t >= deadline) {
			timed_out = 1;
			break;
		}
		if (phase == 0) {
			/* keep at most opt.ramp connections unwelcomed */
			ramping = next - (int)st.welcomes;
			while (next < opt.nclients && ramping < opt.ramp) {
				conn_open(&conns[next++], &sin);
				ramping++;
			}
			if (st.welcomes + (uint64_t)st.dead >=
			    (uint64_t)nreaders && st.onlines + (uint64_t)st.dead
			    >= (uint64_t)nreaders && st.joins >= expect_joins) {
				if (opt.verbose)
					fprintf(stderr, "chatbench: %d joined "
					    "in %.3f s\n", nreaders,
					    (double)(now_ns() - t_start) / 1e9);
				phase = 1;
				for (i = opt.nclients; i < total; i++)
					conn_open(&conns[i], &sin);
				expect_joins += (uint64_t)nreaders *
				    (uint64_t)opt.nslow;
			}
		}
		if (phase == 1 && st.joins >= expect_joins) {
			phase = 2;
			cpu0 = server_cpu();
			me0 = self_cpu();
			t_chat = now_ns();
			t = (double)t_chat / 1e9;
			/* rate mode: spread the senders over one interval */
			for (i = 0; i < opt.nsenders; i++)
				conns[i].next_at = opt.rate > 0. ? t + (double)i /
				    (opt.rate * (double)opt.nsenders) : t;
		}
		if (phase == 2) {
			pump(t);
			if ((uint64_t)st.finished + (uint64_t)st.dead >=
			    (uint64_t)nreaders || opt.nsenders == 0 ||
			    opt.msgs == 0) {
				t_end = now_ns();
				break;
			}
		}
		to = (int)((deadline - t) * 1000.) + 1;
		if (phase == 2 && (n = pump_wait_ms(t)) >= 0 && n < to)
			to = n;
		if (to > 100)
			to = 100;
		n = epoll_wait(ep, evs, MAX_EVENTS, to);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			c = &conns[evs[i].data.u32];
			if (c->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_write(c);
			if (!c->dead && (evs[i].events &
			    (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(c);
		}
	}
	if (t_end == 0)
		t_end = now_ns();
	if (phase == 2) {
		cpu1 = server_cpu();
		me1 = self_cpu();
	}
	rss_kb = server_status_kb("VmRSS:");
	hwm_kb = server_status_kb("VmHWM:");
	if (t_chat == 0)
		t_chat = t_end;
	el = (double)(t_end - t_chat) / 1e9;

	expected = (uint64_t)nreaders * (uint64_t)opt.nsenders * opt.msgs;
	lost = expected > st.deliveries ? expected - st.deliveries : 0;
	ok = !timed_out && lost == 0 && st.reordered == 0 && st.bad == 0 &&
	    st.dead == 0 && st.errors == 0 && st.drops_other == 0;
	printf("clients=%d senders=%d slow=%d msgs=%" PRIu64 " bytes=%d "
	    "window=%d rate=%g expected=%" PRIu64 " deliveries=%" PRIu64
	    " join_s=%.3f elapsed_s=%.3f deliveries_per_s=%.0f "
	    "p50_us=%.1f p99_us=%.1f max_us=%.1f "
	    "lost=%" PRIu64 " reordered=%" PRIu64 " dead=%d "
	    "slow_dropped=%" PRIu64 " other_dropped=%" PRIu64
	    " slow_drop_s=%.3f slow_drop_lines=%" PRIu64
	    " errors=%" PRIu64 " bad=%" PRIu64
	    " srv_cpu_s=%.2f bench_cpu_s=%.2f srv_rss_kb=%ld srv_hwm_kb=%ld"
	    " complete=%d\n",
	    opt.nclients, opt.nsenders, opt.nslow, opt.msgs, opt.bytes,
	    opt.window, opt.rate, expected, st.deliveries,
	    (double)(t_chat - t_start) / 1e9, el,
	    el > 0. ? (double)st.deliveries / el : 0.,
	    (double)hist_quantile(0.50) / 1e3,
	    (double)hist_quantile(0.99) / 1e3, (double)st.lat_max / 1e3,
	    lost, st.reordered, st.dead, st.drops_slow, st.drops_other,
	    st.t_slow_drop > t_chat ? (double)(st.t_slow_drop - t_chat) / 1e9 :
	    -1., st.slow_drop_lines, st.errors, st.bad,
	    cpu0 >= 0. && cpu1 >= 0. ? cpu1 - cpu0 : -1., me1 - me0,
	    rss_kb, hwm_kb,
	    !timed_out);
	fflush(stdout);

	/* No TIME_WAIT pile-up across runs: reset, do not close. */
	for (i = 0; i < total; i++) {
		if (conns[i].fd != -1) {
			setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof lg);
			close(conns[i].fd);
		}
	}
	return (ok ? 0 : 1);
}
