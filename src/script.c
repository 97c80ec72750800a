/*
 * The Lua state: its memory, instruction and time budgets, the errors
 * of plugin code, and the protected calls every entry from C into Lua
 * goes through.  What plugin code may reach is sandbox.c's.
 *
 * Every entry from C runs through script_run(), in the manner of lua.c:
 * the work itself is a C function called with lua_pcall(), so even an
 * allocation failure while pushing arguments is caught, never a panic.
 * Inside it, each plugin function is called through script_pcall() on its
 * own, so one broken hook does not keep the others from running.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "script.h"

#define SCRIPT_LOG_RATE		10	/* plugin log lines a second... */
#define SCRIPT_LOG_BURST	50	/* ...after this many at once */

struct script_call {
	struct script		*S;
	const struct config	*cfg;
};

/* The script a Lua state belongs to (kept in its extra space). */
struct script *
script_get(lua_State *L)
{
	struct script	*S;

	memcpy(&S, lua_getextraspace(L), sizeof S);
	return (S);
}

/*
 * The allocator: plain realloc() under a budget.  A refused allocation
 * makes Lua collect garbage and try again, then raise "not enough memory"
 * in the plugin; the server itself never grows past memory_limit for Lua.
 */
static void *
script_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct script	*S = ud;
	void		*p;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		S->mem_used -= osize;
		return (NULL);
	}
	if (nsize > osize && S->mem_used + (nsize - osize) > S->mem_limit)
		return (NULL);
	if ((p = realloc(ptr, nsize)) == NULL)
		return (NULL);
	S->mem_used = S->mem_used - osize + nsize;
	return (p);
}

/* Push what stopped the call, as its error message says it. */
static void
script_push_spent(lua_State *L, const struct script *S)
{
	if (S->exhausted == SPENT_TIME)
		lua_pushfstring(L, "time limit exceeded (max_time = %I ms)",
		    (lua_Integer)(S->max_nsec / 1000000));
	else
		lua_pushfstring(L, "instruction limit exceeded "
		    "(max_instructions = %I)", (lua_Integer)S->max_instructions);
}

static void	script_count_hook(lua_State *, lua_Debug *);


/*
 * Push "file:line: " of the plugin code running at level or above: as
 * luaL_where(), but past C functions and the sandbox's own Lua, whose
 * chunk name would mean nothing to the plugin's author.
 */
static void
script_where(lua_State *L, int level)
{
	lua_Debug	ar;

	for (; lua_getstack(L, level, &ar); level++) {
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 &&
		    strcmp(ar.source, SCRIPT_GUARDS) != 0) {
			lua_pushfstring(L, "%s:%d: ", ar.short_src,
			    ar.currentline);
			return;
		}
	}
	lua_pushliteral(L, "");
}

/*
 * The call ran out of its budget: raise the error, and make every later
 * instruction raise it again, in L and in the threads that resumed it
 * (the command's coroutine and the main thread), so that a plugin that
 * catches it with pcall() cannot go on.  The message names the line of
 * the function at level.
 */
static void
script_stop(lua_State *L, struct script *S, int level)
{
	if (L != S->L)
		lua_sethook(S->L, script_count_hook, LUA_MASKCOUNT, 1);
	if (S->command != NULL && L != S->command)
		lua_sethook(S->command, script_count_hook, LUA_MASKCOUNT, 1);
	lua_sethook(L, script_count_hook, LUA_MASKCOUNT, 1);
	script_where(L, level);
	script_push_spent(L, S);
	lua_concat(L, 2);
	lua_error(L);
}

/*
 * The count hook: adds up instructions across every coroutine of the call
 * and raises an error once max_instructions is spent or max_time has
 * passed (the clock is read every hook_step instructions, about a
 * microsecond's work).  From then on it fires at every instruction, so a
 * plugin that catches the error with pcall() cannot go on looping: the
 * next instruction raises it again.
 */
static void
script_count_hook(lua_State *L, __unused lua_Debug *ar)
{
	struct script	*S = script_get(L);
	int		 count = lua_gethookcount(L);

	if (!S->exhausted) {
		S->used += count;
		if (count != S->hook_step)	/* a coroutine left at 1 */
			lua_sethook(L, script_count_hook, LUA_MASKCOUNT,
			    S->hook_step);
		if (S->used >= S->max_instructions)
			S->exhausted = SPENT_INSTRUCTIONS;
		else if (metrics_nsec() - S->t0 >= S->max_nsec)
			S->exhausted = SPENT_TIME;
		else
			return;
	}
	script_stop(L, S, 0);	/* in a hook, level 0 is the function running */
}

/*
 * The pattern matcher's steps (pattern.c), charged as instructions, with
 * the clock read as the count hook does: a pattern that backtracks for
 * minutes is stopped as a loop is.
 */
void
script_spend(lua_State *L, int steps)
{
	struct script	*S = script_get(L);

	if (!S->exhausted) {
		S->used += steps;
		if (S->used >= S->max_instructions)
			S->exhausted = SPENT_INSTRUCTIONS;
		else if (metrics_nsec() - S->t0 >= S->max_nsec)
			S->exhausted = SPENT_TIME;
		else
			return;
	}
	script_stop(L, S, 1);	/* level 1: the caller of find, match... */
}

/* Stop the call if it has run past max_time (after a C function). */
void
script_check_time(lua_State *L)
{
	struct script	*S = script_get(L);

	if (!S->exhausted) {
		if (metrics_nsec() - S->t0 < S->max_nsec)
			return;
		S->exhausted = SPENT_TIME;
	}
	script_stop(L, S, 1);
}

/* Give the coming call a whole budget: instructions and time. */
static void
script_budget_reset(struct script *S)
{
	S->used = 0;
	S->exhausted = 0;
	S->t0 = metrics_nsec();
	lua_sethook(S->L, script_count_hook, LUA_MASKCOUNT, S->hook_step);
}

/*
 * A plugin function begins: it gets a budget of its own, so that one
 * heavy hook does not leave the next hooks of the event without, unless
 * it runs inside another's call (a rename hook that user:rename() fired
 * in a command), which it shares.  Returns whether it got its own, for
 * script_budget_stop().
 */
int
script_budget_start(struct script *S)
{
	if (S->depth++ > 0)
		return (0);
	script_budget_reset(S);
	return (1);
}

/* A plugin function ended: the nanoseconds its own budget ran, or 0. */
uint64_t
script_budget_stop(struct script *S, int own)
{
	S->depth--;
	return (own ? metrics_nsec() - S->t0 : 0);
}

/*
 * Whether a line from the plugins (an error, print, chat.log) may go to
 * the log now: at most SCRIPT_LOG_BURST at once and SCRIPT_LOG_RATE a
 * second, so that a timer failing every millisecond does not fill the
 * disk.  The first line let through after some were not says how many.
 */
int
script_log_allowed(struct script *S)
{
	double	now = (double)metrics_nsec() / 1e9;

	S->log_tokens += (now - S->log_time) * SCRIPT_LOG_RATE;
	if (S->log_tokens > SCRIPT_LOG_BURST)
		S->log_tokens = SCRIPT_LOG_BURST;
	S->log_time = now;
	if (S->log_tokens < 1) {
		S->log_dropped++;
		return (0);
	}
	S->log_tokens -= 1;
	if (S->log_dropped > 0) {
		log_warn("lua: %lu lines from the plugins were not logged (more "
		    "than %d a second)", S->log_dropped, SCRIPT_LOG_RATE);
		S->log_dropped = 0;
	}
	return (1);
}

/* An error value at idx as text (perhaps pushing it). */
const char *
script_error_text(lua_State *L, int idx)
{
	const char	*msg = lua_tostring(L, idx);

	if (msg == NULL) {
		if (luaL_callmeta(L, idx, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)",
			    luaL_typename(L, idx));
	}
	return (msg);
}

/*
 * Push msg with the traceback of L1 from level, as luaL_traceback(), less
 * the lines of the sandbox's own chunk, which mean nothing to a plugin's
 * author.
 */
void
script_traceback(lua_State *L, lua_State *L1, const char *msg, int level)
{
	static const char	 own[] = "\t(guards):";
	luaL_Buffer		 b;
	const char		*s, *nl;
	size_t			 len, n;

	luaL_traceback(L, L1, msg, level);
	s = lua_tolstring(L, -1, &len);
	if (strstr(s, own) == NULL)
		return;
	luaL_buffinit(L, &b);
	while (len > 0) {
		nl = memchr(s, '\n', len);
		n = nl != NULL ? (size_t)(nl - s) + 1 : len;
		if (strncmp(s, own, sizeof own - 1) != 0)
			luaL_addlstring(&b, s, n);
		s += n;
		len -= n;
	}
	luaL_pushresult(&b);
	lua_remove(L, -2);
}

/* The message handler: the error as text, with a traceback. */
static int
script_msgh(lua_State *L)
{
	script_traceback(L, L, script_error_text(L, 1), 1);
	return (1);
}

/* Log a failed call; its message is on top of the stack. */
void
script_report(lua_State *L, int status)
{
	struct script	*S = script_get(L);
	const char	*msg = lua_tostring(L, -1);
	size_t		 n;

	S->failed = 1;
	if (status == LUA_ERRMEM)
		msg = "not enough memory for Lua (memory_limit reached)";
	else if (msg == NULL)
		msg = "(no message)";
	if (script_log_allowed(S))
		log_error("lua: %s", msg);
	/* Keep the first line, "file:line: message", for chatd -t. */
	if (S->lasterr[0] == '\0') {
		n = strcspn(msg, "\n");
		if (n >= sizeof S->lasterr)
			n = sizeof S->lasterr - 1;
		memcpy(S->lasterr, msg, n);
		S->lasterr[n] = '\0';
	}
}

/*
 * A plugin caught the limit error with pcall and returned in the few
 * instructions it had left: still a failure, logged as such.
 */
void
script_caught(struct script *S)
{
	lua_State	*L = S->L;

	S->failed = 1;
	script_push_spent(L, S);
	lua_pushliteral(L, "; the plugin caught the error");
	lua_concat(L, 2);
	script_report(L, LUA_ERRRUN);
	lua_pop(L, 1);
}

/*
 * Call the function below the nargs arguments on top of the stack, with
 * the message handler.  Returns 1 with nres results pushed, or 0 after
 * logging the error, with nothing pushed.
 */
int
script_pcall(lua_State *L, int nargs, int nres)
{
	int	fn = lua_gettop(L) - nargs, status;

	luaL_checkstack(L, 2, NULL);
	lua_pushcfunction(L, script_msgh);
	lua_insert(L, fn);
	status = lua_pcall(L, nargs, nres, fn);
	lua_remove(L, fn);
	if (status != LUA_OK) {
		script_report(L, status);
		lua_pop(L, 1);
		return (0);
	}
	return (1);
}

/*
 * Run fn in protected mode with a fresh instruction budget.  If anything
 * failed and a user triggered the call, that user is told.  Returns 0, or
 * -1 if a plugin call failed.
 */
int
script_run(struct script *S, lua_CFunction fn, void *arg,
    struct client *trigger)
{
	static const char	 msg[] = "! internal error";
	lua_State		*L = S->L;
	int			 top = lua_gettop(L), status;
	uint64_t		 t0 = metrics_nsec();

	S->failed = 0;
	S->lasterr[0] = '\0';
	S->depth = 0;
	script_budget_reset(S);
	lua_pushcfunction(L, script_msgh);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, arg);
	status = lua_pcall(L, 1, 0, top + 1);
	if (status != LUA_OK)
		script_report(L, status);
	else if (S->exhausted && !S->failed)
		script_caught(S);
	lua_settop(L, top);
	if (S->call[0] != '\0') {
		metric_label_inc(METRIC_LUA_CALLS, S->call);
		metric_series(METRIC_LUA_NSEC, S->call)->value +=
		    metrics_nsec() - t0;
		S->call[0] = '\0';
	}
	if (S->failed && trigger != NULL &&
	    !(trigger->flags & (CLIENT_DRAINING | CLIENT_DEAD)))
		client_send_text(trigger, msg, sizeof msg - 1);
	return (S->failed ? -1 : 0);
}

/* Protected: set up the libraries and the chat table. */
static int
script_setup_tramp(lua_State *L)
{
	struct script_call	*call = lua_touserdata(L, 1);

	sandbox_open(L, call->cfg->unsafe);
	lua_newtable(L);
	api_open(L, -1, call->cfg);
	plugin_open(L, -1);
	hook_open(L, -1);
	keep_open(L, -1);
	command_open(L, -1);
	wait_open(L);
	timer_open(L, -1);
	api_cluster_open(L, -1);
	lua_setglobal(L, "chat");
	sandbox_freeze(L);
	return (0);
}

/*
 * Make a Lua state for cfg and load every plugin into it.  Returns NULL
 * with "file:line: message" in err if any plugin fails to load.
 */
struct script *
script_open(struct server *srv, const struct config *cfg, char *err,
    size_t errlen)
{
	struct script		*S;
	struct script_call	 call;

	S = xcalloc(1, sizeof *S);
	S->srv = srv;
	S->mem_limit = (size_t)cfg->memory_limit;
	S->max_instructions = cfg->max_instructions;
	S->max_nsec = (uint64_t)cfg->max_time * 1000000u;
	S->slow_nsec = (uint64_t)cfg->slow_call * 1000000u;
	S->breaker_errors = cfg->breaker_errors;
	S->breaker_window = (double)cfg->breaker_window;
	S->log_tokens = SCRIPT_LOG_BURST;
	S->log_time = (double)metrics_nsec() / 1e9;
	S->hook_step = cfg->max_instructions < SCRIPT_HOOK_STEP ?
	    (int)cfg->max_instructions : SCRIPT_HOOK_STEP;
	LIST_INIT(&S->timers);
	if ((S->L = lua_newstate(script_alloc, S)) == NULL) {
		snprintf(err, errlen, "cannot create a Lua state");
		free(S);
		return (NULL);
	}
	memcpy(lua_getextraspace(S->L), &S, sizeof S);

	memset(&call, 0, sizeof call);
	call.S = S;
	call.cfg = cfg;
	S->loading = 1;
	if (script_run(S, script_setup_tramp, &call, NULL) != 0) {
		snprintf(err, errlen, "cannot set up Lua: %s", S->lasterr);
		script_close(S);
		return (NULL);
	}
	if (plugin_load_all(S, cfg, err, errlen) != 0) {
		script_close(S);
		return (NULL);
	}
	S->loading = 0;
	api_cluster_send_held(S);
	return (S);
}

/*
 * Close a state, then free its timers: finalizers run inside lua_close()
 * and may still cancel or start timers of this state.
 */
void
script_close(struct script *S)
{
	script_budget_reset(S);
	lua_close(S->L);
	timer_free_all(S);
	command_free_all(S);
	api_cluster_free_all(S);
	plugin_free_all(S);
	free(S);
}

/* Protected: a full garbage collection. */
static int
script_collect_tramp(lua_State *L)
{
	lua_gc(L, LUA_GCCOLLECT);
	return (0);
}

/*
 * Collect all of the state's garbage at once, so that a quiet server
 * gives back what a burst of joins and lines left behind.
 */
void
script_collect(struct script *S)
{
	script_run(S, script_collect_tramp, NULL, NULL);
}


/* Bytes the Lua state holds now. */
size_t
script_memory(const struct script *S)
{
	return (S->mem_used);
}
