/*
 * What the three files of the cluster share (doc/cluster.md).  Nothing
 * else includes this.
 *
 *   cluster.c       the cluster as a whole: its link's events, joining the
 *                   room (hello, resync), heartbeats, helpers for replies
 *                   and scripts
 *   cluster_room.c  this server's users in the room: the room backend
 *   cluster_peer.c  the other servers: their users, their messages,
 *                   snapshots, lost nodes
 */

#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include <sys/queue.h>

#include <hiredis/hiredis.h>

#include "chatd.h"

/* Presence messages held per node while its snapshot is in flight. */
#define CLUSTER_HOLD_MAX	100000
#define CLUSTER_DROP_LOG	10.0	/* seconds between drop reports */
#define CLUSTER_KEEP_MAX	(64u << 20)	/* bytes kept at an upgrade */
#define CLUSTER_AWAIT		2.0	/* seconds to subscribe, at most */

enum cluster_state {
	CL_DOWN,		/* no link: a room of our own */
	CL_JOINING,		/* link up; hello, resync, snapshot sent */
	CL_UP
};

/* A presence message held while its node's snapshot is in flight. */
struct held {
	STAILQ_ENTRY(held) entry;
	size_t		 len;
	char		 data[];
};
STAILQ_HEAD(held_list, held);

/* Another server of the room. */
struct peer {
	TAILQ_ENTRY(peer) entry;
	char		 id[CHATD_WORD_MAX + 1];
	uint64_t	 inc;
	uint64_t	 seq;		/* last seen; 0: none seen yet */
	ev_tstamp	 heard;		/* its last message */
	unsigned	 born;		/* snap_epoch when first known */
	int		 syncing;	/* its snapshot is in flight */
	int		 resnap;	/* read again once that one is in */
	int		 listed;	/* in the snapshot being read */
	struct held_list held;
	size_t		 nheld;
	struct idmap	 users;		/* its user ids -> struct client */
};
TAILQ_HEAD(peer_list, peer);

struct cluster {
	struct server	*srv;
	struct redis	*link;
	enum cluster_state state;
	char		 node[CHATD_WORD_MAX + 1];
	char		 inc_hex[17];
	uint64_t	 inc;
	uint64_t	 seq;		/* of the last message sent */
	char		*prefix;	/* of the keys: "chatd:{ROOM}:" */
	char		*channel;	/* "chatd:{ROOM}" */
	char		*keys[4];	/* nodes, inc, pseq, names */

	int		 registered;	/* hello done, resync sent */
	int		 joining;	/* replies still awaited to be up */
	int		 hb_pending;	/* a heartbeat is in flight */
	int		 hb_again;	/* run another once it is back */
	int		 stopping;
	int		 bye_sent;
	int		 bye_done;
	int		 quiet;		/* renaming as Redis said: silent */
	int		 busy_logged;
	/* An upgrade (upgrade.c): the old process hands this identity over
	 * and says nothing more; the new one subscribes before the old one
	 * stops reading, keeps what arrives until it has joined as the same
	 * incarnation, then applies it: what the old one applied already is
	 * dropped by its sequence number, the rest is new. */
	int		 handed;	/* old: handed over; silent */
	int		 adopting;	/* new: the identity not yet taken */
	int		 subscribed;	/* new: the link came up meanwhile */
	int		 keeping;	/* new: messages kept until joined */
	int		 quiet_up;	/* new: was in the room: no "link" */
	struct clbuf	 kept;		/* u32 length, message; ... */
	unsigned	 kept_full;	/* messages dropped past the bound */
	int		 holding;	/* new: its users not read yet */
	ev_timer	 hold_timer;	/* read them anyway after this */
	unsigned	 snap_epoch;	/* every snapshot of all nodes */
	ev_tstamp	 echo_at;	/* our last heartbeat seen back */
	ev_tstamp	 hb_sent;	/* when the last one was sent; 0: none */
	double		 hb_rtt;	/* its round trip, for the metrics */
	ev_timer	 heartbeat;
	ev_timer	 hello_retry;
	struct peer_list peers;
	struct clbuf	 msg;		/* the message being built */
	struct clbuf	 lost;		/* nodes reaped, for the next H */

	ev_tstamp	 drop_at;	/* the last drop report */
	unsigned long	 drops;		/* since */

	/* For the metrics, since the start. */
	unsigned long long n_downs;	/* the link went down, joined */
	unsigned long long n_drops;	/* messages dropped */
	unsigned long long n_gaps;	/* messages of a peer missed */
};

/* The reply of a script, as a flat array of strings (or NULL). */
struct cluster_words {
	const redisReply *r;
	size_t		 i;
};

/* The arguments of a script: room for EVALSHA, its SHA1 and the number of
 * keys, then the keys and the common arguments, then the script's. */
struct cluster_args {
	const char	**v;
	size_t		*l;
	int		 n;
	int		 cap;
	char		 nums[8][24];	/* numbers formatted for v */
	int		 nnums;
};

/* cluster.c */
struct cluster	*cluster_of(struct server *);
const redisReply *cluster_reply_start(struct cluster_words *,
		     const redisReply *);
const redisReply *cluster_reply_next(struct cluster_words *);
int		 cluster_word_is(const redisReply *, const char *);
void		 cluster_args_start(struct cluster_args *, struct cluster *,
		     int);
void		 cluster_args_add(struct cluster_args *, const char *,
		     size_t);
void		 cluster_args_number(struct cluster_args *, uint64_t);
int		 cluster_args_send(struct cluster_args *, struct cluster *,
		     enum cluster_script, redis_reply_cb *, void *);
uint64_t	 cluster_joined_ms(const struct client *);
void		 cluster_msg_start(struct cluster *, char);
void		 cluster_publish(struct cluster *);
int		 cluster_sending(const struct cluster *);
int		 cluster_check_mine(struct cluster *, const redisReply *);
void		 cluster_maybe_up(struct cluster *);
void		 cluster_keep(struct cluster *, const char *, size_t);

/* cluster_room.c */
extern const struct room_ops cluster_ops;
void		 cluster_rename_quietly(struct cluster *, struct client *,
		     const char *, size_t);

/* cluster_peer.c */
void		 cluster_message(void *, const char *, size_t);
void		 cluster_snapshot(struct cluster *, struct peer *);
void		 cluster_peer_free(struct cluster *, struct peer *);
void		 cluster_peers_free(struct cluster *);
void		 cluster_peer_known(struct cluster *, const char *, uint64_t,
		     uint64_t);
int		 cluster_lost_all(struct cluster *, struct cluster_words *);

#endif /* CHATD_CLUSTER_H */
