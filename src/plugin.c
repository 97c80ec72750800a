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
 * Hooks are kept per event in load order.  Every call of a plugin
 * function goes through plugin_call(), which knows whose function it is.
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
};

/* What loading one file hands to its protected function. */
struct plugin_load_call {
	const char	*path;
	const char	*source;	/* its text, if built in */
};

static const char *const plugin_events[EV_COUNT] = {
	"join", "leave", "line", "chat", "rename", "link"
};

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

/* Make sure the caller is loading plugins. */
void
plugin_check_loading(lua_State *L, const char *what)
{
	if (!script_get(L)->loading)
		luaL_error(L, "%s may only be called while plugins load", what);
}

/* Keep the function at idx as fn, a function of the plugin running. */
void
plugin_fn_set(lua_State *L, struct plugin_fn *fn, int idx)
{
	lua_pushvalue(L, idx);
	fn->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	fn->plugin = script_get(L)->cur;
}

/* Let go of a function kept by plugin_fn_set(). */
void
plugin_fn_clear(lua_State *L, struct plugin_fn *fn)
{
	luaL_unref(L, LUA_REGISTRYINDEX, fn->ref);
	fn->ref = LUA_NOREF;
}

/*
 * Call fn with the nargs values on top of the stack, as its plugin's
 * code.  Returns 1 with nres results pushed, or 0 after logging the
 * error, with nothing pushed.
 */
int
plugin_call(lua_State *L, const struct plugin_fn *fn, int nargs, int nres)
{
	struct script	*S = script_get(L);
	struct plugin	*saved = S->cur;
	int		 ok;

	luaL_checkstack(L, 3, NULL);
	lua_rawgeti(L, LUA_REGISTRYINDEX, fn->ref);
	lua_insert(L, -nargs - 1);
	S->cur = fn->plugin;
	ok = script_pcall(L, nargs, nres);
	S->cur = saved;
	if (!ok)
		metric_label_inc(METRIC_PLUGIN_ERRORS,
		    plugin_basename(fn->plugin));
	return (ok);
}

/*
 * Call every hook of an event with the nargs values on top of the stack,
 * which stay where they are.  With consume, stop at the first hook that
 * returns true and return 1; a hook that returns a string replaces the
 * last argument for the hooks after it.
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
		if (!plugin_call(L, &h->v[i], nargs, 1))
			continue;
		if (consume && lua_type(L, -1) == LUA_TSTRING && nargs > 0) {
			lua_replace(L, args + nargs - 1);
			continue;
		}
		if (consume && lua_toboolean(L, -1)) {
			lua_pop(L, 1);
			return (1);
		}
		lua_pop(L, 1);
	}
	return (0);
}

/* chat.on(event, fn): call fn on every such event, in load order. */
static int
plugin_chat_on(lua_State *L)
{
	struct plugins		*P = script_get(L)->plugins;
	struct hook_list	*h;
	const char		*ev;
	int			 i;

	plugin_check_loading(L, "chat.on");
	ev = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	for (i = 0; i < EV_COUNT; i++) {
		if (strcmp(ev, plugin_events[i]) == 0)
			break;
	}
	if (i == EV_COUNT)
		return (luaL_argerror(L, 1, lua_pushfstring(L,
		    "unknown event '%s' (join, leave, line, chat, rename, "
		    "link)",
		    ev)));
	h = &P->hooks[i];
	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 4 : h->cap * 2;
		h->v = xrealloc(h->v, h->cap * sizeof *h->v);
	}
	plugin_fn_set(L, &h->v[h->n++], 2);
	return (0);
}

/* Add chat.on to the table at idx. */
void
plugin_open(lua_State *L, int idx)
{
	struct script	*S = script_get(L);

	static const luaL_Reg funcs[] = {
		{ "on", plugin_chat_on },
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
	int			 rc;

	p = xcalloc(1, sizeof *p);
	p->path = xstrdup(path);
	p->index = P->n;
	P->v = xrealloc(P->v, (P->n + 1) * sizeof *P->v);
	P->v[P->n++] = p;

	call.path = path;
	call.source = source;
	S->cur = p;
	rc = script_run(S, plugin_load_tramp, &call, NULL);
	S->cur = NULL;
	if (rc == 0)
		return (0);
	/* Most errors start with "file:line:"; say which plugin failed
	 * when one does not (out of memory, say). */
	if (strncmp(S->lasterr, path, strlen(path)) == 0)
		snprintf(err, errlen, "%s", S->lasterr);
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
plugin_list(const char *dir, char ***names, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len, n = 0, cap = 0;
	char		**v = NULL;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: cannot open plugin directory: %s",
		    dir, strerror(errno));
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

	if ((n = plugin_list(dir, &names, err, errlen)) == -1)
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

/* Protected: the join hooks. */
static int
plugin_join_tramp(lua_State *L)
{
	struct plugin_event_call *call = lua_touserdata(L, 1);

	api_push_user(L, call->c);
	plugin_fire(L, EV_JOIN, 1, 0);
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
