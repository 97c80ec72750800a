/*
 * Plugin timers: chat.timer and chat.every, and the handles they return.
 *
 * A pending timer keeps its handle alive (a registry reference), so it
 * fires whether or not the plugin kept the handle; the handle points back
 * at the timer until it has fired for the last time or was cancelled.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "script.h"

#define TIMER_MT	"chatd.timer"

struct ltimer {
	ev_timer	 w;
	struct script	*S;
	struct plugin_fn fn;
	int		 selfref;	/* the handle, alive while the timer is */
	int		 repeat;
	LIST_ENTRY(ltimer) entry;
};

struct thandle {
	struct ltimer	*t;		/* NULL once fired or cancelled */
};

/* Stop a timer, release its references and detach its handle. */
static void
timer_free(lua_State *L, struct ltimer *t)
{
	struct thandle	*h;

	lua_rawgeti(L, LUA_REGISTRYINDEX, t->selfref);
	if ((h = lua_touserdata(L, -1)) != NULL)
		h->t = NULL;
	lua_pop(L, 1);
	plugin_fn_clear(L, &t->fn);
	luaL_unref(L, LUA_REGISTRYINDEX, t->selfref);
	ev_timer_stop(t->S->srv->loop, &t->w);
	LIST_REMOVE(t, entry);
	free(t);
}

/*
 * Protected: call a timer's function (a one-shot timer is gone first).
 * The call is made on a copy of the function, as it may cancel the timer;
 * a repeating timer still pending afterwards gets the copy's breaker
 * count back, and stops if the breaker switched it off.
 */
static int
timer_fire_tramp(lua_State *L)
{
	struct ltimer	*t = lua_touserdata(L, 1);
	struct plugin_fn fn = t->fn;
	struct thandle	*h;

	if (!t->repeat) {
		t->fn.ref = LUA_NOREF;	/* fn's now, let go after the call */
		timer_free(L, t);
		plugin_call(L, &fn, 0, 0);
		plugin_fn_clear(L, &fn);
		return (0);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, t->selfref);	/* the handle */
	h = lua_touserdata(L, -1);
	plugin_call(L, &fn, 0, 0);	/* may cancel t: see h->t after */
	if ((t = h->t) == NULL)
		return (0);
	t->fn.off = fn.off;
	t->fn.errors = fn.errors;
	t->fn.window = fn.window;
	if (fn.off)
		timer_free(L, t);
	return (0);
}

/* A plugin timer is due. */
static void
timer_cb(__unused struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct ltimer	*t = container_of(w, struct ltimer, w);

	snprintf(t->S->call, sizeof t->S->call, "timer");
	script_run(t->S, timer_fire_tramp, t, NULL);
}

/* chat.timer and chat.every. */
static int
timer_new(lua_State *L, int repeat)
{
	struct script	*S = script_get(L);
	struct thandle	*h;
	struct ltimer	*t;
	lua_Number	 secs = luaL_checknumber(L, 1);
	int		 selfref;

	luaL_argcheck(L, secs > 0 && secs <= 1e9, 1,
	    "seconds must be more than 0 and at most 1e9");
	luaL_checktype(L, 2, LUA_TFUNCTION);
	h = lua_newuserdatauv(L, sizeof *h, 0);
	h->t = NULL;
	luaL_setmetatable(L, TIMER_MT);
	lua_pushvalue(L, -1);
	selfref = luaL_ref(L, LUA_REGISTRYINDEX);

	t = xcalloc(1, sizeof *t);
	t->fn.ref = LUA_NOREF;
	t->S = S;
	t->selfref = selfref;
	t->repeat = repeat;
	LIST_INSERT_HEAD(&S->timers, t, entry);
	h->t = t;
	ev_timer_init(&t->w, timer_cb, (ev_tstamp)secs,
	    repeat ? (ev_tstamp)secs : 0.);
	plugin_fn_set(L, &t->fn, 2, repeat ? "every" : "timer", NULL);
	ev_timer_start(S->srv->loop, &t->w);
	return (1);
}

/* chat.timer(seconds, fn): call fn once, seconds from now. */
static int
timer_chat_timer(lua_State *L)
{
	return (timer_new(L, 0));
}

/* chat.every(seconds, fn): call fn every seconds until cancelled. */
static int
timer_chat_every(lua_State *L)
{
	return (timer_new(L, 1));
}

/* timer:cancel(): true if it was still pending. */
static int
timer_cancel(lua_State *L)
{
	struct thandle	*h = luaL_checkudata(L, 1, TIMER_MT);

	if (h->t == NULL) {
		lua_pushboolean(L, 0);
		return (1);
	}
	timer_free(L, h->t);
	lua_pushboolean(L, 1);
	return (1);
}

/* timer.active: whether it will still fire. */
static int
timer_index(lua_State *L)
{
	struct thandle	*h = luaL_checkudata(L, 1, TIMER_MT);
	const char	*k = luaL_checkstring(L, 2);

	if (strcmp(k, "cancel") == 0)
		lua_pushcfunction(L, timer_cancel);
	else if (strcmp(k, "active") == 0)
		lua_pushboolean(L, h->t != NULL);
	else
		lua_pushnil(L);
	return (1);
}

/*
 * chat.now(): the time in seconds (since the epoch, with fractions) as
 * the event loop read it when it last woke: the clock chat.timer counts
 * on, so that a cooldown and a timer agree (and a test that moves the
 * clock moves both).
 */
static int
timer_chat_now(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)ev_now(script_get(L)->srv->loop));
	return (1);
}

/* Make the timer metatable; add chat.timer, chat.every and chat.now at
 * idx. */
void
timer_open(lua_State *L, int idx)
{
	static const luaL_Reg funcs[] = {
		{ "timer", timer_chat_timer },
		{ "every", timer_chat_every },
		{ "now", timer_chat_now },
		{ NULL, NULL }
	};

	lua_pushvalue(L, idx);
	luaL_setfuncs(L, funcs, 0);
	lua_pop(L, 1);
	luaL_newmetatable(L, TIMER_MT);
	lua_pushcfunction(L, timer_index);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);		/* getmetatable(timer) is false */
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}

/* Free the timers of a state that is closing (no Lua work needed). */
void
timer_free_all(struct script *S)
{
	struct ltimer	*t;

	while ((t = LIST_FIRST(&S->timers)) != NULL) {
		ev_timer_stop(S->srv->loop, &t->w);
		LIST_REMOVE(t, entry);
		free(t);
	}
}
