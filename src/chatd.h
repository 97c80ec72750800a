/*
 * chatd - a line-based TCP chat room server.
 *
 * One header for the whole daemon, in the tmux manner: structures first,
 * then the prototypes of each file under a comment naming it.  The data
 * flow of a line, by file:
 *
 *   listener.c  accept() per listener kind, connection limits, EMFILE
 *               back-off
 *   transport.c a connection: readiness, handshake, buffered input
 *   sock.c      the plain TCP transport: read(), writev(), shutdown()
 *   memconn.c   the in-memory transport: simulated users (luatest.c)
 *   tls.c       the TLS transport (OpenSSL): records, handshake, context
 *   client.c    input, rate limit, idle timer, close and reap
 *   telnet.c    telnet commands and CR NUL taken out of the input
 *   linebuf.c   framing of the byte stream into lines
 *   budget.c    the output memory budget: soft limit, server-wide sum
 *   lograte.c   log lines of one kind rate-limited and summarised
 *   text.c      UTF-8 repair, control stripping, name rules
 *   name.c      names that cannot pass for others: rules, comparison key
 *   spoof.c     ICU: NFKC, UTS #39 skeletons and identifier profile
 *   plugin.c    plugin files and hooks: every event handed to Lua
 *   command.c   the command table: names, arguments, usage
 *   oper.c      operators: [operators] hashes, attempts, --hash-password
 *   wait.c      commands that wait for a cluster's answer
 *   script.c    the Lua state: limits, budgets, protected calls
 *   sandbox.c   what plugin code may reach, library functions under budget
 *   api.c       user handles and the room as plugins see it
 *   timer.c     plugin timers
 *   registry.c  users by id and by name, broadcast
 *   room.c      the room backend: what else hears of a broadcast or a join
 *   cluster.c   the room shared with other servers through Redis: its
 *               link's events, joining, heartbeats (cluster_room.c: this
 *               server's users; cluster_peer.c: the other servers)
 *   clmsg.c     the messages on the cluster's channel, built and parsed
 *   redis.c     the link to Redis: hiredis async on the loop, strictly
 *   outq.c      shared output buffers, handed to the transport in runs
 *   server.c    the loop: flush, reap, signals, reload, shutdown
 *
 * Beside that path:
 *   metrics.c   the counters every file bumps, in Prometheus's format
 *   http.c      the HTTP door: one request read, one response written
 *   exporter.c  the /metrics listener
 *   web.c       the [websocket] listener: the web page, the upgrade
 *   ws.c        the WebSocket transport: wslay's framing over TCP/TLS
 *   systemd.c   readiness, watchdog and sockets from systemd
 *   upgrade.c   a new binary takes over every socket (SIGUSR2)
 *   ustate.c    the state it is handed, as bytes
 *   luatest.c   chatd --plugin-test: plugin tests in Lua, users in memory
 *   clock.c     the loop's clock, which the tests can stop and move
 */

#ifndef CHATD_H
#define CHATD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(HAVE_EV_H)
#include <ev.h>
#elif defined(HAVE_LIBEV_EV_H)
#include <libev/ev.h>
#else
#include <ev.h>
#endif

/* A parameter that a callback's signature needs and its body does not. */
#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif

#define CHATD_NAME_MAX		32	/* bytes in a chosen name */
#define CHATD_ADDR_MAX		64	/* "[v6 address]:port" and NUL */
#define CHATD_LINGER		5.0	/* seconds to flush a closing client */
#define CHATD_RATE_SWEEP	1024	/* connect buckets kept before a sweep */
#define CHATD_READ_CHUNK	4096	/* bytes a throttled reader waits for */
#define CHATD_UNSENT_POLL	0.1	/* seconds between checks that the
					   kernel sent a finished client's
					   last bytes */
#define CHATD_ACCEPT_BATCH	64	/* accepts per listener event */
#define CHATD_EMFILE_PAUSE	1.0	/* seconds the listener rests */
#define CHATD_FD_SPARE		16	/* descriptors kept for files */
#define CHATD_IOV_MAX		256	/* iovecs per writev() */
#define CHATD_HOUSEKEEPING	1.0	/* seconds between memory checks */
#define CHATD_CLEAN_MAX		10.0	/* seconds a busy server goes uncleaned */
#define CHATD_LISTENER_MAX	8	/* listeners: rows of listener_kinds */
#define CHATD_WORD_MAX		64	/* bytes in a room or node name */

/* The struct holding member m, from a pointer to that member. */
#define container_of(p, type, m) \
	((type *)(void *)((char *)(p) - offsetof(type, m)))

#define CHATD_LEAVE_QUIT	"quit"
#define CHATD_LEAVE_CLOSED	"closed"
#define CHATD_LEAVE_TIMEOUT	"timeout"
#define CHATD_LEAVE_SLOW	"slow"
#define CHATD_LEAVE_SHUTDOWN	"shutdown"
#define CHATD_LEAVE_LOST	"lost"		/* their server was lost */
#define CHATD_LEAVE_UPGRADE	"upgrade"	/* cannot move to the new process */
#define CHATD_LEAVE_REFUSED	"refused"	/* a join hook refused the user */

struct server;
struct script;
struct config;
struct cluster;
struct ustate_cluster;
struct peer;

/* log.c */
enum log_level {
	LL_ERROR,
	LL_WARN,
	LL_INFO,
	LL_DEBUG
};
void		 log_set_level(int);
void		 log_set_syslog(int);
void		 log_set_tee_errors(int);
void		 log_set_capture(void (*)(int, const char *, const char *));
int		 log_level_parse(const char *);
const char	*log_level_name(int);
void		 log_msg(int, const char *, ...)
		     __attribute__((format(printf, 2, 3)));
void		 log_vmsg(int, const char *, va_list)
		     __attribute__((format(printf, 2, 0)));
void		 log_text(int, const char *, const char *, size_t);
size_t		 log_escape(char *, size_t, const char *, size_t);
void		 fatal(const char *, ...)
		     __attribute__((format(printf, 1, 2), noreturn));
#define log_error(...)	log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LL_DEBUG, __VA_ARGS__)

/* clock.c */
void		 clock_freeze(void);
void		 clock_advance(long long);

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);

/* budget.c */
void		 budget_check(struct server *);

/* lograte.c */
enum lograte_kind {
	LOGRATE_CONNECT,
	LOGRATE_LEAVE,
	LOGRATE_REFUSE,
	LOGRATE_RENAME,
	LOGRATE_COUNT
};
void		 lograte_set_burst(long long);
int		 lograte_allow(enum lograte_kind, ev_tstamp, const char *);
void		 lograte_tick(ev_tstamp);

/* text.c */
#define TEXT_CLEAN_MAX(n)	((n) * 3)	/* worst case of text_clean */
size_t		 text_clean(const char *, size_t, char *);
int		 text_is_blank(const char *, size_t);
int		 text_utf8_valid(const char *, size_t);
size_t		 text_utf8_decode(const unsigned char *, size_t, long *);
const char	*text_name_error(const char *, size_t);

/* name.c */
char		*name_fold(const char *, size_t, size_t *);
char		*name_fold_text(const char *, size_t, size_t *);
const char	*name_check(const char *, size_t, char **, size_t *);

/* telnet.c */
struct telnet {
	unsigned char	 state;		/* where in a command sequence */
	unsigned char	 cr;		/* the last text byte was a CR */
};
void		 telnet_init(struct telnet *);
size_t		 telnet_filter(struct telnet *, char *, size_t);

/* linebuf.c */
struct linebuf {
	char		*data;
	size_t		 start;		/* first unconsumed byte */
	size_t		 len;		/* end of data read so far */
	size_t		 cap;
	size_t		 max_line;	/* longest line, terminator excluded */
	int		 discarding;	/* inside a line already refused */
};
enum linebuf_event {
	LB_NONE,		/* need more input */
	LB_LINE,		/* a complete line of acceptable length */
	LB_TOOLONG		/* a line over max_line was dropped */
};
void		 linebuf_init(struct linebuf *, size_t);
void		 linebuf_free(struct linebuf *);
void		 linebuf_set_max(struct linebuf *, size_t);
void		 linebuf_release(struct linebuf *);
char		*linebuf_space(struct linebuf *, size_t *);
void		 linebuf_commit(struct linebuf *, size_t);
int		 linebuf_next(struct linebuf *, const char **, size_t *);

/* map.c */
struct map_entry {
	struct map_entry *next;
	uint32_t	 hash;
	size_t		 klen;
	void		*value;
	unsigned char	 key[];
};
struct map {
	struct map_entry **buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 count;
	uint32_t	 seed;
};
void		 map_init(struct map *);
void		 map_free(struct map *);
void		*map_get(const struct map *, const void *, size_t);
void		 map_put(struct map *, const void *, size_t, void *);
void		*map_del(struct map *, const void *, size_t);
void		 map_sweep(struct map *, int (*)(void *, void *), void *);

/* idmap.c */
struct idmap_slot {
	uint64_t	 id;		/* 0: empty */
	void		*value;
};
struct idmap {
	struct idmap_slot *slots;
	size_t		 nslots;	/* a power of two */
	size_t		 count;
};
void		 idmap_init(struct idmap *);
void		 idmap_free(struct idmap *);
void		*idmap_get(const struct idmap *, uint64_t);
void		 idmap_put(struct idmap *, uint64_t, void *);
void		*idmap_del(struct idmap *, uint64_t);

/* transport.c */
/*
 * A connection: one socket and the transport that moves its bytes.  The
 * owner of a connection (a chat client) keeps lines, queues, limits and
 * timers; the transport keeps what is on the wire (plain TCP in sock.c;
 * another transport is another file and a struct transport of its own).
 *
 * The contract of a transport's functions:
 *
 * - open(conn, ctx) sets up the per-connection state of an accepted,
 *   non-blocking socket (conn->fd) from the listener's context ctx; it
 *   returns 0, or -1 with the reason in errno.  NULL: nothing to set up.
 * - handshake(conn, why, len) advances what must happen before the first
 *   byte of input (a TLS handshake): 1 done, 0 not yet, -1 failed with the
 *   reason written to why.  It is called again, by the connection, when
 *   the socket is ready as asked.  NULL: there is none.
 * - read(conn, buf, len) returns bytes read (> 0), 0 when the peer has
 *   finished sending, or -1 with errno: EAGAIN when nothing can be read
 *   now, anything else when the connection is broken.
 * - writev(conn, iov, n) takes bytes in order from the front of iov and
 *   returns how many (what it returns is gone from the caller's queue; a
 *   short count means "no more for now"), or -1 with errno (EAGAIN: none
 *   now).  The buffers stay the caller's: a transport copies what it must
 *   keep, and may be asked again later with the same bytes in front.
 * - pending(conn) says whether input waits inside the transport, where no
 *   readiness event will announce it.  NULL: never.
 * - shutdown(conn) ends the output direction in order once everything is
 *   written (FIN, TLS close_notify): 1 done, 0 not yet, -1 failed.
 * - close(conn) frees the per-connection state and closes conn->fd.  It is
 *   the last call, and may be made in any state.
 * - movable says whether a connection may be handed to another process as
 *   its bare socket (an upgrade, upgrade.c): true only when nothing of it
 *   lives in this process but the socket (plain TCP).  A TLS connection's
 *   keys and record state are OpenSSL's, in this process: at an upgrade
 *   its user is closed with the reason "upgrade" instead.  A layer that
 *   keeps state of its own (WebSocket framing) is not movable unless
 *   upgrade.c carries that state too.
 *
 * A call that returns "not yet" or EAGAIN leaves in conn->blocked the
 * event it waits for, EV_READ or EV_WRITE; the caller presets the usual
 * one (EV_READ for handshake and read, EV_WRITE for writev and shutdown),
 * so only a transport that reads to write, or writes to read, sets it.
 *
 * Layers: a transport that frames bytes over another (WebSocket over TCP
 * or TLS) is conn->t; it keeps its state in conn->layer, and calls the
 * functions of the one below with the same conn, whose state stays in
 * conn->state.  A transport without a socket (in memory, for tests) has
 * conn->fd == -1: nothing is watched, and it announces input with
 * conn_wake() and pending().
 */
struct conn;
struct transport {
	const char	*name;		/* "tcp": for the log */
	int		 (*open)(struct conn *, void *);
	int		 (*handshake)(struct conn *, char *, size_t);
	void		 (*expired)(struct conn *);	/* handshake: too late */
	ssize_t		 (*read)(struct conn *, char *, size_t);
	ssize_t		 (*writev)(struct conn *, const struct iovec *, int);
	int		 (*pending)(struct conn *);
	int		 (*shutdown)(struct conn *);
	void		 (*close)(struct conn *);
	int		 movable;	/* see above */
};
/*
 * What a connection calls back in its owner; the owner finds itself with
 * container_of().  readable and writable are called when conn_read() or
 * conn_flush() may make progress, and only while the owner wants that
 * (conn_want); one event calls one of them, so either may free the owner.
 */
struct conn_owner {
	void		 (*ready)(struct conn *);	/* handshake done */
	void		 (*failed)(struct conn *);	/* handshake failed (logged) */
	void		 (*readable)(struct conn *);
	void		 (*writable)(struct conn *);
};
TAILQ_HEAD(conn_list, conn);
struct conn {
	const struct transport *t;
	const struct conn_owner *owner;
	void		*state;		/* the transport's own */
	void		*layer;		/* a transport's above that one */
	struct server	*srv;
	const char	*peer;		/* the owner's escaped address, for logs */
	int		 fd;
	unsigned char	 want;		/* what the owner waits for */
#define CONN_READ	 0x01
#define CONN_WRITE	 0x02
	unsigned char	 flags;
#define CONN_HANDSHAKE	 0x01	/* handshake not done yet */
#define CONN_BUFFERED	 0x02	/* on srv->buffered */
	unsigned char	 rblock;	/* EV_READ/EV_WRITE: read waits for */
	unsigned char	 wblock;	/* ... and writev and shutdown */
	unsigned char	 blocked;	/* set by a transport call, see above */
	ev_io		 rio;
	ev_io		 wio;
	TAILQ_ENTRY(conn) buffered_entry;	/* srv->buffered */
};
void		 conn_setup(struct server *);
void		 conn_init(struct conn *, struct server *, int,
		     const struct transport *, const struct conn_owner *);
int		 conn_open(struct conn *, void *);
void		 conn_start(struct conn *);
void		 conn_expired(struct conn *, double);
void		 conn_want(struct conn *, unsigned, int);
void		 conn_wake(struct conn *);
ssize_t		 conn_read(struct conn *, char *, size_t);
ssize_t		 conn_writev(struct conn *, const struct iovec *, int);
int		 conn_shutdown(struct conn *);
void		*conn_detach(struct conn *);
void		 conn_close(struct conn *);
void		 conn_abort(struct conn *);
size_t		 conn_unsent(const struct conn *);
void		 conn_run_buffered(struct server *);

/* memconn.c */
struct memconn {
	const unsigned char *in;	/* what the peer sent */
	size_t		 inlen;
	size_t		 inoff;
	size_t		 inavail;	/* of it, readable now */
	int		 ineof;		/* after inavail: the peer is done */
	int		 eofread;	/* the end was read (pending() no more) */
	unsigned char	*own;		/* in, when memconn_feed() made it */
	size_t		 owncap;
	unsigned char	*out;		/* what was written */
	size_t		 outlen;
	size_t		 outcap;
	size_t		 wmax;		/* bytes per writev; 0: any */
	int		 wblocked;	/* writev says EAGAIN */
	int		 shut;		/* shutdown was called */
	int		 closed;
};
extern const struct transport memconn_transport;
int		 memconn_open(struct conn *, struct memconn *,
		     const struct transport *, void *);
void		 memconn_feed(struct memconn *, const void *, size_t);
void		 memconn_free(struct memconn *);

/* sock.c */
extern const struct transport transport_tcp;

/* tls.c */
extern const struct transport transport_tls;
int		 tls_check(const struct config *, char *, size_t);
int		 tls_open(struct server *, char *, size_t);
int		 tls_reload(struct server *, const struct config *, char *,
		     size_t);
void		 tls_close(struct server *);
void		*tls_context(struct server *);
/* ws.c */
/*
 * What the WebSocket transport is opened with (its open's ctx): the
 * transport below it (TCP, or TLS for wss://) and that one's state, taken
 * from the HTTP door's connection with conn_detach() (open, past its
 * handshake; NULL for TCP, which has none), the 101 response to write as
 * its handshake, and the bytes read past the HTTP request.
 */
struct ws_upgrade {
	const struct transport *lower;
	void		*lower_state;
	const char	*response;
	const char	*rest;
	size_t		 restlen;
	const char	*addr;		/* the user's, for the log */
};
extern const struct transport transport_ws;
int		 ws_accept_key(const char *, char *);
size_t		 ws_frame_head(unsigned char *, uint64_t);

/* outq.c */
struct buf {
	unsigned	 refs;
	size_t		 len;
	char		 data[];
};
#define OUTQ_CHUNK_BUFS	31	/* buffers per chunk: 256 bytes a chunk */
struct outq_chunk {
	struct outq_chunk *next;
	struct buf	*bufs[OUTQ_CHUNK_BUFS];
};
/*
 * A FIFO of buffer references in a list of fixed-size chunks, which come
 * from a shared pool and go back to it as soon as they are written: an
 * idle client's queue holds no memory at all.
 */
struct outq {
	struct outq_chunk *head;	/* oldest buffer: head->bufs[first] */
	struct outq_chunk *tail;	/* next free slot: tail->bufs[last] */
	unsigned short	 first;
	unsigned short	 last;
	unsigned	 count;		/* buffers queued */
	size_t		 off;		/* bytes of the oldest already written */
	size_t		 bytes;		/* unwritten bytes queued */
};
struct buf	*buf_line(const char *, size_t);
void		 buf_ref(struct buf *);
void		 buf_unref(struct buf *);
void		 outq_init(struct outq *);
void		 outq_free(struct outq *);
void		 outq_cut(struct outq *);
void		 outq_push(struct outq *, struct buf *);
ssize_t		 outq_flush(struct outq *, struct conn *);
void		 outq_pool_free(void);
struct clbuf;
struct kept;
void		 outq_copy(const struct outq *, struct clbuf *);

/* config.c */
enum config_type {
	CONF_INT,
	CONF_STRING,
	CONF_SECRET,		/* a string -t does not show */
	CONF_ADDR,	/* a numeric IPv4 or IPv6 address */
	CONF_PATH,
	CONF_BOOL,
	CONF_LEVEL,
	CONF_PORT,	/* a port, or "off" (stored as -1) */
	CONF_REDIS,	/* IP:PORT, [IPv6]:PORT or unix:/path */
	CONF_WORD,	/* letters, digits, '.', '_', '-': a room or node */
	CONF_URLPATH,	/* an HTTP path: "/ws" */
	CONF_ORIGINS,	/* origins or "*", space-separated; may be empty */
	CONF_ADDRS	/* numeric addresses, space-separated; may be empty */
};
#define CONFIG_KEYS_MAX	64	/* keys in config_keys[], at most */
struct config_extra {
	char		*section;	/* "plugin.NAME" */
	char		*key;
	char		*value;
	int		 line;
	struct config_extra *next;
};
struct config {
	char		*bind;
	long long	 port;
	long long	 max_clients;
	long long	 idle_timeout;
	int		 reuse_port;
	int		 show_addresses;
	long long	 max_line;
	long long	 output_limit;
	long long	 output_soft_limit;
	long long	 output_soft_seconds;
	long long	 output_budget;
	long long	 lines_per_second;
	long long	 burst;
	long long	 bytes_per_second;
	long long	 output_per_line;
	long long	 max_per_ip;
	long long	 ipv6_prefix;
	long long	 connects_per_second;
	long long	 connect_burst;
	long long	 online_names;
	long long	 who_page;
	long long	 gather_above;
	long long	 gather_interval;
	char		*lua_path;	/* NULL: installed dir or built-in */
	long long	 max_instructions;
	long long	 memory_limit;
	long long	 max_time;	/* ms */
	long long	 slow_call;	/* ms; 0: never logged */
	long long	 breaker_errors;	/* 0: never switched off */
	long long	 breaker_window;	/* seconds */
	int		 unsafe;
	char		*state_file;	/* [lua] state_file, NULL: unset */
	long long	 state_limit;	/* bytes one plugin may keep */
	int		 log_level;
	int		 log_syslog;
	long long	 log_repeats;
	char		*metrics_bind;
	long long	 metrics_port;	/* -1: off */
	char		*cluster_redis;	/* NULL: this server alone */
	char		*cluster_room;
	char		*cluster_node;	/* NULL: host name and process id */
	char		*cluster_username;	/* NULL: Redis's default user */
	char		*cluster_password;	/* NULL: no AUTH */
	long long	 heartbeat;
	long long	 node_timeout;
	long long	 upgrade_timeout;
	char		*tls_bind;
	long long	 tls_port;	/* -1: off */
	char		*tls_cert;	/* NULL: unset */
	char		*tls_key;
	char		*tls_min_version;
	char		*tls_ciphers;
	char		*tls_ciphersuites;
	char		*tls_client_ca;	/* NULL: no client certificates */
	long long	 tls_handshake_timeout;
	char		*ws_bind;
	long long	 ws_port;	/* -1: off */
	int		 ws_tls;
	char		*ws_path;
	char		*ws_origins;	/* "": the page's own origin only */
	char		*ws_www;	/* NULL: CHATD_WWWDIR */
	char		*ws_trusted_proxies;

	char		*file;		/* the file read, NULL for defaults */
	int		 line[CONFIG_KEYS_MAX];	/* of each key; 0: default */
	struct config_extra *extra;	/* [plugin.*] keys, in file order */
	struct config_extra *operators;	/* [operators] NAME = crypt hash */
};
struct config_key {
	const char	*section;
	const char	*name;
	enum config_type type;
	long long	 min;
	long long	 max;
	const char	*def;		/* default, as written in the file */
	size_t		 offset;	/* into struct config */
	int		 live;		/* SIGHUP applies it */
	const char	*help;
};
extern const struct config_key config_keys[];
void		 config_init(struct config *);
void		 config_free(struct config *);
int		 config_load(struct config *, const char *, char *, size_t);
const struct config_key *config_find(const char *, const char *);
long long	 config_int(const struct config *, const struct config_key *);
const char	*config_str(const struct config *, const struct config_key *);
int		 config_changed(const struct config *, const struct config *,
		     const struct config_key *);
void		 config_copy(struct config *, const struct config *,
		     const struct config_key *);
void		 config_print(const struct config *, FILE *);

/* roster.c */
struct client;
struct roster_node {		/* in each client of the name index */
	struct client	*left;
	struct client	*right;
	uint32_t	 prio;
	uint32_t	 size;		/* entries in this subtree */
};
struct roster {
	struct client	*root;
};
void		 roster_init(struct roster *);
void		 roster_insert(struct roster *, struct client *);
void		 roster_remove(struct roster *, struct client *);
size_t		 roster_count(const struct roster *);
size_t		 roster_rank(const struct roster *, const char *, size_t);
struct client	*roster_nth(const struct roster *, size_t);
size_t		 roster_prefix(const struct roster *, const char *, size_t,
		     size_t *);

/* registry.c */
typedef void	 room_claim_cb(struct server *, uint64_t, const char *,
		     const char *);	/* room.c: a name claim answered */
TAILQ_HEAD(client_list, client);
struct registry {
	struct client_list all;		/* registered, in join order */
	struct idmap	 by_id;
	struct map	 by_name;
	struct roster	 roster;	/* by_name's clients, by key */
	size_t		 count;		/* users, remote ones included */
	size_t		 nclosing;	/* of which closing: not online */
	size_t		 nremote;
	uint64_t	 next_id;
	struct server	*srv;		/* whose room backend hears of it */
};
void		 registry_init(struct registry *, struct server *);
void		 registry_free(struct registry *);
void		 registry_add(struct registry *, struct client *);
void		 registry_adopt(struct registry *, struct client *, uint64_t,
		     const char *, size_t);
void		 registry_add_remote(struct registry *, struct client *,
		     const char *, size_t);
void		 registry_remove(struct registry *, struct client *);
void		 registry_closing(struct registry *);
size_t		 registry_online(const struct registry *);
struct client	*registry_find_id(struct registry *, uint64_t);
struct client	*registry_find_name(struct registry *, const char *, size_t);
struct client	*registry_find_key(struct registry *, const char *, size_t);
const char	*registry_rename(struct registry *, struct client *,
		     const char *, size_t);
int		 registry_claim(struct registry *, struct client *,
		     const char *, size_t, const char **, room_claim_cb *);
void		 registry_set_name(struct registry *, struct client *,
		     const char *, size_t);
void		 registry_broadcast(struct registry *, struct buf *,
		     struct client *);
void		 registry_deliver(struct registry *, struct buf *,
		     struct client *);

/* room.c */
/*
 * Where a room's events go beyond this process.  The registry tells its
 * backend of every local user who joins, leaves or is renamed, and of
 * every broadcast; a line for a user without a socket goes to the backend
 * too.  A server alone uses room_local, which has nothing to do; a server
 * with a [cluster] section uses cluster.c's, which tells the others.
 */
struct room_ops {
	const char	*name;
	void		(*joined)(struct server *, struct client *);
	void		(*left)(struct server *, struct client *);
	void		(*renamed)(struct server *, struct client *,
			    const char *, const char *, size_t);
	void		(*broadcast)(struct server *, struct buf *,
			    struct client *);
	void		(*send)(struct server *, struct client *, struct buf *);
	const char	*(*can_rename)(struct server *, struct client *);
	int		(*claim)(struct server *, struct client *, const char *,
			    size_t, const char *, size_t, room_claim_cb *,
			    const char **);
	void		(*publish)(struct server *, const char *, size_t,
			    const char *, size_t);
};
extern const struct room_ops room_local;
int		 room_open(struct server *, char *, size_t);
void		 room_reload(struct server *);
void		 room_stop(struct server *);
int		 room_stopped(struct server *);
void		 room_close(struct server *);
void		 room_joined(struct server *, struct client *);
void		 room_left(struct server *, struct client *);
void		 room_renamed(struct server *, struct client *, const char *,
		     const char *, size_t);
void		 room_broadcast(struct server *, struct buf *, struct client *);
void		 room_send(struct server *, struct client *, struct buf *);
const char	*room_can_rename(struct server *, struct client *);
int		 room_claim(struct server *, struct client *, const char *,
		     size_t, const char *, size_t, room_claim_cb *,
		     const char **);
int		 room_publish(struct server *, const char *, size_t,
		     const char *, size_t);

/* clmsg.c */
#define CLMSG_TEXT_MAX	(4 << 20)	/* bytes of a line in a message */
#define CLMSG_MAX	(CLMSG_TEXT_MAX + 1024)
#define CM_HEARTBEAT	'H'	/* the sender is alive; nodes it reaped */
#define CM_JOIN		'J'	/* a user joined, or is announced again */
#define CM_LEAVE	'L'	/* a user left */
#define CM_RENAME	'N'	/* a user has a new name */
#define CM_RESET	'R'	/* the sender's users changed: read them */
#define CM_BYE		'B'	/* the sender left the room */
#define CM_LINE		'M'	/* a line for everyone, perhaps but one */
#define CM_PRIVATE	'P'	/* a line for one user */
#define CM_TOPIC	'T'	/* a plugin's message */
#define CM_FILLER	'Z'	/* a sequence number carrying nothing */
struct clmsg {
	char		 kind;
	const char	*node;		/* the sender */
	size_t		 nodelen;
	uint64_t	 inc;
	uint64_t	 seq;
	uint64_t	 uid;		/* J L N: the user */
	uint64_t	 joined;	/* J: when, in ms since the epoch */
	const char	*addr;		/* J */
	size_t		 addrlen;
	const char	*tnode;		/* M P: the user excepted, or to; */
	size_t		 tnodelen;	/* NULL for none */
	uint64_t	 tuid;
	const char	*topic;		/* T */
	size_t		 topiclen;
	const char	*list;		/* H: " node/inc ..." */
	size_t		 listlen;
	const char	*text;		/* J N: name; M P: line; T: data */
	size_t		 textlen;
};
struct clrec {			/* a user as Redis keeps it */
	uint64_t	 joined;
	const char	*addr;
	size_t		 addrlen;
	const char	*name;
	size_t		 namelen;
};
struct clbuf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};
const char	*clmsg_parse(const char *, size_t, struct clmsg *);
int		 clmsg_next_lost(struct clmsg *, const char **, size_t *,
		     uint64_t *);
int		 clmsg_is_word(const char *, size_t);
int		 clmsg_addr_ok(const char *, size_t);
int		 clmsg_name_ok(const char *, size_t);
const char	*clmsg_parse_record(const char *, size_t, struct clrec *);
int		 clmsg_parse_number(const char *, size_t, uint64_t *);
int		 clmsg_parse_inc(const char *, size_t, uint64_t *);
void		 clmsg_start(struct clbuf *, char, const char *, uint64_t,
		     uint64_t);
void		 clmsg_add_word(struct clbuf *, const char *, size_t);
void		 clmsg_add_number(struct clbuf *, uint64_t);
void		 clmsg_add_lost(struct clbuf *, const char *, uint64_t);
void		 clmsg_add_text(struct clbuf *, const char *, size_t);
void		 clbuf_append(struct clbuf *, const char *, size_t);
void		 clbuf_free(struct clbuf *);

/* redis.c */
struct redis;
struct redisReply;
typedef void	 redis_reply_cb(struct redis *, const struct redisReply *,
		     void *);
struct redis_events {
	void		(*up)(void *);		/* subscribed, scripts loaded */
	void		(*down)(void *, const char *);	/* will retry */
	void		(*message)(void *, const char *, size_t);
};
int		 redis_parse_addr(const char *, char *, int *, char *, size_t);
struct redis_auth {
	const char	*username;	/* NULL: the default user */
	const char	*password;	/* NULL: no AUTH */
};
struct redis	*redis_open(struct ev_loop *, const char *,
		     const struct redis_auth *, const char *,
		     const char *const *, size_t, double,
		     const struct redis_events *, void *, char *, size_t);
void		 redis_close(struct redis *);
void		 redis_fail(struct redis *, const char *);
void		 redis_set_timeout(struct redis *, double);
int		 redis_drain(struct redis *, double);
int		 redis_is_up(const struct redis *);
int		 redis_command(struct redis *, redis_reply_cb *, void *, int,
		     const char **, const size_t *);
int		 redis_script(struct redis *, size_t, redis_reply_cb *, void *,
		     int, int, const char **, size_t *);

/* cluster.c, redis_scripts.c */
enum cluster_script {		/* in the order of cluster_scripts[] */
	CS_HELLO,
	CS_HEARTBEAT,
	CS_JOIN,
	CS_LEAVE,
	CS_RENAME,
	CS_RESYNC,
	CS_SNAPSHOT,
	CS_BYE
};
extern const char *const cluster_scripts[];
extern const size_t cluster_nscripts;
int		 cluster_open(struct server *, char *, size_t);
void		 cluster_reload(struct cluster *);
void		 cluster_stop(struct cluster *);
int		 cluster_stopped(struct cluster *);
void		 cluster_free(struct cluster *);
void		 cluster_handover_state(const struct cluster *,
		     struct ustate_cluster *);
void		 cluster_handed(struct cluster *);
int		 cluster_drain(struct cluster *, double);
void		 cluster_await(struct cluster *);
void		 cluster_adopt(struct cluster *, const struct ustate_cluster *);
void		 cluster_begin(struct cluster *);
int		 cluster_holding(const struct cluster *);
int		 cluster_is_up(const struct cluster *);
const char	*cluster_node(const struct cluster *);
const char	*cluster_node_of(const struct server *, const struct client *);
size_t		 cluster_servers(const struct cluster *);
double		 cluster_heartbeat_rtt(const struct cluster *);
void		 cluster_counts(const struct cluster *, unsigned long long *,
		     unsigned long long *, unsigned long long *);

/* client.c */
/*
 * What a broadcast touches of each recipient comes first, in one cache
 * line: the link to the next user, the flags and the output queue.
 */
struct client {
	TAILQ_ENTRY(client) entry;		/* registry->all */
	unsigned	 flags;
#define CLIENT_CLOSING	 0x01	/* on srv->closing, leave hooks pending */
#define CLIENT_DRAINING	 0x02	/* unregistered, flushing before close */
#define CLIENT_PENDING	 0x04	/* on srv->pending, output to flush */
#define CLIENT_WRITING	 0x08	/* waiting for the connection to take more */
#define CLIENT_THROTTLED 0x10	/* out of tokens, not reading */
#define CLIENT_DEAD	 0x20	/* output discarded: too slow or failed */
#define CLIENT_SHUTWR	 0x40	/* shutdown(SHUT_WR) done */
#define CLIENT_EOF	 0x80	/* the peer has finished sending */
#define CLIENT_HANDSHAKE 0x100	/* on srv->handshaking, not yet registered */
#define CLIENT_REMOTE	 0x200	/* a user of another server: no connection */
#define CLIENT_WAITING	 0x400	/* input waits for a name claim */
#define CLIENT_UNSEATED	 0x800	/* left: max_clients and max_per_ip
				   no longer count it */
#define CLIENT_MOVED	 0x1000	/* its socket is the new process's */
#define CLIENT_REFUSED	 0x2000	/* a join hook refused it: no leave hooks */
	struct outq	 out;
	TAILQ_ENTRY(client) pending_entry;	/* srv->pending */
	struct server	*srv;
	uint64_t	 id;
	struct peer	*peer;			/* CLIENT_REMOTE: its server */
	uint64_t	 rid;			/* CLIENT_REMOTE: its id there */

	char		*name;
	char		*namekey;		/* name_fold(name), in name's
						   allocation: by_name */
	size_t		 namekeylen;
	struct roster_node rnode;		/* registry->roster */
	char		*close_reason;
	char		*oper;			/* operator name; NULL: not one */
	unsigned char	 ipkey[17];		/* family + address bytes */
	unsigned char	 ipkeylen;
	char		 addr[CHATD_ADDR_MAX];	/* "ip:port" or "[ip]:port" */

	ev_tstamp	 joined;
	ev_tstamp	 last_active;		/* last complete line */
	double		 tokens;		/* input rate bucket */
	ev_tstamp	 tokens_at;
	uint64_t	 queued;		/* bytes ever queued to it */
	ev_tstamp	 soft_since;		/* over output_soft_limit since;
						   0: not over */
	double		 btokens;		/* input bytes bucket */
	ev_tstamp	 btokens_at;

	struct conn	 conn;			/* the socket and its transport */
	ev_timer	 idle;			/* handshake, idle, then linger,
						   deadline */
	ev_timer	 throttle;

	struct telnet	 telnet;		/* commands taken out of the input */
	struct linebuf	 in;

	TAILQ_ENTRY(client) closing_entry;	/* srv->closing, srv->draining,
						   srv->handshaking */
};
struct listener;
struct client	*client_new(struct server *, struct listener *, int,
		     const struct sockaddr *, void *);
void		 client_send(struct client *, struct buf *);
void		 client_send_text(struct client *, const char *, size_t);
void		 client_close(struct client *, const char *);
void		 client_wait(struct client *);
void		 client_unwait(struct client *);
void		 client_reap(struct client *);
void		 client_flush(struct client *);
void		 client_finish(struct client *);
void		 client_drop_slow(struct client *);
void		 client_apply_config(struct client *);
int		 client_is_online(const struct client *);
struct ustate_client;
struct ustate_rate;
struct ustate_cluster;
void		 client_adopt(struct server *, const struct ustate_client *,
		     int);
void		 client_resume(struct client *);
void		 client_format_addr(const struct sockaddr *, char *, size_t);
size_t		 client_ipkey(const struct sockaddr *, unsigned char *, int);

/* listener.c */
/*
 * A kind of listener, one row of listener_kinds[]: the config section
 * whose bind and port keys say where it listens (port unset: it does not)
 * and, if the section has one, whose handshake_timeout bounds a
 * handshake; the transport of its connections and that transport's
 * context (NULL: none); and what an accepted socket becomes (NULL: a chat
 * client, after the connection limits).  Another door into chatd is
 * another row.
 */
struct listener;
struct listener_kind {
	const char	*name;		/* in the log; NULL for plain chat */
	const char	*section;
	const struct transport *transport;
	void		*(*context)(struct server *);
	void		 (*admit)(struct listener *, int,
			     const struct sockaddr *);
};
extern const struct listener_kind listener_kinds[];
struct listener {
	struct server	*srv;
	const struct listener_kind *kind;
	int		 fd;
	ev_io		 io;
	ev_timer	 pause;
	double		 handshake_timeout;	/* seconds; 0: none */
	char		 addr[CHATD_ADDR_MAX];
};
int		 listener_open_all(struct server *, char *, size_t);
void		 listener_close_all(struct server *);
void		 listener_apply_config(struct server *);
void		 listener_fit_clients(struct server *);
void		 listener_free_limits(struct server *);
void		 listener_put_rates(struct server *, struct clbuf *);
void		 listener_adopt_rate(struct server *,
		     const struct ustate_rate *);
void		 listener_make_room(struct server *);
void		 listener_release_ip(struct server *, const unsigned char *,
		     size_t);
void		 listener_hold_ip(struct server *, const unsigned char *,
		     size_t);
const char	*listener_kind_name(const struct listener_kind *);
int		 listener_adopt(struct server *, const char *, int,
		     const char *, char *, size_t);
const char	*listener_limit(struct server *, const struct sockaddr *,
		     const char **);
struct client	*listener_take(struct listener *, int, const struct sockaddr *,
		     void *);

/* metrics.c */
/*
 * Every counter chatd keeps, by name.  A counter without a label is a
 * slot of metric_values[], bumped with metric_add(); one with a label
 * (a reason, a hook, a plugin) has a series per label value, found or
 * made by metric_series().  Gauges are read from the server when the
 * metrics are rendered.  Adding a figure is a line here and a line in
 * metrics.c's table.
 */
enum metric {
	METRIC_CONNECTIONS,		/* accepted and admitted */
	METRIC_LINES_IN,		/* complete lines read */
	METRIC_LINES_OUT,		/* lines queued to clients */
	METRIC_BYTES_OUT,		/* bytes written to clients */
	METRIC_BROADCASTS,
	METRIC_RELOADS,
	METRIC_RELOAD_FAILURES,
	METRIC_REFUSED,			/* {reason} */
	METRIC_DISCONNECTS,		/* {reason} */
	METRIC_LUA_CALLS,		/* {call} */
	METRIC_LUA_NSEC,		/* {call}, rendered in seconds */
	METRIC_PLUGIN_ERRORS,		/* {plugin} */
	METRIC_PLUGIN_CALLS,		/* {plugin} */
	METRIC_PLUGIN_NSEC,		/* {plugin}, rendered in seconds */
	METRIC_PLUGIN_OFF,		/* {plugin}: functions switched off */
	METRIC_HTTP_REQUESTS,		/* {code} */
	METRIC_ABORTS,			/* closed with a reset */
	METRIC_BUDGET_DROPS,		/* dropped for output_budget */
	METRIC_UPGRADES,		/* begun by this process */
	METRIC_UPGRADE_FAILURES,	/* ... and rolled back */
	METRIC_LINGER_CUT,		/* lingering sockets closed early */
	METRIC_SOCKETS,			/* {transport}: a gauge, open now */
	METRIC_TLS_HANDSHAKES,		/* completed */
	METRIC_TLS_FAILURES,		/* {reason}: tls_failure() */
	METRIC_WS_UPGRADES,		/* 101 sent */
	METRIC_WS_CLOSES,		/* {code} of the close chatd sent */
	METRIC_CLUSTER_JOINS,		/* the room joined, link up */
	METRIC_REDIS_RECONNECTS,	/* connection attempts after a loss */
	METRIC_COUNT
};
struct metric_series {
	struct metric_series *next;
	uint64_t	 value;
	char		 label[];
};
extern uint64_t	 metric_values[METRIC_COUNT];
#define metric_add(m, n)	(metric_values[(m)] += (n))
#define metric_inc(m)		(metric_values[(m)]++)
struct metric_series *metric_series(enum metric, const char *);
void		 metric_label_inc(enum metric, const char *);
uint64_t	 metric_label_get(enum metric, const char *);
uint64_t	 metric_get(enum metric);
void		 metric_socket_opened(const struct transport *);
void		 metric_socket_closed(const struct transport *);
void		 metric_ws_closed(unsigned);
void		 metrics_observe_lag(double);
void		 metrics_lag_start(struct ev_loop *);
void		 metrics_lag_stop(struct ev_loop *);
char		*metrics_render(struct server *, size_t *);
void		 metrics_free(void);
uint64_t	 metrics_nsec(void);

/* http.c */
#define HTTP_HEAD_MAX		8192	/* request line and fields: 431 */
#define HTTP_URL_MAX		2048	/* request target: 414 */
#define HTTP_FIELDS_MAX		64	/* header fields: 431 */
#define HTTP_TIMEOUT		10.0	/* seconds to send a request */
#define HTTP_LINGER		2.0	/* seconds to wait for the peer's EOF */
#define HTTP_MORE		0	/* http_request_feed: go on */
#define HTTP_DONE		1	/* a whole request is parsed */
struct http_request;
struct http_conn;
typedef void	 http_handler(struct http_conn *, const struct http_request *,
		     void *);
LIST_HEAD(http_conn_list, http_conn);
struct http_door {
	struct server	*srv;
	struct ev_loop	*loop;
	const struct transport *transport;	/* of its connections */
	double		 handshake_timeout;	/* seconds; 0: HTTP_TIMEOUT */
	http_handler	*handler;
	void		*arg;
	size_t		 body_max;	/* bytes of body accepted: 413 */
	size_t		 max_conns;	/* more are answered 503 */
	size_t		 nconns;
	struct http_conn_list conns;
};
struct http_request *http_request_new(size_t);
void		 http_request_free(struct http_request *);
int		 http_request_feed(struct http_request *, const char *, size_t,
		     size_t *);
const char	*http_request_method(const struct http_request *);
const char	*http_request_target(const struct http_request *);
const char	*http_request_path(const struct http_request *);
const char	*http_request_query(const struct http_request *);
const char	*http_request_header(const struct http_request *,
		     const char *);
size_t		 http_request_nfields(const struct http_request *);
void		 http_request_field(const struct http_request *, size_t,
		     const char **, const char **);
int		 http_request_version(const struct http_request *);
int		 http_request_upgrade(const struct http_request *);
const char	*http_request_body(const struct http_request *, size_t *);
const char	*http_status_text(int);
void		 http_door_init(struct http_door *, struct server *,
		     http_handler *, void *, size_t, size_t);
void		 http_door_close(struct http_door *);
void		 http_door_accept(struct http_door *, int,
		     const struct sockaddr *, void *);
void		 http_respond(struct http_conn *, int, const char *,
		     const char *, const char *, size_t);
void		 http_respond_error(struct http_conn *, int, const char *);
const char	*http_conn_addr(const struct http_conn *);
const struct sockaddr *http_conn_peer(const struct http_conn *);
int		 http_conn_detach(struct http_conn *, const struct transport **,
		     void **, char **, size_t *);

/* web.c */
struct web;
struct web	*web_open(struct server *);
void		 web_close(struct web *);
void		 web_admit(struct listener *, int, const struct sockaddr *);
int		 web_forwarded(const char *, const char *, const struct sockaddr *,
		     struct sockaddr_storage *);
int		 web_origin_ok(const char *, const char *, const char *);

/* exporter.c */
struct exporter;
struct exporter	*exporter_open(struct server *);
void		 exporter_close(struct exporter *);
void		 exporter_admit(struct listener *, int, const struct sockaddr *);

/* systemd.c */
int		 systemd_init(char *, size_t);
int		 systemd_listen_take(const char *, char *, size_t);
int		 systemd_listen_check(const char *, char *, size_t);
int		 systemd_notify(const char *, ...)
		     __attribute__((format(printf, 1, 2)));
void		 systemd_start(struct server *);
void		 systemd_stop(struct server *);
void		 systemd_reloading(void);
void		 systemd_ready(struct server *);
void		 systemd_stopping(void);
void		 systemd_free(void);
void		 systemd_child_env(void);

/* ustate.c; its byte primitives serve state.c too */
struct ustate_in {		/* a reader's position in the bytes */
	const unsigned char *p;
	size_t		 left;
	const char	*err;	/* the first thing wrong, or NULL */
};
void		 ustate_put_u8(struct clbuf *, unsigned);
void		 ustate_put_u32(struct clbuf *, uint32_t);
void		 ustate_put_u64(struct clbuf *, uint64_t);
void		 ustate_put_f64(struct clbuf *, double);
void		 ustate_put_str(struct clbuf *, const char *, size_t);
const unsigned char *ustate_take(struct ustate_in *, size_t);
uint64_t	 ustate_get_uint(struct ustate_in *, size_t);
double		 ustate_get_f64(struct ustate_in *);
const char	*ustate_get_str(struct ustate_in *, size_t, size_t *,
		     const char *);
#define USTATE_DISCARDING	0x01	/* inside an input line too long */
#define USTATE_FLAGS		0x01	/* every flag known */
struct ustate_header {
	const char	*version;	/* of the chatd that wrote it */
	uint64_t	 next_id;
	double		 started;
	size_t		 nlisteners;
	size_t		 nclients;
};
struct ustate_listener {
	char		 kind[CHATD_WORD_MAX + 1];	/* "chat", "metrics" */
	char		 addr[CHATD_ADDR_MAX];
};
struct ustate_client {
	uint64_t	 id;
	const char	*name;		/* not NUL-terminated */
	size_t		 namelen;
	char		 addr[CHATD_ADDR_MAX];
	unsigned char	 ipkey[17];
	size_t		 ipkeylen;
	double		 joined;
	double		 last_active;
	double		 tokens;
	double		 tokens_at;
	double		 btokens;	/* bytes_per_second bucket; < 0: */
	double		 btokens_at;	/* not in the state (version 1) */
	unsigned char	 telnet_state;
	unsigned char	 telnet_cr;
	unsigned	 flags;		/* USTATE_* */
	const char	*input;		/* read, not yet taken as lines */
	size_t		 inputlen;
	const char	*output;	/* queued, not yet written */
	size_t		 outputlen;
};
/* A connects_per_second bucket of an address (listener.c). */
struct ustate_rate {
	unsigned char	 ipkey[17];
	size_t		 ipkeylen;
	double		 tokens;
	double		 at;
};
/* Another server of the cluster's room, as far as this one has heard. */
struct ustate_peer {
	char		 id[CHATD_WORD_MAX + 1];
	uint64_t	 inc;
	uint64_t	 seq;		/* its last message applied */
};
/* The identity of a server in a cluster (cluster.c). */
struct ustate_cluster {
	int		 present;
	char		 node[CHATD_WORD_MAX + 1];
	uint64_t	 inc;
	uint64_t	 seq;		/* of its last message sent */
	int		 up;		/* in the room with the others */
	struct ustate_peer *peers;
	size_t		 npeers;
};
struct ustate {
	char		 version[32];
	unsigned	 format;	/* the state's version */
	uint64_t	 next_id;
	double		 started;
	struct ustate_listener *listeners;
	size_t		 nlisteners;
	struct ustate_client *clients;
	size_t		 nclients;
	struct ustate_rate *rates;
	size_t		 nrates;
	struct ustate_cluster cluster;
};
void		 ustate_put_header(struct clbuf *, const struct ustate_header *);
void		 ustate_put_listener(struct clbuf *,
		     const struct ustate_listener *);
void		 ustate_put_client(struct clbuf *, const struct ustate_client *);
void		 ustate_put_rate(struct clbuf *, const struct ustate_rate *);
void		 ustate_put_cluster(struct clbuf *,
		     const struct ustate_cluster *);
void		 ustate_put_end(struct clbuf *);
const char	*ustate_parse(const char *, size_t, struct ustate *);
void		 ustate_free(struct ustate *);

/* upgrade.c */
struct upgrade;
void		 upgrade_init(int, char **);
void		 upgrade_free(void);
void		 upgrade_start(struct server *);
void		 upgrade_abort(struct server *);
int		 upgrade_child(void);
void		 upgrade_refuse(const char *);
int		 upgrade_adopt(struct server *, char *, size_t);
void		 upgrade_resume(struct server *);

/* server.c */
struct server {
	struct ev_loop	*loop;
	struct config	 cfg;
	char		*config_path;	/* NULL: running on built-in defaults */
	struct listener	 listeners[CHATD_LISTENER_MAX];
	size_t		 nlisteners;
	struct registry	 reg;
	const struct room_ops *room;	/* room_local, or the cluster's */
	struct cluster	*cluster;	/* NULL: this server alone */
	struct script	*script;
	struct map	 per_ip;	/* ipkey -> connection count */
	struct map	 connects;	/* ipkey -> struct connect_rate */
	ev_tstamp	 connects_swept;
	struct map	 oper_tries;	/* ipkey -> struct oper_rate */
	size_t		 nclients;	/* every open client socket */
	size_t		 nseats;	/* of which in the room or joining:
					   what max_clients counts */
	size_t		 max_clients;	/* max_clients, as descriptors allow */
	size_t		 fd_base;	/* descriptors open before clients */
	struct client_list pending;
	struct client_list closing;
	struct client_list draining;	/* unregistered, still open */
	struct client_list handshaking;	/* accepted, not yet registered */
	struct conn_list buffered;	/* input held inside a transport */
	size_t		 nbuffered;
	ev_idle		 buffered_idle;	/* no sleep while any is buffered */
	char		*scratch;	/* text_clean() output, one line */
	size_t		 scratch_len;
	int		 stopping;
	ev_tstamp	 started;
	struct exporter	*exporter;	/* [metrics], NULL when off */
	struct upgrade	*upgrade;	/* SIGUSR2: a new process starting */
	int		 upgraded;	/* handed over: leave without a word */
	char		 upgraded_from[32];	/* the old process's version */
	void		*tls;		/* SSL_CTX of [tls], NULL when off */
	struct web	*web;		/* [websocket], NULL when off */
	struct kept	*kept;		/* state.c: what plugins keep */

	ev_prepare	 prepare;
	ev_signal	 sigint;
	ev_signal	 sigterm;
	ev_signal	 sighup;
	ev_signal	 sigusr2;
	ev_timer	 stop_timer;
	ev_timer	 housekeeping;
	uint64_t	 hk_seen;	/* activity count at the last tick */
	uint64_t	 hk_clean;	/* activity count at the last cleanup */
	ev_tstamp	 hk_at;		/* time of the last cleanup */
};
int		 server_init(struct server *, struct config *, const char *);
int		 server_check(struct config *, char *, size_t);
int		 server_init_memory(struct server *, struct config *,
		     const char *, char *, size_t);
int		 server_run(struct server *);
void		 server_free(struct server *);
void		 server_reload(struct server *);
void		 server_stop(struct server *);
void		 server_mark_pending(struct server *, struct client *);
void		 server_mark_closing(struct server *, struct client *);
void		 server_settle(struct server *);
char		*server_scratch(struct server *, size_t);

/* state.c */
struct kept_rec {		/* one plugin's kept value, as bytes */
	char		*plugin;	/* its file name */
	uint64_t	 user;		/* 0: its own; else a user's user.data */
	char		*data;		/* keep.c's encoding */
	size_t		 len;
};
void		 state_init(struct server *);
void		 state_take(struct server *);
void		 state_write(struct server *);
void		 state_stop(struct server *);
const struct kept_rec *state_find(const struct server *, const char *,
		     uint64_t);
size_t		 state_records(const struct server *,
		     const struct kept_rec **);

/* keep.c */
int		 keep_take(struct script *, struct kept_rec **, size_t *);
const char	*keep_check(const char *, size_t);

/* oper.c */
int		 oper_check_entry(const char *, const char *, char *, size_t);
int		 oper_try(struct client *, const char *, size_t, const char *,
		     size_t, char *, size_t);
void		 oper_reload(struct server *, const struct config *);
void		 oper_free(struct server *);
int		 oper_hash_password(void);

/* luatest.c */
int		 luatest_main(const char *, int, char **);

/* script.c */
struct script	*script_open(struct server *, const struct config *, char *,
		     size_t);
void		 script_close(struct script *);
void		 script_collect(struct script *);
size_t		 script_memory(const struct script *);

/* plugin.c */
void		 plugin_join(struct script *, struct client *);
void		 plugin_leave(struct script *, struct client *, const char *);
void		 plugin_line(struct script *, struct client *, const char *,
		     size_t, const char *, size_t);
void		 plugin_forget(struct script *, struct client *);
void		 plugin_link(struct script *, int);
void		 plugin_renamed(struct script *, struct client *, const char *,
		     const char *);
void		 plugin_upgraded(struct script *, const char *, const char *);

/* wait.c */
void		 wait_claimed(struct server *, uint64_t, const char *,
		     const char *);

/* api_cluster.c */
void		 api_topic(struct script *, const char *, size_t,
		     const char *, size_t, const char *);

/* builtin_plugins.c (generated from plugins/ at build time) */
struct builtin_plugin {
	const char	*name;
	const char	*source;
};
extern const struct builtin_plugin builtin_plugins[];

#endif /* CHATD_H */
