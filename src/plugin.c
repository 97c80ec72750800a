/*
 * Plugins: loading their files, the command and hook tables they fill,
 * and every event that C hands to them.
 *
 * A command is an entry, as in tmux's command table: its names (the name
 * and any aliases), how many arguments it takes and how they read, a help
 * text and the function.  The entries are C structures, found by name in
 * a hash map without making a Lua string of the line, and the arguments
 * are counted and checked here, so a command's function never sees a line
 * it cannot take and every usage error reads the same.
 *
 * Hooks are kept per event, the highest priority first and, within a
 * priority, in load order.  A hook's result may stop the ones after it
 * (hook.c says how it is read).  Every call of a plugin function goes
 * through plugin_call(), which knows whose function it is.
 */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

struct plugin {
	char		*path;
	size_t		 index;		/* load order, from 0 */
	int		 env;		/* its globals, in the registry */
};

struct hook_list {
	struct plugin_fn *v;
	size_t		 n;
	size_t		 cap;
};

struct plugins {
	struct plugin	**v;		/* in load order */
	size_t		 n;
	struct hook_list hooks[EV_COUNT];
};

/* What an event hands to its protected function. */
struct plugin_event_call {
	struct client	*c;
	const char	*reason;	/* leave; rename: why, or NULL */
	const char	*text;		/* line; rename: the old name */
	size_t		 textlen;
	int		 up;		/* link */
	const char	*from;		/* upgrade: the old version */
	const char	*to;		/* ... and this one */
};

/* What loading one file hands to its protected function. */
struct plugin_load_call {
	const char	*path;
	const char	*source;	/* its text, if built in */
	struct plugin	*p;
};

static const char *const plugin_events[EV_COUNT] = {
	"join", "leave", "line", "chat", "rename", "link", "upgrade",
	"welcome", "who", "command"
};

#define PLUGIN_PRIORITY_MAX	1000000	/* either way */

/* The file a plugin was loaded from. */
const char *
plugin_path(const struct plugin *p)
{
	return (p->path);
}

/* The file name of a plugin, without its directory: a metrics label. */
const char *
plugin_basename(const struct plugin *p)
{
	const char	*slash = strrchr(p->path, '/');

	return (slash != NULL ? slash + 1 : p->path);
}

/*
 * Push the environment of plugin p: its own globals, reading through to
 * the shared ones (read-only, see sandbox.c).  For no plugin, a fresh one.
 */
void
plugin_push_env(lua_State *L, const struct plugin *p)
{
	if (p != NULL && p->env != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->env);
		return;
	}
	luaL_checkstack(L, 4, NULL);
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
	lua_createtable(L, 0, 2);
	lua_pushglobaltable(L);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

/* How many plugins are loaded, and the i-th of them in load order. */
size_t
plugin_count(const struct script *S)
{
	return (S->plugins != NULL ? S->plugins->n : 0);
}

struct plugin *
plugin_nth(const struct script *S, size_t i)
{
	return (i < plugin_count(S) ? S->plugins->v[i] : NULL);
}

/* The event named name, or -1. */
int
plugin_event_index(const char *name)
{
	int	i;

	for (i = 0; i < EV_COUNT; i++) {
		if (strcmp(name, plugin_events[i]) == 0)
			return (i);
	}
	return (-1);
}

/* The hooks of an event, in the order they run, in *fns; how many. */
size_t
plugin_hooks(struct script *S, enum plugin_event ev, struct plugin_fn **fns)
{
	*fns = S->plugins->hooks[ev].v;
	return (S->plugins->hooks[ev].n);
}

/* Which plugin p is in load order, from 0 (-1 for none). */
int
plugin_index(const struct plugin *p)
{
	return (p != NULL ? (int)p->index : -1);
}

/* Make sure the caller is loading plugins. */
void
plugin_check_loading(lua_State *L, const char *what)
{
	if (!script_get(L)->loading)
		luaL_error(L, "%s may only be called while plugins load", what);
}

/*
 * Refuse what users would see while plugins load: a reload that fails
 * keeps the running state, so the state that failed must not have renamed,
 * closed or told anyone anything (a plugin that wants to greet at load
 * can start a timer: timers of a state that fails never fire).
 */
void
plugin_check_running(lua_State *L, const char *what)
{
	if (script_get(L)->loading)
		luaL_error(L, "%s may not be called while plugins load (use "
		    "chat.timer to act once they are loaded)", what);
}

/*
 * Keep the function at idx as fn, a function of the plugin running; kind
 * and name (or NULL) say what it is in the log: "hook join".
 */
void
plugin_fn_set(lua_State *L, struct plugin_fn *fn, int idx, const char *kind,
    const char *name)
{
	memset(fn, 0, sizeof *fn);
	lua_pushvalue(L, idx);
	fn->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	fn->plugin = script_get(L)->cur;
	snprintf(fn->what, sizeof fn->what, "%s%s%s", kind,
	    name != NULL ? " " : "", name != NULL ? name : "");
}

/* Let go of a function kept by plugin_fn_set(). */
void
plugin_fn_clear(lua_State *L, struct plugin_fn *fn)
{
	luaL_unref(L, LUA_REGISTRYINDEX, fn->ref);
	fn->ref = LUA_NOREF;
}

/*
 * A plugin function is about to run: its budget starts (script.c).
 * Returns what plugin_fn_end() needs, or -1 if the function is switched
 * off and must not run: that counts as a failure (the user who triggered
 * it is told, as when it ran and failed), without a log line.
 */
int
plugin_fn_begin(lua_State *L, struct plugin_fn *fn)
{
	struct script	*S = script_get(L);

	if (fn->off) {
		S->failed = 1;
		return (-1);
	}
	return (script_budget_start(S));
}

/*
 * The circuit breaker: a function that fails breaker_errors times within
 * breaker_window seconds is switched off, with one log line, until the
 * plugins are loaded again.
 */
static void
plugin_fn_failed(struct script *S, struct plugin_fn *fn)
{
	const char	*file = plugin_basename(fn->plugin);
	double		 now = ev_now(S->srv->loop);

	metric_label_inc(METRIC_PLUGIN_ERRORS, file);
	if (S->breaker_errors == 0)
		return;
	if (fn->errors == 0 || now - fn->window > S->breaker_window) {
		fn->window = now;
		fn->errors = 0;
	}
	if (++fn->errors < S->breaker_errors)
		return;
	fn->off = 1;
	metric_label_inc(METRIC_PLUGIN_OFF, file);
	log_error("lua: %s: %s switched off after %d errors in %.0f s; a "
	    "reload switches it back on", plugin_path(fn->plugin), fn->what,
	    fn->errors, S->breaker_window);
}

/*
 * A plugin function ran (ok: without an error).  Counts it for its
 * plugin, logs it if it was slow and, if it failed, for the breaker.
 * Returns whether it succeeded: not if it caught its budget's error.
 */
int
plugin_fn_end(lua_State *L, struct plugin_fn *fn, int own, int ok)
{
	struct script	*S = script_get(L);
	const char	*file = plugin_basename(fn->plugin);
	uint64_t	 ns = script_budget_stop(S, own);

	metric_label_inc(METRIC_PLUGIN_CALLS, file);
	metric_series(METRIC_PLUGIN_NSEC, file)->value += ns;
	if (own && ok && S->exhausted) {
		script_caught(S);
		ok = 0;
	}
	if (own && S->slow_nsec != 0 && ns >= S->slow_nsec &&
	    script_log_allowed(S))
		log_warn("lua: slow call: %s %s ran %.1f ms (slow_call = %llu "
		    "ms)", file, fn->what, (double)ns / 1e6,
		    (unsigned long long)(S->slow_nsec / 1000000));
	if (!ok)
		plugin_fn_failed(S, fn);
	return (ok);
}

/*
 * Call fn with the nargs values on top of the stack, as its plugin's
 * code, on a budget of its own.  Returns 1 with nres results pushed, or 0
 * after logging the error (or if fn is switched off), with nothing
 * pushed.
 */
int
plugin_call(lua_State *L, struct plugin_fn *fn, int nargs, int nres)
{
	struct script	*S = script_get(L);
	struct plugin	*saved = S->cur;
	int		 ok, own;

	if ((own = plugin_fn_begin(L, fn)) == -1) {
		lua_pop(L, nargs);
		return (0);
	}
	luaL_checkstack(L, 3, NULL);
	lua_rawgeti(L, LUA_REGISTRYINDEX, fn->ref);
	lua_insert(L, -nargs - 1);
	S->cur = fn->plugin;
	ok = script_pcall(L, nargs, nres);
	S->cur = saved;
	if (!plugin_fn_end(L, fn, own, ok) && ok) {
		lua_pop(L, nres);	/* it caught its budget's error */
		ok = 0;
	}
	return (ok);
}

/*
 * Call every hook of an event with the nargs values on top of the stack,
 * which stay where they are, until one returns chat.stop (FIRE_STOPPED)
 * or, of a join, chat.refuse(text) (FIRE_REFUSED, the text left on top;
 * of another event a refusal is a stop).  With consume, a hook that
 * returns true stops the others too, and one that returns a string
 * replaces the last argument for the hooks after it.
 */
int
plugin_fire(lua_State *L, enum plugin_event ev, int nargs, int consume)
{
	struct hook_list	*h = &script_get(L)->plugins->hooks[ev];
	int			 args = lua_gettop(L) - nargs + 1, j;
	size_t			 i;

	luaL_checkstack(L, nargs + 4, NULL);
	for (i = 0; i < h->n; i++) {
		for (j = 0; j < nargs; j++)
			lua_pushvalue(L, args + j);
		if (!plugin_call(L, &h->v[i], nargs, 2))
			continue;
		switch (hook_verdict(L, -2)) {
		case HOOK_REFUSE:
			if (ev == EV_JOIN) {
				lua_remove(L, -2);
				return (FIRE_REFUSED);
			}
			/* FALLTHROUGH */
		case HOOK_STOP:
			lua_pop(L, 2);
			return (FIRE_STOPPED);
		case HOOK_GO:
			break;
		}
		lua_pop(L, 1);
		if (consume && lua_type(L, -1) == LUA_TSTRING && nargs > 0) {
			lua_replace(L, args + nargs - 1);
			continue;
		}
		if (consume && lua_toboolean(L, -1)) {
			lua_pop(L, 1);
			return (FIRE_STOPPED);
		}
		lua_pop(L, 1);
	}
	return (FIRE_DONE);
}

/* The priority of chat.on's options at idx: { priority = n }, or 0. */
static int
plugin_priority(lua_State *L, int idx)
{
	lua_Integer	 n;
	int		 isint;

	if (lua_isnoneornil(L, idx))
		return (0);
	luaL_checktype(L, idx, LUA_TTABLE);
	if (lua_getfield(L, idx, "priority") == LUA_TNIL) {
		lua_pop(L, 1);
		return (0);
	}
	n = lua_tointegerx(L, -1, &isint);
	if (!isint || n < -PLUGIN_PRIORITY_MAX || n > PLUGIN_PRIORITY_MAX)
		return (luaL_argerror(L, idx, lua_pushfstring(L,
		    "priority is a whole number from %d to %d",
		    -PLUGIN_PRIORITY_MAX, PLUGIN_PRIORITY_MAX)));
	lua_pop(L, 1);
	return ((int)n);
}

/*
 * chat.on(event, fn [, { priority = n }]): call fn on every such event;
 * the highest priority first (default 0), then in load order.
 */
static int
plugin_chat_on(lua_State *L)
{
	struct plugins		*P = script_get(L)->plugins;
	struct hook_list	*h;
	const char		*ev;
	size_t			 at;
	int			 i, prio;

	plugin_check_loading(L, "chat.on");
	ev = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	prio = plugin_priority(L, 3);
	if ((i = plugin_event_index(ev)) == -1)
		return (luaL_argerror(L, 1, lua_pushfstring(L,
		    "unknown event '%s' (join, leave, line, chat, rename, "
		    "link, upgrade, welcome, who, command)",
		    ev)));
	h = &P->hooks[i];
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 4 : h->cap * 2;
		h->v = xrealloc(h->v, h->cap * sizeof *h->v);
	}
	/* After every hook of this priority or higher: ties keep load
	 * order. */
	for (at = h->n; at > 0 && h->v[at - 1].priority < prio; at--)
		;
	memmove(&h->v[at + 1], &h->v[at], (h->n - at) * sizeof *h->v);
	h->n++;
	plugin_fn_set(L, &h->v[at], 2, "hook", plugin_events[i]);
	h->v[at].priority = prio;
	return (0);
}

/*
 * chat.plugins(): the plugins in load order, each { file, path, calls,
 * errors, seconds, switched_off }: the figures of the metrics (since
 * chatd started, by file name), so a plugin can watch the others.
 */
static int
plugin_chat_plugins(lua_State *L)
{
	struct plugins	*P = script_get(L)->plugins;
	const char	*file;
	size_t		 i;

	lua_createtable(L, (int)P->n, 0);
	for (i = 0; i < P->n; i++) {
		file = plugin_basename(P->v[i]);
		lua_createtable(L, 0, 6);
		lua_pushstring(L, file);
		lua_setfield(L, -2, "file");
		lua_pushstring(L, P->v[i]->path);
		lua_setfield(L, -2, "path");
		lua_pushinteger(L, (lua_Integer)metric_label_get(
		    METRIC_PLUGIN_CALLS, file));
		lua_setfield(L, -2, "calls");
		lua_pushinteger(L, (lua_Integer)metric_label_get(
		    METRIC_PLUGIN_ERRORS, file));
		lua_setfield(L, -2, "errors");
		lua_pushnumber(L, (lua_Number)metric_label_get(
		    METRIC_PLUGIN_NSEC, file) / 1e9);
		lua_setfield(L, -2, "seconds");
		lua_pushinteger(L, (lua_Integer)metric_label_get(
		    METRIC_PLUGIN_OFF, file));
		lua_setfield(L, -2, "switched_off");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return (1);
}

/* Add chat.on and chat.plugins to the table at idx. */
void
plugin_open(lua_State *L, int idx)
{
	struct script	*S = script_get(L);

	static const luaL_Reg funcs[] = {
		{ "on", plugin_chat_on },
		{ "plugins", plugin_chat_plugins },
		{ NULL, NULL }
	};

	S->plugins = xcalloc(1, sizeof *S->plugins);
	lua_pushvalue(L, idx);
	luaL_setfuncs(L, funcs, 0);
	lua_pop(L, 1);
}

/* Free the tables (the functions go with the Lua state). */
void
plugin_free_all(struct script *S)
{
	struct plugins	*P = S->plugins;
	size_t		 i;
	int		 ev;

	if (P == NULL)
		return;
	for (ev = 0; ev < EV_COUNT; ev++)
		free(P->hooks[ev].v);
	for (i = 0; i < P->n; i++) {
		free(P->v[i]->path);
		free(P->v[i]);
	}
	free(P->v);
	free(P);
	S->plugins = NULL;
}

/* Protected: load one plugin and run its main chunk. */
static int
plugin_load_tramp(lua_State *L)
{
	struct plugin_load_call	*call = lua_touserdata(L, 1);
	int			 rc;

	if (call->source != NULL)
		rc = luaL_loadbufferx(L, call->source, strlen(call->source),
		    lua_pushfstring(L, "@%s", call->path), "t");
	else
		rc = luaL_loadfilex(L, call->path, "t");
	if (rc != LUA_OK)
		return (lua_error(L));
	/* The plugin's own globals, as the chunk's _ENV. */
	plugin_push_env(L, NULL);
	lua_pushvalue(L, -1);
	call->p->env = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setupvalue(L, -2, 1);
	lua_call(L, 0, 0);
	return (0);
}

/* Load one plugin file; on failure set err to its first error line. */
static int
plugin_load_one(struct script *S, const char *path, const char *source,
    char *err, size_t errlen)
{
	struct plugins		*P = S->plugins;
	struct plugin_load_call	 call;
	struct plugin		*p;
	const char		*what;
	size_t			 n;
	int			 rc;

	p = xcalloc(1, sizeof *p);
	p->path = xstrdup(path);
	p->index = P->n;
	p->env = LUA_NOREF;
	P->v = xrealloc(P->v, (P->n + 1) * sizeof *P->v);
	P->v[P->n++] = p;

	call.path = path;
	call.source = source;
	call.p = p;
	S->cur = p;
	rc = script_run(S, plugin_load_tramp, &call, NULL);
	S->cur = NULL;
	if (rc == 0)
		return (0);
	/* Most errors start with "file:line:"; say which plugin failed
	 * when one does not (out of memory, say).  Lua's "cannot read
	 * PATH: reason" reads "PATH: cannot read: reason", the path once. */
	n = strlen(path);
	if (strncmp(S->lasterr, path, n) == 0)
		snprintf(err, errlen, "%s", S->lasterr);
	else if (strncmp(S->lasterr, "cannot ", 7) == 0 &&
	    (what = strchr(S->lasterr + 7, ' ')) != NULL &&
	    strncmp(what + 1, path, n) == 0 && what[n + 1] == ':')
		snprintf(err, errlen, "%s: %.*s:%s", path,
		    (int)(what - S->lasterr), S->lasterr, what + n + 2);
	else
		snprintf(err, errlen, "%s: %s", path, S->lasterr[0] != '\0' ?
		    S->lasterr : "failed to load");
	return (-1);
}

/* Sort plugin file names byte by byte, whatever the locale. */
static int
plugin_namecmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * List the *.lua files of dir in name order.  Returns their count, or -1
 * with err set if dir cannot be read.
 */
static int
plugin_list(const struct config *cfg, const char *dir, char ***names,
    char *err, size_t errlen)
{
	const struct config_key *k = config_find("lua", "path");
	int			 line = cfg->line[k - config_keys];

	DIR		*d;
	struct dirent	*de;
	size_t		 len, n = 0, cap = 0;
	char		**v = NULL;

	if ((d = opendir(dir)) == NULL) {
		/* The key that named it, if a file did. */
		if (line > 0 && cfg->file != NULL)
			snprintf(err, errlen, "%s:%d: %s: cannot open plugin "
			    "directory: %s", cfg->file, line, dir,
			    strerror(errno));
		else
			snprintf(err, errlen, "%s: cannot open plugin "
			    "directory: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".lua") != 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, plugin_namecmp);
	*names = v;
	return ((int)n);
}

/* Load the plugins cfg names, or the installed ones, or the built-in. */
int
plugin_load_all(struct script *S, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct builtin_plugin *bp;
	const char		*dir = cfg->lua_path;
	char			**names, path[4096];
	int			 n, i, rc = 0;
	DIR			*d;

	if (dir == NULL && (d = opendir(CHATD_PLUGINDIR)) != NULL) {
		closedir(d);
		dir = CHATD_PLUGINDIR;
	}
	if (dir == NULL) {
		for (bp = builtin_plugins; bp->name != NULL; bp++) {
			snprintf(path, sizeof path, "(built-in)/%s", bp->name);
			if (plugin_load_one(S, path, bp->source, err,
			    errlen) != 0)
				return (-1);
		}
		log_info("loaded %d built-in plugins",
		    (int)(bp - builtin_plugins));
		return (0);
	}

	if ((n = plugin_list(cfg, dir, &names, err, errlen)) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (rc == 0 && plugin_load_one(S, path, NULL, err,
		    errlen) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (rc == 0) {
		if (n == 0)
			log_warn("no plugins in %s: every line is ignored", dir);
		else
			log_info("loaded %d plugins from %s", n, dir);
	}
	return (rc);
}

/*
 * Protected: the join hooks.  One that refuses the join has the refused
 * user sent its line (if any) and closed before any later hook runs, so
 * the room was told nothing; no leave hook runs for it (client_reap).
 */
static int
plugin_join_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);
	struct client	*c = call->c;
	const char	*text;
	size_t		 len;

	api_push_user(L, c);
	if (plugin_fire(L, EV_JOIN, 1, 0) != FIRE_REFUSED)
		return (0);
	if ((text = lua_tolstring(L, -1, &len)) != NULL && len > 0 &&
	    !(c->flags & (CLIENT_DRAINING | CLIENT_DEAD)))
		client_send_text(c, text, len);
	c->flags |= CLIENT_REFUSED;
	client_close(c, CHATD_LEAVE_REFUSED);
	return (0);
}

/* A user has connected. */
void
plugin_join(struct script *S, struct client *c)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.c = c;
	snprintf(S->call, sizeof S->call, "join");
	script_run(S, plugin_join_tramp, &call, c);
}

/* Protected: the leave hooks, then forget the user's handle and data. */
static int
plugin_leave_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	api_push_user(L, call->c);
	lua_pushstring(L, call->reason);
	plugin_fire(L, EV_LEAVE, 2, 0);
	lua_settop(L, 1);
	api_forget_user(L, call->c);
	return (0);
}

/* A user is leaving for reason; it may still be sent a last word. */
void
plugin_leave(struct script *S, struct client *c, const char *reason)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.c = c;
	call.reason = reason;
	snprintf(S->call, sizeof S->call, "leave");
	script_run(S, plugin_leave_tramp, &call, c);
}

/* Protected: a chat line through the line hooks, then the chat hooks. */
static int
plugin_chat_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	api_push_user(L, call->c);
	lua_pushlstring(L, call->text, call->textlen);
	if (!plugin_fire(L, EV_LINE, 2, 1))
		plugin_fire(L, EV_CHAT, 2, 0);
	return (0);
}

/*
 * A line from a user: raw as received, text cleaned for chat.  A line
 * that names a command runs it; any other line is chat: the line hooks
 * see the cleaned text first and may consume or rewrite it, then the
 * chat hooks.
 */
void
plugin_line(struct script *S, struct client *c, const char *raw,
    size_t rawlen, const char *text, size_t textlen)
{
	struct plugin_event_call call;

	if (command_line(S, c, raw, rawlen))
		return;
	memset(&call, 0, sizeof call);
	call.c = c;
	call.text = text;
	call.textlen = textlen;
	snprintf(S->call, sizeof S->call, "line");
	script_run(S, plugin_chat_tramp, &call, c);
}

/* Protected: forget a user's handle and data, without a hook. */
static int
plugin_forget_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	api_forget_user(L, call->c);
	return (0);
}

/*
 * A user of another server has gone from this server's view (its own
 * server runs the hooks): drop what the plugins kept for it.
 */
void
plugin_forget(struct script *S, struct client *c)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.c = c;
	script_run(S, plugin_forget_tramp, &call, NULL);
}

/* Protected: the link hooks. */
static int
plugin_link_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	lua_pushboolean(L, call->up);
	plugin_fire(L, EV_LINK, 1, 0);
	return (0);
}

/*
 * In a cluster: the link to the other servers went down (up 0) or came
 * up (1).
 */
void
plugin_link(struct script *S, int up)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.up = up;
	script_run(S, plugin_link_tramp, &call, NULL);
}

/* Protected: the rename hooks, for a name chatd changed or Redis gave. */
static int
plugin_renamed_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	api_push_user(L, call->c);
	lua_pushstring(L, call->text);
	lua_pushstring(L, call->c->name);
	if (call->reason != NULL)
		lua_pushstring(L, call->reason);
	plugin_fire(L, EV_RENAME, call->reason != NULL ? 4 : 3, 0);
	return (0);
}

/*
 * A local user's name changed from old outside user:rename(): why is
 * NULL for a rename a command asked for and Redis granted, or, in a
 * cluster, "taken" when a name the user had went to a user of another
 * server.
 */
void
plugin_renamed(struct script *S, struct client *c, const char *old,
    const char *why)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.c = c;
	call.text = old;
	call.reason = why;
	script_run(S, plugin_renamed_tramp, &call, c);
}

/* Protected: the upgrade hooks. */
static int
plugin_upgraded_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	lua_pushstring(L, call->from);
	lua_pushstring(L, call->to);
	plugin_fire(L, EV_UPGRADE, 2, 0);
	return (0);
}

/*
 * This process took the room over from chatd version from (an upgrade);
 * to is its own version.
 */
void
plugin_upgraded(struct script *S, const char *from, const char *to)
{
	struct plugin_event_call call;

	memset(&call, 0, sizeof call);
	call.from = from;
	call.to = to;
	snprintf(S->call, sizeof S->call, "upgrade");
	script_run(S, plugin_upgraded_tramp, &call, NULL);
}
