/*
 * chat.keep: the state a plugin hands from one Lua state to the next.
 *
 * A plugin declares, as it loads, the one table it keeps:
 *
 *   local kept = chat.keep { topic = nil, lines = {} }
 *
 * and gets back the table its previous load kept (keys of the defaults
 * that it lacks are filled in), or the defaults themselves the first
 * time.  Its users' user.data tables are handed on too, for the users
 * still online.  What is kept is plain data: strings, numbers, booleans
 * and tables of those (keys: strings, numbers, booleans), at most
 * KEEP_DEPTH tables deep and [lua] state_limit bytes per plugin, its own
 * table and its users' together.  A plugin that keeps anything else (a
 * function, a user handle, a table that holds itself) or more is told in
 * the log and starts its next load afresh.
 *
 * The encoding is C's, little-endian and fixed in width (ustate.c's
 * primitives), and one reader both checks bytes from a file and builds
 * the Lua values from them, so what a file may hold is what chatd reads:
 *
 *   value = 'f' | 't' | 'i' u64 | 'd' f64 | 's' str
 *         | 'T' u32:n (value:key value)*n
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define KEEP_DEPTH	32	/* tables inside tables */

/* Registry key: plugin index -> the table it keeps. */
static const char keep_key = 'k';

/* An encoding under way. */
struct keep_out {
	struct clbuf	 b;
	size_t		 limit;		/* bytes, all of one plugin's */
	size_t		 base;		/* of which earlier records took */
	char		 err[128];
};

/* What keep_take hands its protected function. */
struct keep_call {
	struct kept_rec	*v;
	size_t		 n;
};

static void	keep_put(lua_State *, int, struct keep_out *, int, int);

/* Note why the value cannot be kept: the first reason only. */
static void
keep_fail(struct keep_out *o, const char *why, const char *type)
{
	if (o->err[0] != '\0')
		return;
	if (type != NULL)
		snprintf(o->err, sizeof o->err, "a %s (only strings, numbers, "
		    "booleans and tables of those are kept)", type);
	else
		snprintf(o->err, sizeof o->err, "%s", why != NULL ? why : "?");
}

/* Encode the table at idx: its pairs, counted, then each key and value. */
static void
keep_put_table(lua_State *L, int idx, struct keep_out *o, int depth)
{
	size_t		at, n = 0;
	int		i;

	if (depth >= KEEP_DEPTH) {
		keep_fail(o, "tables more than 32 deep (or one that holds "
		    "itself)", NULL);
		return;
	}
	ustate_put_u8(&o->b, 'T');
	at = o->b.len;
	ustate_put_u32(&o->b, 0);
	luaL_checkstack(L, 4, NULL);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		keep_put(L, lua_gettop(L) - 1, o, depth + 1, 1);
		keep_put(L, lua_gettop(L), o, depth + 1, 0);
		if (o->err[0] != '\0') {
			lua_pop(L, 2);	/* the key and value where it stopped */
			return;
		}
		lua_pop(L, 1);
		n++;
	}
	for (i = 0; i < 4; i++)
		o->b.data[at + (size_t)i] = (char)((n >> (8 * i)) & 0xff);
}

/* Encode the value at idx (a table key if iskey), or say why not. */
static void
keep_put(lua_State *L, int idx, struct keep_out *o, int depth, int iskey)
{
	const char	*s;
	size_t		 len;

	if (o->err[0] != '\0')
		return;
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		ustate_put_u8(&o->b, lua_toboolean(L, idx) ? 't' : 'f');
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			ustate_put_u8(&o->b, 'i');
			ustate_put_u64(&o->b, (uint64_t)lua_tointeger(L, idx));
		} else {
			ustate_put_u8(&o->b, 'd');
			ustate_put_f64(&o->b, (double)lua_tonumber(L, idx));
		}
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (len > o->limit) {
			keep_fail(o, "a string over state_limit", NULL);
			return;
		}
		ustate_put_u8(&o->b, 's');
		ustate_put_str(&o->b, s, len);
		break;
	case LUA_TTABLE:
		if (iskey) {
			keep_fail(o, "a table as a key", NULL);
			return;
		}
		keep_put_table(L, idx, o, depth);
		break;
	default:
		keep_fail(o, NULL, luaL_typename(L, idx));
		return;
	}
	if (o->base + o->b.len > o->limit)
		keep_fail(o, "more than state_limit bytes", NULL);
}

/*
 * Read one value: with L, push it; without, only check it.  Sets in->err
 * on anything chatd would not have written.
 */
static void
keep_read(lua_State *L, struct ustate_in *in, int depth, int iskey)
{
	const unsigned char	*tag;
	const char		*s;
	size_t			 len;
	uint64_t		 n, i;
	double			 d;

	if ((tag = ustate_take(in, 1)) == NULL)
		return;
	switch (*tag) {
	case 'f':
	case 't':
		if (L != NULL)
			lua_pushboolean(L, *tag == 't');
		return;
	case 'i':
		n = ustate_get_uint(in, 8);
		if (L != NULL && in->err == NULL)
			lua_pushinteger(L, (lua_Integer)n);
		return;
	case 'd':
		d = ustate_get_f64(in);
		if (iskey && isnan(d))
			in->err = "a NaN key";
		else if (L != NULL && in->err == NULL)
			lua_pushnumber(L, (lua_Number)d);
		return;
	case 's':
		s = ustate_get_str(in, in->left, &len, "truncated");
		if (L != NULL && in->err == NULL)
			lua_pushlstring(L, s, len);
		return;
	case 'T':
		break;
	default:
		in->err = "a value of no kind chatd keeps";
		return;
	}
	if (iskey || depth >= KEEP_DEPTH) {
		in->err = iskey ? "a table as a key" : "tables too deep";
		return;
	}
	n = ustate_get_uint(in, 4);
	if (in->err == NULL && n > in->left / 2)
		in->err = "truncated";	/* a pair takes two bytes at least */
	if (in->err != NULL)
		return;
	if (L != NULL) {
		luaL_checkstack(L, 4, NULL);
		lua_createtable(L, 0, n < 64 ? (int)n : 64);
	}
	for (i = 0; i < n && in->err == NULL; i++) {
		keep_read(L, in, depth + 1, 1);
		if (in->err != NULL)
			break;
		keep_read(L, in, depth + 1, 0);
		if (in->err != NULL) {
			if (L != NULL)
				lua_pop(L, 1);
			break;
		}
		if (L != NULL)
			lua_rawset(L, -3);
	}
	if (in->err != NULL && L != NULL)
		lua_pop(L, 1);
}

/* NULL if data is one value keep.c wrote, else what is wrong with it. */
const char *
keep_check(const char *data, size_t len)
{
	struct ustate_in	in;

	in.p = (const unsigned char *)data;
	in.left = len;
	in.err = NULL;
	keep_read(NULL, &in, 0, 0);
	if (in.err == NULL && in.left != 0)
		in.err = "bytes after a value";
	return (in.err);
}

/* Push the value data holds; 0, or -1 with nothing pushed and *why set. */
static int
keep_push(lua_State *L, const char *data, size_t len, const char **why)
{
	struct ustate_in	in;

	if ((*why = keep_check(data, len)) != NULL)
		return (-1);
	in.p = (const unsigned char *)data;
	in.left = len;
	in.err = NULL;
	keep_read(L, &in, 0, 0);
	return (0);
}

/* Add one record to the call's list. */
static void
keep_add(struct keep_call *call, const char *plugin, uint64_t user,
    struct clbuf *b)
{
	struct kept_rec	*r;

	call->v = xrealloc(call->v, (call->n + 1) * sizeof *call->v);
	r = &call->v[call->n++];
	r->plugin = xstrdup(plugin);
	r->user = user;
	r->data = b->data != NULL ? b->data : xstrdup("");
	r->len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Drop the records from first on (a plugin whose state is refused). */
static void
keep_drop(struct keep_call *call, size_t first)
{
	while (call->n > first) {
		call->n--;
		free(call->v[call->n].plugin);
		free(call->v[call->n].data);
	}
}

/* Protected: encode every kept table and the kept plugins' user.data. */
static int
keep_take_tramp(lua_State *L)
{
	struct keep_call	*call = lua_touserdata(L, 1);
	struct script		*S = script_get(L);
	struct keep_out		 o;
	struct plugin		*p;
	struct client		*c;
	size_t			 i, first;

	lua_rawgetp(L, LUA_REGISTRYINDEX, &keep_key);
	for (i = 0; i < plugin_count(S); i++) {
		p = plugin_nth(S, i);
		if (lua_rawgeti(L, 2, plugin_index(p)) != LUA_TTABLE) {
			lua_pop(L, 1);
			continue;
		}
		memset(&o, 0, sizeof o);
		o.limit = (size_t)S->srv->cfg.state_limit;
		first = call->n;
		keep_put(L, 3, &o, 0, 0);
		lua_pop(L, 1);
		if (o.err[0] == '\0') {
			o.base = o.b.len;
			keep_add(call, plugin_basename(p), 0, &o.b);
		}
		TAILQ_FOREACH(c, &S->srv->reg.all, entry) {
			if (o.err[0] != '\0')
				break;
			if (api_push_data(L, c->id, plugin_index(p), 0) !=
			    LUA_TTABLE || (lua_pushnil(L), lua_next(L, 3) == 0)) {
				lua_settop(L, 2);
				continue;
			}
			lua_settop(L, 3);
			keep_put(L, 3, &o, 0, 0);
			lua_settop(L, 2);
			if (o.err[0] == '\0') {
				o.base += o.b.len;
				keep_add(call, plugin_basename(p), c->id, &o.b);
			}
		}
		if (o.err[0] != '\0') {
			clbuf_free(&o.b);
			keep_drop(call, first);
			log_warn("lua: %s: its kept state is not handed on: %s; "
			    "it starts afresh", plugin_path(p), o.err);
		}
	}
	return (0);
}

/*
 * Encode what the plugins of S keep into *v (*n records, allocated).
 * Returns -1 if the Lua state failed (out of memory), with nothing.
 */
int
keep_take(struct script *S, struct kept_rec **v, size_t *n)
{
	struct keep_call	call;

	memset(&call, 0, sizeof call);
	snprintf(S->call, sizeof S->call, "keep");
	if (script_run(S, keep_take_tramp, &call, NULL) != 0) {
		keep_drop(&call, 0);
		free(call.v);
		return (-1);
	}
	*v = call.v;
	*n = call.n;
	return (0);
}

/*
 * Copy every pair of the table on top into the table at t (an absolute
 * index), or with only_missing those whose key t lacks; pop it.
 */
static void
keep_merge(lua_State *L, int t, int only_missing)
{
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		if (only_missing) {
			lua_pushvalue(L, -2);
			if (lua_rawget(L, t) != LUA_TNIL) {
				lua_pop(L, 2);
				continue;
			}
			lua_pop(L, 1);
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, t);
	}
	lua_pop(L, 1);
}

/* Give the online users back their user.data of plugin p. */
static void
keep_restore_users(lua_State *L, struct script *S, struct plugin *p)
{
	const struct kept_rec	*v;
	const char		*why;
	size_t			 i, n = state_records(S->srv, &v);

	for (i = 0; i < n; i++) {
		if (v[i].user == 0 || strcmp(v[i].plugin,
		    plugin_basename(p)) != 0 ||
		    registry_find_id(&S->srv->reg, v[i].user) == NULL)
			continue;
		api_push_data(L, v[i].user, plugin_index(p), 1);
		if (keep_push(L, v[i].data, v[i].len, &why) == 0)
			keep_merge(L, lua_gettop(L) - 1, 0);
		lua_pop(L, 1);
	}
}

/*
 * chat.keep([defaults]): the table this plugin keeps, as its previous
 * load left it (defaults filling in what it lacks), or defaults (or a new
 * table) the first time.  Only while loading; twice gives the same one.
 */
static int
keep_chat_keep(lua_State *L)
{
	struct script		*S = script_get(L);
	const struct kept_rec	*r;
	const char		*why;
	int			 idx;

	plugin_check_loading(L, "chat.keep");
	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	idx = plugin_index(S->cur);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &keep_key);		/* 2 */
	if (lua_rawgeti(L, 2, idx) == LUA_TTABLE)
		return (1);
	lua_pop(L, 1);
	r = state_find(S->srv, plugin_basename(S->cur), 0);
	if (r != NULL && keep_push(L, r->data, r->len, &why) != 0) {
		log_warn("lua: %s: its kept state cannot be read back: %s; it "
		    "starts afresh", plugin_path(S->cur), why);
		r = NULL;
	}
	if (r != NULL) {
		if (!lua_isnil(L, 1)) {
			lua_pushvalue(L, 1);
			keep_merge(L, 3, 1);
		}
	} else if (!lua_isnil(L, 1))
		lua_pushvalue(L, 1);
	else
		lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_rawseti(L, 2, idx);
	keep_restore_users(L, S, S->cur);
	return (1);
}

/* Add chat.keep to the table at idx. */
void
keep_open(lua_State *L, int idx)
{
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &keep_key);
	lua_pushvalue(L, idx);
	lua_pushcfunction(L, keep_chat_keep);
	lua_setfield(L, -2, "keep");
	lua_pop(L, 1);
}
