/*
 * The room as plugins see it: user handles, the functions of the "chat"
 * table that act on the room, and chat.config.
 *
 * A user handle holds an id, never a pointer: every access looks the id up
 * in the registry, so a handle kept after its user left reads as gone and
 * its methods return nil, "gone".
 */

#include "config.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "script.h"

#define USER_MT		"chatd.user"
#define REASON_MAX	64
#define API_LINE_SLACK	1024	/* room for a prefix to a user's line */

struct uhandle {
	uint64_t	 id;
};

/* Registry keys: the addresses of these are unique light userdata. */
static const char api_key_handles = 'u';	/* id -> user handle (weak) */
static const char api_key_data = 'd';		/* id -> plugin -> user.data */

/* The server of the calling state. */
static struct server *
api_server(lua_State *L)
{
	return (script_get(L)->srv);
}

/* The client behind a handle, or NULL if its user has left. */
struct client *
api_user(lua_State *L, int idx)
{
	struct uhandle	*u = luaL_checkudata(L, idx, USER_MT);

	return (registry_find_id(&api_server(L)->reg, u->id));
}

/*
 * Push the handle of a client from the table of handles at index t: the
 * same userdata while it is online.
 */
static void
api_push_handle(lua_State *L, int t, struct client *c)
{
	struct uhandle	*u;

	if (lua_rawgeti(L, t, (lua_Integer)c->id) == LUA_TUSERDATA)
		return;
	lua_pop(L, 1);
	u = lua_newuserdatauv(L, sizeof *u, 0);
	u->id = c->id;
	luaL_setmetatable(L, USER_MT);
	lua_pushvalue(L, -1);
	lua_rawseti(L, t, (lua_Integer)c->id);
}

/* Push the handle of a client: the same userdata while it is online. */
void
api_push_user(lua_State *L, struct client *c)
{
	luaL_checkstack(L, 4, NULL);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_handles);
	api_push_handle(L, lua_gettop(L), c);
	lua_remove(L, -2);
}

/* Drop what the state keeps for a user who has left. */
void
api_forget_user(lua_State *L, struct client *c)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_handles);
	lua_pushnil(L);
	lua_rawseti(L, -2, (lua_Integer)c->id);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_data);
	lua_pushnil(L);
	lua_rawseti(L, -2, (lua_Integer)c->id);
	lua_pop(L, 2);
}

/* Return nil, "gone" for a method called on a user who has left. */
static int
api_gone(lua_State *L)
{
	lua_pushnil(L);
	lua_pushliteral(L, "gone");
	return (2);
}

/* Return nil, "remote user" for what only the user's own server can do. */
static int
api_remote(lua_State *L)
{
	lua_pushnil(L);
	lua_pushliteral(L, "remote user");
	return (2);
}

/*
 * The line text as a buffer to send, or NULL with nil and why pushed.  A
 * line longer (once cleaned) than output_limit, or than max_line and
 * API_LINE_SLACK for a prefix if that is more, is refused: sent to the
 * room it would go over every queue that is not empty and drop those
 * users as too slow.  A user's own line, prefixed, always fits.
 */
static struct buf *
api_line(lua_State *L, const char *text, size_t len)
{
	const struct config *cfg = &api_server(L)->cfg;
	size_t		 max = (size_t)cfg->output_limit;
	struct buf	*b = NULL;

	if (max < (size_t)cfg->max_line + API_LINE_SLACK)
		max = (size_t)cfg->max_line + API_LINE_SLACK;
	if (len + 2 <= max) {
		b = buf_line(text, len);
		if (b->len <= max)
			return (b);
		buf_unref(b);
	}
	lua_pushnil(L);
	lua_pushfstring(L, "line too long (%I bytes; at most %I)",
	    (lua_Integer)len, (lua_Integer)max - 2);
	return (NULL);
}

/*
 * user:send(text): queue one line to the user (wherever they are).  True
 * if it was queued; nil and why if the user is gone, the line too long,
 * or the user's queue went over output_limit with it (then the user is
 * dropped as too slow, as for any line).
 */
static int
user_send(lua_State *L)
{
	struct client	*c = api_user(L, 1);
	struct buf	*b;
	const char	*text;
	size_t		 len;

	plugin_check_running(L, "user:send");
	text = luaL_checklstring(L, 2, &len);
	if (c == NULL || (c->flags & (CLIENT_DRAINING | CLIENT_DEAD)))
		return (api_gone(L));
	if ((b = api_line(L, text, len)) == NULL)
		return (2);
	client_send(c, b);
	buf_unref(b);
	if (c->flags & CLIENT_DEAD) {
		lua_pushnil(L);
		lua_pushliteral(L, "dropped (too slow)");
		return (2);
	}
	lua_pushboolean(L, 1);
	return (1);
}

/* user:close([reason]): disconnect the user after what is queued. */
static int
user_close(lua_State *L)
{
	struct client	*c = api_user(L, 1);
	const char	*reason;
	char		 buf[REASON_MAX + 1];
	size_t		 len;

	plugin_check_running(L, "user:close");
	reason = luaL_optlstring(L, 2, CHATD_LEAVE_CLOSED, &len);
	if (c == NULL)
		return (api_gone(L));
	if (c->flags & CLIENT_REMOTE)
		return (api_remote(L));
	if (len > REASON_MAX)
		len = REASON_MAX;
	memcpy(buf, reason, len);
	buf[len] = '\0';
	client_close(c, buf);
	lua_pushboolean(L, 1);
	return (1);
}

/*
 * user:rename(name): true, or nil and why not.  The "rename" hooks run
 * only when the name really changes.  In a cluster, a name that may be
 * another server's user's is Redis's to give: called from a command, the
 * command waits (yields) until Redis has answered, and then the hooks run
 * and this returns; anywhere else the name is taken here at once and
 * claimed behind, and given back (with the rename hooks' reason "taken")
 * should another server's user have it.
 */
static int
user_rename(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*c = api_user(L, 1);
	const char	*name, *why;
	size_t		 len;
	int		 rc;

	plugin_check_running(L, "user:rename");
	name = luaL_checklstring(L, 2, &len);
	if (c == NULL || !client_is_online(c))
		return (api_gone(L));
	if (c->flags & CLIENT_REMOTE)
		return (api_remote(L));
	lua_pushstring(L, c->name);		/* the old name, index 3 */
	if (wait_possible(L))
		rc = registry_claim(&srv->reg, c, name, len, &why,
		    wait_claimed);
	else {
		why = registry_rename(&srv->reg, c, name, len);
		rc = why != NULL ? -1 : 0;
	}
	if (rc == 1)		/* wait_claimed() goes on */
		return (wait_yield(L));
	if (rc == -1) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		return (2);
	}
	if (strcmp(lua_tostring(L, 3), c->name) != 0) {
		if (lograte_allow(LOGRATE_RENAME, ev_now(c->srv->loop),
		    c->addr))
			log_info("client %llu renamed %s to %s",
			    (unsigned long long)c->id, lua_tostring(L, 3),
			    c->name);
		lua_pushvalue(L, 1);
		lua_pushvalue(L, 3);
		lua_pushstring(L, c->name);
		plugin_fire(L, EV_RENAME, 3, 0);
	}
	lua_pushboolean(L, 1);
	return (1);
}

/*
 * The fields of a user handle.  They sit in the same table as the methods,
 * as numbers, so that __index finds either with one lookup of the
 * (interned) key instead of a chain of string comparisons: "u.name" runs
 * once per user in every "who" and every join's list of names.
 */
enum user_field {
	UF_ID = 1,
	UF_ONLINE,
	UF_NAME,
	UF_ADDR,
	UF_JOINED,
	UF_IDLE,
	UF_DATA,
	UF_NODE,
	UF_REMOTE,
	UF_QUEUED,
	UF_OP
};
static const char *const user_fields[] = {
	"id", "online", "name", "addr", "joined", "idle", "data", "node",
	"remote", "queued", "op", NULL
};

/* Push t[k] of the table on top, made empty if need be, in place of t. */
static void
api_subtable(lua_State *L, lua_Integer k)
{
	if (lua_rawgeti(L, -1, k) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawseti(L, -3, k);
	}
	lua_remove(L, -2);
}

/*
 * Push user id's user.data table of plugin number plugin (keep.c hands it
 * to the next Lua state): with create, made if need be; else nil if the
 * plugin has none.  Returns the type pushed.
 */
int
api_push_data(lua_State *L, uint64_t id, int plugin, int create)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_data);
	if (create) {
		api_subtable(L, (lua_Integer)id);
		api_subtable(L, plugin);
		return (LUA_TTABLE);
	}
	if (lua_rawgeti(L, -1, (lua_Integer)id) == LUA_TTABLE)
		lua_rawgeti(L, -1, plugin);
	else
		lua_pushnil(L);
	lua_replace(L, -3);
	lua_pop(L, 1);
	return (lua_type(L, -1));
}

/*
 * user.field: id, name, addr, joined, idle, online, data, node, remote,
 * queued, op or a method.
 */
static int
user_index(lua_State *L)
{
	struct uhandle	*u = lua_touserdata(L, 1);
	struct client	*c;
	lua_Integer	 f;

	/* Is it a user handle?  As luaL_checkudata(), but with the
	 * metatable at hand (upvalue 2) rather than looked up by name. */
	if (u == NULL || !lua_getmetatable(L, 1) ||
	    !lua_rawequal(L, -1, lua_upvalueindex(2)))
		return (luaL_typeerror(L, 1, USER_MT));
	lua_settop(L, 2);
	switch (lua_rawget(L, lua_upvalueindex(1))) {
	case LUA_TFUNCTION:
		return (1);			/* a method */
	case LUA_TNUMBER:
		f = lua_tointeger(L, -1);
		break;
	default:
		lua_pushnil(L);			/* no such field */
		return (1);
	}
	if (f == UF_ID) {
		lua_pushinteger(L, (lua_Integer)u->id);
		return (1);
	}
	c = registry_find_id(&api_server(L)->reg, u->id);
	if (f == UF_ONLINE) {
		lua_pushboolean(L, c != NULL && client_is_online(c));
		return (1);
	}
	if (c == NULL) {
		lua_pushnil(L);
		return (1);
	}
	switch (f) {
	case UF_NAME:
		lua_pushstring(L, c->name);
		break;
	case UF_ADDR:
		lua_pushstring(L, c->addr);
		break;
	case UF_JOINED:
		lua_pushnumber(L, c->joined);
		break;
	case UF_IDLE:		/* another server's user's: not known here */
		if (c->flags & CLIENT_REMOTE)
			lua_pushnil(L);
		else
			lua_pushnumber(L, ev_now(c->srv->loop) -
			    c->last_active);
		break;
	case UF_NODE:
		lua_pushstring(L, cluster_node_of(c->srv, c));
		break;
	case UF_REMOTE:
		lua_pushboolean(L, (c->flags & CLIENT_REMOTE) != 0);
		break;
	case UF_QUEUED:		/* bytes not yet written to the user */
		if (c->flags & CLIENT_REMOTE)
			lua_pushnil(L);
		else
			lua_pushinteger(L, (lua_Integer)c->out.bytes);
		break;
	case UF_OP:		/* the operator name, or false (oper.c) */
		if (c->oper != NULL)
			lua_pushstring(L, c->oper);
		else
			lua_pushboolean(L, 0);
		break;
	case UF_DATA:		/* data[id][plugin]: each plugin its own */
		lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_data);
		api_subtable(L, (lua_Integer)u->id);
		api_subtable(L, plugin_index(script_get(L)->cur));
		break;
	default:
		lua_pushnil(L);
		break;
	}
	return (1);
}

/* Handles are read-only. */
static int
user_newindex(lua_State *L)
{
	return (luaL_error(L, "user fields are read-only (use user.data)"));
}

/* tostring(user). */
static int
user_tostring(lua_State *L)
{
	struct uhandle	*u = luaL_checkudata(L, 1, USER_MT);
	struct client	*c = api_user(L, 1);

	if (c != NULL)
		lua_pushfstring(L, "user %s", c->name);
	else
		lua_pushfstring(L, "user #%I (gone)", (lua_Integer)u->id);
	return (1);
}

/*
 * chat.broadcast(text [, except]): one line to every online user.  True,
 * or nil and why for a line too long to send (see api_line()).
 */
static int
chat_broadcast(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*except = NULL;
	struct buf	*b;
	const char	*text;
	size_t		 len;

	plugin_check_running(L, "chat.broadcast");
	text = luaL_checklstring(L, 1, &len);
	if (!lua_isnoneornil(L, 2))
		except = api_user(L, 2);
	if ((b = api_line(L, text, len)) == NULL)
		return (2);
	registry_broadcast(&srv->reg, b, except);
	buf_unref(b);
	metric_inc(METRIC_BROADCASTS);
	lua_pushboolean(L, 1);
	return (1);
}

/*
 * chat.local_broadcast(text [, except]): one line to every online user
 * of this server only (in a cluster, the others are not told).  Returns
 * as chat.broadcast.
 */
static int
chat_local_broadcast(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*except = NULL;
	struct buf	*b;
	const char	*text;
	size_t		 len;

	plugin_check_running(L, "chat.local_broadcast");
	text = luaL_checklstring(L, 1, &len);
	if (!lua_isnoneornil(L, 2))
		except = api_user(L, 2);
	if ((b = api_line(L, text, len)) == NULL)
		return (2);
	registry_deliver(&srv->reg, b, except);
	buf_unref(b);
	metric_inc(METRIC_BROADCASTS);
	lua_pushboolean(L, 1);
	return (1);
}

/* chat.users(): every online user, in join order. */
static int
chat_users(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*c;
	lua_Integer	 n = 0;

	luaL_checkstack(L, 5, NULL);
	lua_createtable(L, (int)srv->reg.count, 0);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_handles);
	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (!client_is_online(c))
			continue;
		api_push_handle(L, lua_gettop(L), c);
		lua_rawseti(L, -3, ++n);
	}
	lua_pop(L, 1);
	return (1);
}

/* An optional count argument: at most this many; absent, no bound. */
static lua_Integer
api_opt_count(lua_State *L, int arg, const char *what)
{
	lua_Integer	n;

	if (lua_isnoneornil(L, arg))
		return (LUA_MAXINTEGER);
	n = luaL_checkinteger(L, arg);
	if (n < 0)
		luaL_error(L, "%s must be 0 or more", what);
	return (n);
}

/*
 * chat.names([n]): the name of every online user, or of the first n, in
 * join order.  What chat.users() and u.name give, without a handle and a
 * metamethod call per user; with n, it stops after n names, so a line that
 * shows a few costs the few, not the room.
 */
static int
chat_names(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*c;
	lua_Integer	 n = 0, max = api_opt_count(L, 1, "n");
	size_t		 online = registry_online(&srv->reg);

	lua_createtable(L, (lua_Integer)online < max ? (int)online :
	    (int)max, 0);
	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (n >= max)
			break;
		if (!client_is_online(c))
			continue;
		lua_pushstring(L, c->name);
		lua_rawseti(L, -2, ++n);
	}
	return (1);
}

/* chat.count(): how many users are online, at no cost. */
static int
chat_count(lua_State *L)
{
	lua_pushinteger(L,
	    (lua_Integer)registry_online(&api_server(L)->reg));
	return (1);
}

/*
 * chat.prefix(prefix [, n [, skip]]): the handles of the online users
 * whose names start with prefix (compared folded, as names are), in the
 * order of their folded names, skipping the first skip and at most n;
 * and how many have the prefix in all.  O(log N) to find the run, and
 * O(log N) a handle: a page of "who" in a room of any size.
 */
static int
chat_prefix(lua_State *L)
{
	struct server	*srv = api_server(L);
	struct client	*c;
	const char	*prefix;
	char		*key;
	size_t		 len, keylen, first, total, i;
	lua_Integer	 n = 0, max, skip;

	prefix = luaL_checklstring(L, 1, &len);
	max = api_opt_count(L, 2, "n");
	skip = lua_isnoneornil(L, 3) ? 0 : luaL_checkinteger(L, 3);
	if (skip < 0)
		return (luaL_error(L, "skip must be 0 or more"));
	luaL_checkstack(L, 5, NULL);
	lua_newtable(L);
	if (len == 0) {
		key = NULL;
		keylen = 0;
	} else if ((key = name_fold(prefix, len, &keylen)) == NULL) {
		lua_pushinteger(L, 0);	/* not text: no name starts so */
		return (2);
	}
	total = roster_prefix(&srv->reg.roster, key != NULL ? key : "",
	    keylen, &first);
	free(key);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &api_key_handles);
	for (i = (size_t)skip < total ? (size_t)skip : total; i < total &&
	    n < max; i++) {
		c = roster_nth(&srv->reg.roster, first + i);
		if (c == NULL || !client_is_online(c))
			continue;
		api_push_handle(L, lua_gettop(L), c);
		lua_rawseti(L, -3, ++n);
	}
	lua_pop(L, 1);
	lua_pushinteger(L, (lua_Integer)total);
	return (2);
}

/* chat.find(name): the online user with the same name (folded), or nil. */
static int
chat_find(lua_State *L)
{
	struct client	*c;
	const char	*name;
	size_t		 len;

	name = luaL_checklstring(L, 1, &len);
	c = registry_find_name(&api_server(L)->reg, name, len);
	if (c == NULL || !client_is_online(c))
		lua_pushnil(L);
	else
		api_push_user(L, c);
	return (1);
}

/*
 * chat.fold(text): text as names are compared (NFKC case fold, UTS #39
 * skeleton, i as l), so a filter can match "hеck" with a Cyrillic е or a
 * zero-width space inside; nil for text that is not UTF-8.
 */
static int
chat_fold(lua_State *L)
{
	const char	*text;
	char		*f;
	size_t		 len, flen;

	text = luaL_checklstring(L, 1, &len);
	if ((f = name_fold_text(text, len, &flen)) == NULL)
		lua_pushnil(L);
	else {
		lua_pushlstring(L, f, flen);
		free(f);
	}
	return (1);
}

/* chat.log(level, text): a line in the server log, with its origin. */
static int
chat_log(lua_State *L)
{
	static const char *const levels[] = {
		"error", "warn", "info", "debug", NULL
	};
	int		 level = luaL_checkoption(L, 1, NULL, levels);
	size_t		 len;
	const char	*text = luaL_checklstring(L, 2, &len);

	luaL_where(L, 1);
	lua_pushfstring(L, "lua: %s", lua_tostring(L, -1));
	log_text(level, lua_tostring(L, -1), text, len);
	return (0);
}

/* chat.stats(): counters of the running server. */
static int
chat_stats(lua_State *L)
{
	struct server	*srv = api_server(L);

	lua_createtable(L, 0, 7);
	/* To the millisecond: two wall-clock readings near 1.7e9 s differ
	 * in their last bits, and 3600 s must not read as 3599.9999998. */
	lua_pushnumber(L, (double)llround((ev_now(srv->loop) - srv->started) *
	    1e3) / 1e3);
	lua_setfield(L, -2, "uptime");
	lua_pushinteger(L, (lua_Integer)srv->reg.count);
	lua_setfield(L, -2, "users");
	lua_pushinteger(L, (lua_Integer)metric_get(METRIC_CONNECTIONS));
	lua_setfield(L, -2, "connections");
	lua_pushinteger(L, (lua_Integer)metric_get(METRIC_LINES_IN));
	lua_setfield(L, -2, "lines");
	lua_pushinteger(L, (lua_Integer)metric_get(METRIC_BROADCASTS));
	lua_setfield(L, -2, "broadcasts");
	lua_pushinteger(L, (lua_Integer)metric_get(METRIC_BYTES_OUT));
	lua_setfield(L, -2, "bytes_out");
	lua_pushinteger(L, (lua_Integer)script_memory(script_get(L)));
	lua_setfield(L, -2, "lua_memory");
	return (1);
}

/*
 * Push chat.config: every key of the table by section, with its type
 * (numbers, booleans, strings; an unset path is nil), and the [plugin.NAME]
 * sections as chat.config.plugin.NAME.key strings.  All read-only.
 */
static void
api_push_config(lua_State *L, const struct config *cfg)
{
	const struct config_key	*k;
	struct config_extra	*x;
	int			 root, plugins, i;

	lua_newtable(L);
	root = lua_gettop(L);
	for (k = config_keys; k->section != NULL; k++) {
		if (lua_getfield(L, root, k->section) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, root, k->section);
		}
		switch (k->type) {
		case CONF_INT:
			lua_pushinteger(L, (lua_Integer)config_int(cfg, k));
			break;
		case CONF_BOOL:
			lua_pushboolean(L, (int)config_int(cfg, k));
			break;
		case CONF_PORT:		/* false when off */
			if (config_int(cfg, k) == -1)
				lua_pushboolean(L, 0);
			else
				lua_pushinteger(L,
				    (lua_Integer)config_int(cfg, k));
			break;
		case CONF_LEVEL:
			lua_pushstring(L, log_level_name((int)config_int(cfg,
			    k)));
			break;
		default:
			lua_pushstring(L, config_str(cfg, k));
			break;
		}
		lua_setfield(L, -2, k->name);
		lua_pop(L, 1);
	}
	lua_newtable(L);
	plugins = lua_gettop(L);
	for (x = cfg->extra; x != NULL; x = x->next) {
		if (lua_getfield(L, plugins, x->section + 7) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, plugins, x->section + 7);
		}
		lua_pushstring(L, x->value);
		lua_setfield(L, -2, x->key);
		lua_pop(L, 1);
	}
	lua_setfield(L, root, "plugin");

	/* Now make every level read-only, innermost first. */
	lua_getfield(L, root, "plugin");
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		sandbox_readonly(L, "chat.config");
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	sandbox_readonly(L, "chat.config");
	lua_setfield(L, root, "plugin");
	for (i = 0; config_keys[i].section != NULL; i++) {
		lua_getfield(L, root, config_keys[i].section);
		if (lua_getmetatable(L, -1)) {	/* done already */
			lua_pop(L, 2);
			continue;
		}
		sandbox_readonly(L, "chat.config");
		lua_setfield(L, root, config_keys[i].section);
	}
	sandbox_readonly(L, "chat.config");
}

/*
 * Make the user metatable and the tables of handles and data; add the
 * room functions, chat.config and chat.version to the table at idx.
 */
void
api_open(lua_State *L, int idx, const struct config *cfg)
{
	static const luaL_Reg user_methods[] = {
		{ "send", user_send },
		{ "close", user_close },
		{ "rename", user_rename },
		{ "oper", api_user_oper },
		{ NULL, NULL }
	};
	static const luaL_Reg chat_funcs[] = {
		{ "broadcast", chat_broadcast },
		{ "local_broadcast", chat_local_broadcast },
		{ "users", chat_users },
		{ "names", chat_names },
		{ "count", chat_count },
		{ "prefix", chat_prefix },
		{ "find", chat_find },
		{ "fold", chat_fold },
		{ "log", chat_log },
		{ "stats", chat_stats },
		{ NULL, NULL }
	};
	int	i;

	idx = lua_absindex(L, idx);
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "v");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &api_key_handles);
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &api_key_data);

	luaL_newmetatable(L, USER_MT);
	luaL_newlib(L, user_methods);
	for (i = 0; user_fields[i] != NULL; i++) {
		lua_pushinteger(L, i + 1);
		lua_setfield(L, -2, user_fields[i]);
	}
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, user_index, 2);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, user_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, user_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "chatd.user");
	lua_setfield(L, -2, "__name");
	lua_pushboolean(L, 0);		/* getmetatable(user) is false */
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);

	lua_pushvalue(L, idx);
	luaL_setfuncs(L, chat_funcs, 0);
	lua_pop(L, 1);
	api_push_config(L, cfg);
	lua_setfield(L, idx, "config");
	lua_pushliteral(L, PACKAGE_VERSION);
	lua_setfield(L, idx, "version");
}
