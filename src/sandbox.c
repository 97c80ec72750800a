/*
 * The sandbox: what plugin code may reach, and how the library functions
 * it is given are kept under the budget (script.c).
 *
 * Without [lua] unsafe, a plugin gets the base library less file access
 * and collector control, text-only load(), coroutine, string, table,
 * math, utf8 and os's clock and date.  The tables every plugin's
 * environment reads through (chat and the libraries) are read-only
 * proxies, so one plugin cannot change them for the others; strings'
 * shared metatable is hidden.  Functions whose work grows with their
 * arguments read the clock after they return, those that build a buffer
 * get a second try after a collection, table.sort's default comparison
 * is charged as instructions, the pattern matcher (pattern.c) counts its
 * steps, and the handlers Lua runs with hooks off are replaced by guards
 * written in Lua (sandbox_guards) that run under the budget.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "script.h"

static const struct pattern_ops sandbox_pattern_ops = { script_spend };

/*
 * load(), but text only: precompiled chunks can break the VM.  A chunk
 * given no environment gets its plugin's, as its plugin's own code does,
 * not the globals every plugin's environment reads through.
 */
static int
sandbox_load(lua_State *L)
{
	int	n = lua_gettop(L), i;

	luaL_checkstack(L, n + 4, NULL);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	if (n >= 2)
		lua_pushvalue(L, 2);
	else
		lua_pushnil(L);
	lua_pushliteral(L, "t");
	if (n >= 4) {
		for (i = 4; i <= n; i++)
			lua_pushvalue(L, i);
	} else
		plugin_push_env(L, script_get(L)->cur);
	lua_call(L, n >= 4 ? n : 4, LUA_MULTRET);
	script_check_time(L);
	return (lua_gettop(L) - n);
}

/*
 * Lua runs some code with hooks switched off, where the instruction budget
 * cannot stop it: finalizers always, and after an error raised by a hook
 * (as the budget's is) the message handler of xpcall and the __close
 * handlers a failed coroutine runs when it is closed.  These replacements
 * keep all plugin code under the budget: xpcall calls its handler after
 * the stack has unwound (so a traceback in it shows the xpcall's caller),
 * a coroutine.wrap function does not close its coroutine on error and
 * coroutine.close is not offered, and setmetatable refuses __gc (unless
 * the operator opened the whole library, debug.setmetatable included).
 */
static const char sandbox_guards[] =
	"local unsafe = ...\n"
	"local pcall, select, error, type = pcall, select, error, type\n"
	"local rawget, setmetatable = rawget, setmetatable\n"
	"local create, resume = coroutine.create, coroutine.resume\n"
	"local function xfinish(h, ok, ...)\n"
	"  if ok then return true, ... end\n"
	"  return false, select(2, pcall(h, (...)))\n"
	"end\n"
	"xpcall = function(f, h, ...)\n"
	"  if type(h) ~= 'function' then\n"
	"    error('bad argument #2 to xpcall (function expected)', 2)\n"
	"  end\n"
	"  return xfinish(h, pcall(f, ...))\n"
	"end\n"
	"local function wfinish(ok, ...)\n"
	"  if ok then return ... end\n"
	"  error((...), 0)\n"
	"end\n"
	"coroutine.wrap = function(f)\n"
	"  local co = create(f)\n"
	"  return function(...) return wfinish(resume(co, ...)) end\n"
	"end\n"
	"coroutine.close = nil\n"
	"if unsafe then return end\n"
	"_G.setmetatable = function(t, mt)\n"
	"  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
	"    error('__gc metamethods are not available to plugins', 2)\n"
	"  end\n"
	"  return setmetatable(t, mt)\n"
	"end\n";

/* Registry key: the set of read-only proxies (weak keys). */
static const char sandbox_key_readonly = 'r';

/* Writing to a read-only table: upvalue 1 is its name. */
static int
sandbox_readonly_error(lua_State *L)
{
	return (luaL_error(L, "%s is read-only",
	    lua_tostring(L, lua_upvalueindex(1))));
}

/* next() over the table behind a proxy (upvalue 1). */
static int
sandbox_readonly_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(1)))
		return (2);
	lua_pushnil(L);
	return (1);
}

/*
 * pairs() over a read-only proxy walks the table behind it, through a
 * closure: handing out next and the table itself would make it writable.
 */
static int
sandbox_readonly_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, sandbox_readonly_next, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return (3);
}

/* #proxy is the length of the table behind it. */
static int
sandbox_readonly_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)luaL_len(L, lua_upvalueindex(1)));
	return (1);
}

/*
 * Replace the table on top of the stack by a read-only proxy of it, named
 * name in errors.  The proxy is empty and its metatable hidden, so only
 * rawset() could write to it: sandbox_rawset() refuses the proxies it
 * finds in the registry's set.
 */
void
sandbox_readonly(lua_State *L, const char *name)
{
	luaL_checkstack(L, 5, NULL);
	lua_newtable(L);			/* proxy */
	lua_createtable(L, 0, 5);		/* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, name);
	lua_pushcclosure(L, sandbox_readonly_error, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, -3);
	lua_pushcclosure(L, sandbox_readonly_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_pushvalue(L, -3);
	lua_pushcclosure(L, sandbox_readonly_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_remove(L, -2);

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_key_readonly) !=
	    LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_key_readonly);
	}
	lua_pushvalue(L, -2);
	lua_pushstring(L, name);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* rawset(t, k, v), refused on a read-only proxy. */
static int
sandbox_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_key_readonly);
	lua_pushvalue(L, 1);
	if (lua_rawget(L, -2) == LUA_TSTRING)
		return (luaL_error(L, "%s is read-only", lua_tostring(L, -1)));
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return (1);
}

/* Whether a failed call's status and error value say "out of memory". */
static int
sandbox_is_memerr(lua_State *L, int status)
{
	const char	*msg;

	if (status == LUA_ERRMEM)
		return (1);
	msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	return (status == LUA_ERRRUN && msg != NULL &&
	    strcmp(msg, "not enough memory") == 0);
}

/*
 * A library function that builds its result in a lauxlib buffer, called
 * with a second chance.  Lua collects garbage and retries before it
 * refuses memory for its own objects, but lauxlib's buffers call the
 * allocator directly and fail at once: with the heap full of garbage
 * (after a plugin hit memory_limit, say) every string.rep, format or
 * table.concat over a few kilobytes failed until the collector came round.
 * The allocator cannot collect itself (the collector is not reentrant and
 * may be what allocates), so this does, where it is safe: in a C function
 * between two calls of the library's own.  Not gsub, whose replacement
 * function would run twice.
 */
static int	sandbox_timed_call(lua_State *);

static int
sandbox_retry_call(lua_State *L)
{
	int	n = lua_gettop(L), i, status;

	luaL_checkstack(L, n + 2, NULL);
	lua_pushvalue(L, lua_upvalueindex(1));
	for (i = 1; i <= n; i++)
		lua_pushvalue(L, i);
	status = lua_pcall(L, n, LUA_MULTRET, 0);
	if (status == LUA_OK) {
		script_check_time(L);
		return (lua_gettop(L) - n);
	}
	if (!sandbox_is_memerr(L, status))
		return (lua_error(L));
	lua_settop(L, n);
	lua_gc(L, LUA_GCCOLLECT);
	return (sandbox_timed_call(L));	/* the second try, unprotected */
}

/*
 * A library function whose work grows with its arguments (a string's or
 * a table's length), with the clock read after it.  The count hook reads
 * it every 1000 instructions, and 1000 such calls, in a loop of a few
 * instructions, can take seconds; this way a call ends the budget right
 * after the one that passed max_time.
 */
static int
sandbox_timed_call(lua_State *L)
{
	int	n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	script_check_time(L);
	return (lua_gettop(L));
}

/*
 * The comparison table.sort makes without a function of the plugin's:
 * a < b, as Lua's own, with every comparison charged to the budget as an
 * instruction.  In C, sorting the two million numbers the default
 * memory_limit can hold took a second that nothing could interrupt.
 */
static int
sandbox_sort_lt(lua_State *L)
{
	struct script	*S = script_get(L);
	int		 lt = lua_compare(L, 1, 2, LUA_OPLT);

	if (++S->sort_steps >= SCRIPT_HOOK_STEP) {
		S->sort_steps = 0;
		script_spend(L, SCRIPT_HOOK_STEP);
	}
	lua_pushboolean(L, lt);
	return (1);
}

/* table.sort(t [, comp]): with sandbox_sort_lt() for a missing comp. */
static int
sandbox_sort(lua_State *L)
{
	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_pushcfunction(L, sandbox_sort_lt);
	}
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 0);
	script_check_time(L);
	return (0);
}

/*
 * Wrap the library functions whose work grows with their arguments:
 * timed, and those that build a string in a buffer given a second
 * chance after a memory error as well.
 */
static void
sandbox_wrap_library(lua_State *L)
{
	static const struct {
		const char	*name;
		int		 retry;
	} fns[] = {
		{ "string.rep", 1 }, { "string.format", 1 },
		{ "string.char", 1 }, { "string.upper", 1 },
		{ "string.lower", 1 }, { "string.reverse", 1 },
		{ "string.pack", 1 }, { "string.dump", 1 },
		{ "table.concat", 1 }, { "utf8.char", 1 },
		{ "string.sub", 0 }, { "string.byte", 0 },
		{ "string.unpack", 0 }, { "table.insert", 0 },
		{ "table.remove", 0 }, { "table.move", 0 },
		{ "table.unpack", 0 },
		{ "utf8.len", 0 }, { "utf8.codepoint", 0 },
		{ "utf8.offset", 0 }, { "select", 0 },
		{ NULL, 0 }
	};
	char		 lib[16];
	const char	*dot, *name;
	int		 i;

	for (i = 0; fns[i].name != NULL; i++) {
		if ((dot = strchr(fns[i].name, '.')) == NULL) {
			lua_pushglobaltable(L);
			name = fns[i].name;
		} else {
			snprintf(lib, sizeof lib, "%.*s",
			    (int)(dot - fns[i].name), fns[i].name);
			name = dot + 1;
			if (lua_getglobal(L, lib) != LUA_TTABLE) {
				lua_pop(L, 1);
				continue;
			}
		}
		lua_getfield(L, -1, name);
		lua_pushcclosure(L, fns[i].retry ? sandbox_retry_call :
		    sandbox_timed_call, 1);
		lua_setfield(L, -2, name);
		lua_pop(L, 1);
	}
	lua_getglobal(L, LUA_TABLIBNAME);
	lua_getfield(L, -1, "sort");
	lua_pushcclosure(L, sandbox_sort, 1);
	lua_setfield(L, -2, "sort");
	lua_pop(L, 1);
}

/* Hide the metatable strings share, so no plugin changes it for all. */
static void
sandbox_hide_string_meta(lua_State *L)
{
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* print(), into the log at level info. */
static int
sandbox_print(lua_State *L)
{
	luaL_Buffer	 b;
	const char	*s;
	size_t		 len;
	int		 n = lua_gettop(L), i;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	if (script_log_allowed(script_get(L)))
		log_text(LL_INFO, "lua: ", s, len);
	return (0);
}

/*
 * Open the standard libraries a plugin may use.  Without unsafe, that is
 * the base library less file access and garbage collector control, text
 * only load(), coroutine, string, table, math, utf8 and the clock and date
 * functions of os: nothing that reaches files, processes or the exit.
 */
void
sandbox_open(lua_State *L, int unsafe)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },
		{ LUA_COLIBNAME, luaopen_coroutine },
		{ LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
		{ NULL, NULL }
	};
	static const char *const os_keep[] = {
		"clock", "date", "difftime", "time", NULL
	};
	static const char *const base_drop[] = {
		"dofile", "loadfile", "collectgarbage", "warn", NULL
	};
	const luaL_Reg		*lib;
	int			 i;

	if (unsafe)
		luaL_openlibs(L);
	else {
		for (lib = libs; lib->func != NULL; lib++) {
			luaL_requiref(L, lib->name, lib->func, 1);
			lua_pop(L, 1);
		}
		for (i = 0; base_drop[i] != NULL; i++) {
			lua_pushnil(L);
			lua_setglobal(L, base_drop[i]);
		}
		lua_getglobal(L, "load");
		lua_pushcclosure(L, sandbox_load, 1);
		lua_setglobal(L, "load");

		luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
		lua_newtable(L);
		for (i = 0; os_keep[i] != NULL; i++) {
			lua_getfield(L, -2, os_keep[i]);
			lua_setfield(L, -2, os_keep[i]);
		}
		lua_setglobal(L, LUA_OSLIBNAME);
		lua_pop(L, 1);
	}
	lua_pushcfunction(L, sandbox_print);
	lua_setglobal(L, "print");
	lua_pushcfunction(L, sandbox_rawset);
	lua_setglobal(L, "rawset");
	sandbox_hide_string_meta(L);
	lua_getglobal(L, LUA_STRLIBNAME);
	pattern_open(L, -1, &sandbox_pattern_ops);
	lua_pop(L, 1);
	sandbox_wrap_library(L);
	if (luaL_loadbufferx(L, sandbox_guards, sizeof sandbox_guards - 1,
	    SCRIPT_GUARDS, "t") != LUA_OK)
		lua_error(L);
	lua_pushboolean(L, unsafe);
	lua_call(L, 1, 0);
}

/*
 * Make the shared tables read-only: every plugin has its own globals
 * (plugin.c), which read through to these, so one plugin that sets
 * string.rep or chat.broadcast would change them for all.  package stays
 * as it is: with unsafe, require writes to it.
 */
void
sandbox_freeze(lua_State *L)
{
	static const char *const shared[] = {
		"chat", LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME,
		LUA_UTF8LIBNAME, LUA_COLIBNAME, LUA_OSLIBNAME, LUA_IOLIBNAME,
		LUA_DBLIBNAME, NULL
	};
	int	i;

	for (i = 0; shared[i] != NULL; i++) {
		if (lua_getglobal(L, shared[i]) != LUA_TTABLE) {
			lua_pop(L, 1);
			continue;
		}
		sandbox_readonly(L, shared[i]);
		lua_setglobal(L, shared[i]);
	}
}
