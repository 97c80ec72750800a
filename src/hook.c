/*
 * Hooks that compose: what a hook's result says to the hooks after it,
 * and output that several plugins build together.
 *
 *   return chat.stop            no later hook of this event runs (of a
 *                               command event: nor the command)
 *   return chat.refuse(text)    of a join: stop, send text to the user
 *                               and close it before anyone is told
 *                               anything; elsewhere the same as stop
 *   chat.collect(event, ...)    run the hooks of a collected event
 *                               (welcome, who) and return what they
 *                               gave, in order, as a list of strings
 *
 * The markers are light userdata at the addresses of the statics below,
 * so no plugin can forge one from a string or number, and comparing one
 * costs a pointer compare.  The wording stays in the plugins: 10-room.lua
 * sends the welcome lines, 20-commands.lua writes the who rows; C only
 * runs the hooks and carries their strings.
 */

#include "config.h"

#include <string.h>

#include "script.h"

#define HOOK_REFUSE_MAX	1024	/* bytes of a refusal's line */

static const char hook_stop = 's';
static const char hook_refuse = 'r';

/* What the hook result at idx says. */
enum hook_verdict
hook_verdict(lua_State *L, int idx)
{
	const void	*p;

	if (lua_type(L, idx) != LUA_TLIGHTUSERDATA)
		return (HOOK_GO);
	p = lua_touserdata(L, idx);
	if (p == &hook_stop)
		return (HOOK_STOP);
	if (p == &hook_refuse)
		return (HOOK_REFUSE);
	return (HOOK_GO);
}

/*
 * chat.refuse([text]): the two results a join hook returns to refuse the
 * join.  The text is one line, checked here so that the error points at
 * the plugin that wrote it, not at the core that sends it.
 */
static int
hook_chat_refuse(lua_State *L)
{
	const char	*text;
	size_t		 len;

	text = luaL_optlstring(L, 1, "", &len);
	if (len > HOOK_REFUSE_MAX)
		return (luaL_argerror(L, 1, lua_pushfstring(L,
		    "at most %d bytes", HOOK_REFUSE_MAX)));
	if (memchr(text, '\n', len) != NULL || memchr(text, '\r', len) != NULL)
		return (luaL_argerror(L, 1, "one line, without CR or LF"));
	lua_pushlightuserdata(L, (void *)&hook_refuse);
	lua_pushlstring(L, text, len);
	return (2);
}

/* Append the string, or each string of the list, at idx to the list t. */
static void
hook_gather(lua_State *L, int t, int idx)
{
	lua_Integer	 i, n;

	if (lua_type(L, idx) == LUA_TSTRING) {
		lua_pushvalue(L, idx);
		lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
		return;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	n = (lua_Integer)lua_rawlen(L, idx);
	for (i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) == LUA_TSTRING)
			lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
		else
			lua_pop(L, 1);
	}
}

/*
 * chat.collect(event, ...): call the hooks of a collected event with the
 * other arguments, in hook order, and return the strings they returned
 * (a hook may return one, a list of them, or nothing) as one list.  A
 * hook that fails gives nothing; one that returns chat.stop ends it.
 */
static int
hook_chat_collect(lua_State *L)
{
	struct script		*S = script_get(L);
	struct plugin_fn	*fns;
	const char		*name;
	size_t			 i, n;
	int			 ev, nargs, t, j;

	/* fns stays put while the hooks run: chat.on works only while
	 * the plugins load, and this does not. */
	plugin_check_running(L, "chat.collect");
	name = luaL_checkstring(L, 1);
	ev = plugin_event_index(name);
	if (ev != EV_WELCOME && ev != EV_WHO)
		return (luaL_argerror(L, 1, lua_pushfstring(L,
		    "'%s' is not an event to collect (welcome, who)", name)));
	nargs = lua_gettop(L) - 1;
	lua_newtable(L);
	t = lua_gettop(L);
	luaL_checkstack(L, nargs + 4, NULL);
	n = plugin_hooks(S, (enum plugin_event)ev, &fns);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nargs; j++)
			lua_pushvalue(L, 2 + j);
		if (!plugin_call(L, &fns[i], nargs, 1))
			continue;
		if (hook_verdict(L, -1) != HOOK_GO) {
			lua_pop(L, 1);
			break;
		}
		hook_gather(L, t, lua_gettop(L));
		lua_pop(L, 1);
	}
	lua_settop(L, t);
	return (1);
}

/* Add chat.stop, chat.refuse and chat.collect to the table at idx. */
void
hook_open(lua_State *L, int idx)
{
	static const luaL_Reg funcs[] = {
		{ "refuse", hook_chat_refuse },
		{ "collect", hook_chat_collect },
		{ NULL, NULL }
	};

	lua_pushvalue(L, idx);
	luaL_setfuncs(L, funcs, 0);
	lua_pushlightuserdata(L, (void *)&hook_stop);
	lua_setfield(L, -2, "stop");
	lua_pop(L, 1);
}
