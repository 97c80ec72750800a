/*
 * The part of the "chat" table that concerns a room on several servers:
 * chat.cluster(), and a small publish/subscribe of the plugins' own over
 * the cluster's link, so that a plugin that keeps shared state (a topic, a
 * ban list) can tell the same plugin on the other servers.
 *
 * A message a plugin publishes reaches the subscribers of its topic on
 * every other server, in the order it was published (with the room's
 * lines of the same server: a topic set and then announced arrives
 * before the announcement), at most once, and not at all while the link
 * is down.  The server that publishes does not hear its own message: it
 * acted on it already.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "script.h"

/* The subscriptions: per topic, its functions in the order given. */
struct topic {
	char		*name;
	struct plugin_fn *fns;
	size_t		 n;
};
/* A message published while plugins load, sent once they have loaded. */
struct held_msg {
	char		*topic;
	size_t		 tlen;
	char		*data;
	size_t		 len;
};

struct topics {
	struct map	 by_name;	/* name -> struct topic */
	struct topic	**v;
	size_t		 n;
	struct held_msg	*held;
	size_t		 nheld;
};

/*
 * chat.cluster(): nil on a server alone; else { node = this server's
 * node id, up = whether it is in the room with the others now, servers =
 * how many other servers it knows }.
 */
static int
chat_cluster(lua_State *L)
{
	struct server	*srv = script_get(L)->srv;

	if (srv->cluster == NULL) {
		lua_pushnil(L);
		return (1);
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, cluster_node(srv->cluster));
	lua_setfield(L, -2, "node");
	lua_pushboolean(L, cluster_is_up(srv->cluster));
	lua_setfield(L, -2, "up");
	lua_pushinteger(L, (lua_Integer)cluster_servers(srv->cluster));
	lua_setfield(L, -2, "servers");
	return (1);
}

/* Check a topic: a word, as node and room names are. */
static const char *
api_check_topic(lua_State *L, int idx, size_t *len)
{
	const char	*topic = luaL_checklstring(L, idx, len);

	luaL_argcheck(L, clmsg_is_word(topic, *len), idx, "a topic is 1 to 64 "
	    "letters, digits, '.', '_' or '-'");
	return (topic);
}

/*
 * chat.subscribe(topic, fn): call fn(data, node) for every message on
 * topic from another server.  Only while plugins load, as chat.on.
 */
static int
chat_subscribe(lua_State *L)
{
	struct topics	*T = script_get(L)->topics;
	struct topic	*t;
	const char	*name;
	size_t		 len;

	plugin_check_loading(L, "chat.subscribe");
	name = api_check_topic(L, 1, &len);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	if ((t = map_get(&T->by_name, name, len)) == NULL) {
		t = xcalloc(1, sizeof *t);
		t->name = xstrndup(name, len);
		map_put(&T->by_name, t->name, len, t);
		T->v = xrealloc(T->v, (T->n + 1) * sizeof *T->v);
		T->v[T->n++] = t;
	}
	t->fns = xrealloc(t->fns, (t->n + 1) * sizeof *t->fns);
	plugin_fn_set(L, &t->fns[t->n++], 2, "subscription", t->name);
	return (0);
}

/*
 * chat.publish(topic, data): true once sent to the other servers; nil and
 * why on a server alone, while the link is down, or for data over the
 * cluster's limit of a message.  While plugins load it is held, and sent
 * only if they all load (api_cluster_send_held()).
 */
static int
chat_publish(lua_State *L)
{
	struct script	*S = script_get(L);
	struct server	*srv = S->srv;
	struct topics	*T = S->topics;
	const char	*topic, *data;
	size_t		 tlen, len;

	topic = api_check_topic(L, 1, &tlen);
	data = luaL_checklstring(L, 2, &len);
	if (srv->cluster == NULL) {
		lua_pushnil(L);
		lua_pushliteral(L, "no cluster");
		return (2);
	}
	if (len > CLMSG_TEXT_MAX) {
		lua_pushnil(L);
		lua_pushliteral(L, "data too long");
		return (2);
	}
	if (S->loading) {	/* held: a reload that fails sends nothing */
		T->held = xrealloc(T->held, (T->nheld + 1) * sizeof *T->held);
		T->held[T->nheld].topic = xstrndup(topic, tlen);
		T->held[T->nheld].tlen = tlen;
		T->held[T->nheld].data = xmalloc(len + 1);
		memcpy(T->held[T->nheld].data, data, len);
		T->held[T->nheld++].len = len;
		lua_pushboolean(L, 1);
		return (1);
	}
	if (room_publish(srv, topic, tlen, data, len) != 0) {
		lua_pushnil(L);
		lua_pushliteral(L, "not connected to the other servers");
		return (2);
	}
	lua_pushboolean(L, 1);
	return (1);
}

/* Add chat.cluster, chat.subscribe and chat.publish to the table at idx. */
void
api_cluster_open(lua_State *L, int idx)
{
	static const luaL_Reg funcs[] = {
		{ "cluster", chat_cluster },
		{ "subscribe", chat_subscribe },
		{ "publish", chat_publish },
		{ NULL, NULL }
	};
	struct script	*S = script_get(L);

	S->topics = xcalloc(1, sizeof *S->topics);
	map_init(&S->topics->by_name);
	lua_pushvalue(L, idx);
	luaL_setfuncs(L, funcs, 0);
	lua_pop(L, 1);
}

/* Send what was published while the plugins loaded, which they all did. */
void
api_cluster_send_held(struct script *S)
{
	struct topics	*T = S->topics;
	struct held_msg	*m;
	size_t		 i;

	for (i = 0; i < T->nheld; i++) {
		m = &T->held[i];
		if (room_publish(S->srv, m->topic, m->tlen, m->data,
		    m->len) != 0)
			log_debug("lua: a message published while plugins "
			    "loaded (topic %s) could not be sent", m->topic);
		free(m->topic);
		free(m->data);
	}
	free(T->held);
	T->held = NULL;
	T->nheld = 0;
}

/* Free the subscriptions (the functions go with the Lua state). */
void
api_cluster_free_all(struct script *S)
{
	struct topics	*T = S->topics;
	size_t		 i;

	if (T == NULL)
		return;
	for (i = 0; i < T->nheld; i++) {
		free(T->held[i].topic);
		free(T->held[i].data);
	}
	free(T->held);
	for (i = 0; i < T->n; i++) {
		free(T->v[i]->name);
		free(T->v[i]->fns);
		free(T->v[i]);
	}
	free(T->v);
	map_free(&T->by_name);
	free(T);
	S->topics = NULL;
}

struct api_topic_call {
	const struct topic *t;
	const char	*data;
	size_t		 len;
	const char	*node;
};

/* Protected: call each subscriber of the topic, each on its own. */
static int
api_topic_tramp(lua_State *L)
{
	struct api_topic_call	*call = lua_touserdata(L, 1);
	size_t			 i;

	for (i = 0; i < call->t->n; i++) {
		lua_pushlstring(L, call->data, call->len);
		lua_pushstring(L, call->node);
		plugin_call(L, &call->t->fns[i], 2, 0);
	}
	return (0);
}

/* A plugin's message from the server node, for this server's plugins. */
void
api_topic(struct script *S, const char *topic, size_t topiclen,
    const char *data, size_t len, const char *node)
{
	struct api_topic_call	call;

	if ((call.t = map_get(&S->topics->by_name, topic, topiclen)) == NULL)
		return;		/* no one here listens */
	call.data = data;
	call.len = len;
	call.node = node;
	script_run(S, api_topic_tramp, &call, NULL);
}
