/*
 * Commands that wait.  A command runs as a coroutine (command.c), so that
 * in a cluster user:rename() can wait for Redis to say whether a name is
 * free, as if the call simply took a moment: the coroutine yields, is kept
 * here with the user's input held behind it (client_wait), and goes on
 * when the room backend answers (wait_claimed), the rename hooks having
 * run first.  A command that yields anything else is the plugin's error:
 * it would never be resumed.
 */

#include "config.h"

#include <string.h>

#include "script.h"

/*
 * Registry key: user id -> { a command's coroutine waiting for a name
 * claim, its plugin }.  Its address is also what user:rename() yields.
 */
static const char wait_key = 'w';

/* Make the table of waiting commands. */
void
wait_open(lua_State *L)
{
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &wait_key);
}

/*
 * Run or go on with a command's coroutine co, with the nargs values on its
 * stack, for the user of this id, as plugin's code.  A command runs as a
 * coroutine so that user:rename() can wait, in a cluster, for Redis to
 * say whether the name is free: it yields the address of
 * wait_key, and the coroutine is kept in that table until
 * wait_claimed() resumes it, the user's input held meanwhile.  Any
 * other yield is the plugin's error.
 */
void
wait_resume(lua_State *L, lua_State *co, int nargs, uint64_t id,
    struct plugin *plugin)
{
	struct script	*S = script_get(L);
	struct plugin	*saved = S->cur;
	struct client	*c;
	int		 status, nres;

	S->command = co;
	S->cur = plugin;
	status = lua_resume(co, L, nargs, &nres);
	S->command = NULL;
	S->cur = saved;
	if (status == LUA_YIELD && nres == 1 &&
	    lua_touserdata(co, -1) == (void *)&wait_key) {
		lua_pop(co, 1);
		lua_rawgetp(L, LUA_REGISTRYINDEX, &wait_key);
		lua_createtable(L, 2, 0);
		lua_pushthread(co);
		lua_xmove(co, L, 1);
		lua_rawseti(L, -2, 1);
		lua_pushlightuserdata(L, plugin);
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, (lua_Integer)id);
		lua_pop(L, 1);
		S->yielded = 1;
		if ((c = registry_find_id(&S->srv->reg, id)) != NULL &&
		    !(c->flags & CLIENT_REMOTE))
			client_wait(c);
		return;
	}
	if (status == LUA_YIELD) {
		lua_pushliteral(L, "a command may not yield (coroutine.yield "
		    "outside a coroutine of its own)");
		status = LUA_ERRRUN;
	} else if (status != LUA_OK) {
		lua_xmove(co, L, 1);		/* the error value */
		luaL_traceback(L, co, script_error_text(L, lua_gettop(L)), 0);
	} else {
		lua_pop(co, nres);
		return;
	}
	script_report(L, status);
	lua_pop(L, 1);
	metric_label_inc(METRIC_PLUGIN_ERRORS, plugin_basename(plugin));
}

/*
 * Whether the code running in L may wait for a name claim: it is a
 * command's own coroutine, not inside a C call that cannot yield.
 */
int
wait_possible(lua_State *L)
{
	return (L == script_get(L)->command && lua_isyieldable(L));
}

/* Suspend the command until wait_claimed() resumes it. */
int
wait_yield(lua_State *L)
{
	lua_pushlightuserdata(L, (void *)&wait_key);
	return (lua_yield(L, 1));
}

/* What a claimed rename's answer hands to its protected function. */
struct wait_claim_call {
	struct script	*S;
	uint64_t	 id;
	const char	*old;		/* the user's name before */
	const char	*why;		/* NULL: it has the name */
};

/*
 * Protected: a claimed rename is answered.  If the user has the name, the
 * rename hooks run (now that it is theirs); then the command that asked
 * for it goes on, user:rename() returning true or nil and why.
 */
static int
wait_claimed_tramp(lua_State *L)
{
	struct wait_claim_call *call = lua_touserdata(L, 1);
	struct client		*c;
	struct plugin		*plugin;
	lua_State		*co;

	c = registry_find_id(&call->S->srv->reg, call->id);
	if (c != NULL && call->why == NULL) {
		api_push_user(L, c);
		lua_pushstring(L, call->old);
		lua_pushstring(L, c->name);
		plugin_fire(L, EV_RENAME, 3, 0);
		lua_settop(L, 1);
	}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &wait_key);
	if (lua_rawgeti(L, -1, (lua_Integer)call->id) != LUA_TTABLE)
		return (0);	/* asked by the plugins before a reload */
	lua_rawgeti(L, -1, 1);
	co = lua_tothread(L, -1);
	lua_rawgeti(L, -2, 2);
	plugin = lua_touserdata(L, -1);
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_rawseti(L, -4, (lua_Integer)call->id);
	if (c != NULL && call->why == NULL) {
		lua_pushboolean(co, 1);
		wait_resume(L, co, 1, call->id, plugin);
	} else {
		lua_pushnil(co);
		lua_pushstring(co, c != NULL ? call->why : "gone");
		wait_resume(L, co, 2, call->id, plugin);
	}
	return (0);
}

/*
 * The room backend answered a claimed rename of user id (a room_claim_cb):
 * why is NULL if the user now has the name.  Its command goes on, then
 * its input.
 */
void
wait_claimed(struct server *srv, uint64_t id, const char *old,
    const char *why)
{
	struct wait_claim_call call;
	struct client		*c;

	call.S = srv->script;
	call.id = id;
	call.old = old;
	call.why = why;
	srv->script->yielded = 0;
	script_run(srv->script, wait_claimed_tramp, &call,
	    registry_find_id(&srv->reg, id));
	/* Unless the command waits again, the user's next lines go on. */
	if (!srv->script->yielded &&
	    (c = registry_find_id(&srv->reg, id)) != NULL &&
	    !(c->flags & CLIENT_REMOTE))
		client_unwait(c);
}
