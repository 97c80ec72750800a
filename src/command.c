/*
 * The command table.  A command is an entry, as in tmux's command table:
 * its names (the name and any aliases), how many arguments it takes and
 * what they are, a help text and the function.  Entries are C structures
 * found by name in a hash map, without making a Lua string of the line,
 * and the arguments are split, counted and checked here, so a command's
 * function never sees a line it cannot take and every usage error reads
 * the same.
 */

#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define CMD_ARGS_MAX	16	/* arguments a command may take */

#define CMD_NAMES_MAX	16	/* a name and its aliases */

struct command {
	char		**names;	/* [0] is the name, then the aliases */
	size_t		 nnames;
	int		 min;		/* arguments that must not be blank */
	int		 max;		/* the last one takes the rest */
	char		*usage;		/* NULL: the short form's raw rest */
	char		*help;
	int		 op;		/* operators only (oper.c) */
	struct plugin_fn fn;
};

struct commands {
	struct command	**v;		/* in registration order */
	size_t		 n;
	size_t		 cap;
	struct map	 names;		/* every name and alias -> command */
};

/* What running a command hands to its protected function. */
struct command_call {
	struct client		*c;
	struct command		*cmd;
	int			 nargs;
	const char		*arg[CMD_ARGS_MAX];
	size_t			 arglen[CMD_ARGS_MAX];
};

/* Free a command's memory (its function goes with the Lua state). */
static void
command_free(struct command *cmd)
{
	size_t	i;

	for (i = 0; i < cmd->nnames; i++)
		free(cmd->names[i]);
	free(cmd->names);
	free(cmd->usage);
	free(cmd->help);
	free(cmd);
}

/* Drop name from the command that has it; the command goes with its last. */
static void
command_unname(lua_State *L, struct commands *P, struct command *cmd,
    const char *name)
{
	size_t	i;

	for (i = 0; i < cmd->nnames; i++) {
		if (strcmp(cmd->names[i], name) == 0)
			break;
	}
	if (i == cmd->nnames)
		return;
	map_del(&P->names, name, strlen(name));
	free(cmd->names[i]);
	memmove(&cmd->names[i], &cmd->names[i + 1],
	    (cmd->nnames - i - 1) * sizeof *cmd->names);
	if (--cmd->nnames > 0)
		return;
	for (i = 0; i < P->n; i++) {
		if (P->v[i] == cmd)
			break;
	}
	memmove(&P->v[i], &P->v[i + 1], (P->n - i - 1) * sizeof *P->v);
	P->n--;
	plugin_fn_clear(L, &cmd->fn);
	command_free(cmd);
}

/*
 * What a command entry says, read and checked before anything is kept:
 * reading it calls into Lua, which may raise an error at any point, so
 * its strings stay on the Lua stack until the command is built.
 */
struct command_entry {
	const char	*names[CMD_NAMES_MAX];
	size_t		 nnames;
	int		 min;
	int		 max;
	const char	*usage;		/* NULL: none given */
	const char	*help;
	int		 replaces;
	int		 op;
	int		 fn;		/* stack index of the function */
};

/* Raise the error of a bad command entry. */
static int
command_entry_error(lua_State *L, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	return (luaL_argerror(L, 1, lua_tostring(L, -1)));
}

/* Add the name at idx (left on the stack) to e. */
static void
command_entry_name(lua_State *L, struct command_entry *e, int idx,
    const char *field)
{
	const char	*name;
	size_t		 len, i;

	if (lua_type(L, idx) != LUA_TSTRING)
		command_entry_error(L, "%s: string expected, got %s", field,
		    luaL_typename(L, idx));
	name = lua_tolstring(L, idx, &len);
	if (len == 0 || memchr(name, '|', len) != NULL ||
	    memchr(name, '\n', len) != NULL || strlen(name) != len)
		command_entry_error(L, "%s: a command name is not empty and "
		    "has no '|'", field);
	for (i = 0; i < e->nnames; i++) {
		if (strcmp(e->names[i], name) == 0)
			command_entry_error(L, "%s: '%s' is named twice", field,
			    name);
	}
	if (e->nnames == CMD_NAMES_MAX)
		command_entry_error(L, "aliases: at most %d", CMD_NAMES_MAX - 1);
	e->names[e->nnames++] = name;
}

/* An optional string field of the entry at index 1, left on the stack. */
static const char *
command_entry_string(lua_State *L, const char *field)
{
	int	t = lua_getfield(L, 1, field);

	if (t == LUA_TNIL)
		return (NULL);
	if (t != LUA_TSTRING)
		command_entry_error(L, "%s: string expected, got %s", field,
		    luaL_typename(L, -1));
	return (lua_tostring(L, -1));
}

/* An entry's args: n or {min, max}. */
static void
command_entry_args(lua_State *L, struct command_entry *e)
{
	lua_Integer	min = 0, max = 0;
	int		t = lua_getfield(L, 1, "args");

	if (t == LUA_TNUMBER && lua_isinteger(L, -1))
		min = max = lua_tointeger(L, -1);
	else if (t == LUA_TTABLE) {
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1))
			command_entry_error(L, "args: {min, max} holds two "
			    "integers");
		min = lua_tointeger(L, -2);
		max = lua_tointeger(L, -1);
		lua_pop(L, 2);
	} else if (t != LUA_TNIL)
		command_entry_error(L, "args: an integer or {min, max} "
		    "expected");
	lua_pop(L, 1);
	if (min < 0 || max < min || max > CMD_ARGS_MAX)
		command_entry_error(L, "args: from 0 to %d, the least first",
		    CMD_ARGS_MAX);
	e->min = (int)min;
	e->max = (int)max;
}

/* Read the entry table at index 1 into e; raises on a bad entry. */
static void
command_entry_read(lua_State *L, struct command_entry *e)
{
	static const char *const fields[] = {
		"name", "aliases", "args", "usage", "help", "replaces", "op",
		"run", NULL
	};
	lua_Integer	 i, n;
	int		 k;

	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		lua_pop(L, 1);
		for (k = 0; fields[k] != NULL; k++) {
			if (lua_type(L, -1) == LUA_TSTRING &&
			    strcmp(lua_tostring(L, -1), fields[k]) == 0)
				break;
		}
		if (fields[k] == NULL)
			command_entry_error(L, "unknown field '%s'",
			    luaL_tolstring(L, -1, NULL));
	}
	luaL_checkstack(L, CMD_NAMES_MAX + 8, NULL);
	lua_getfield(L, 1, "name");
	command_entry_name(L, e, -1, "name");
	if (lua_getfield(L, 1, "aliases") == LUA_TTABLE) {
		n = (lua_Integer)lua_rawlen(L, -1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			command_entry_name(L, e, -1, "aliases");
			lua_insert(L, -2);	/* keep the table on top */
		}
	} else if (!lua_isnil(L, -1))
		command_entry_error(L, "aliases: a list of names expected");
	command_entry_args(L, e);
	e->usage = command_entry_string(L, "usage");
	e->help = command_entry_string(L, "help");
	if (e->usage == NULL && e->max > 0)
		command_entry_error(L, "usage: a command that takes arguments "
		    "says which, as in usage = \"<name>|<text>\"");
	if (e->usage == NULL)
		e->usage = "";
	lua_getfield(L, 1, "replaces");
	e->replaces = lua_toboolean(L, -1);
	lua_getfield(L, 1, "op");
	e->op = lua_toboolean(L, -1);
	if (lua_getfield(L, 1, "run") != LUA_TFUNCTION)
		command_entry_error(L, "run: function expected, got %s",
		    luaL_typename(L, -1));
	e->fn = lua_gettop(L);
}

/*
 * Put the command e describes into the table under every one of its
 * names.  A name another command has is an error unless e replaces it;
 * then the name passes to the new command and the old one keeps the
 * rest of its names.
 */
static void
command_add(lua_State *L, const struct command_entry *e)
{
	struct script	*S = script_get(L);
	struct commands	*P = S->commands;
	struct command	*cmd, *old;
	size_t		 i;

	for (i = 0; i < e->nnames && !e->replaces; i++) {
		old = map_get(&P->names, e->names[i], strlen(e->names[i]));
		if (old != NULL)
			command_entry_error(L, "command '%s' is already defined "
			    "by %s (set replaces = true to replace it)",
			    e->names[i], plugin_path(old->fn.plugin));
	}
	cmd = xcalloc(1, sizeof *cmd);
	/* the last that may raise */
	plugin_fn_set(L, &cmd->fn, e->fn, "command", e->names[0]);
	for (i = 0; i < e->nnames; i++) {
		old = map_get(&P->names, e->names[i], strlen(e->names[i]));
		if (old == NULL)
			continue;
		log_info("command '%s' of %s replaced by %s's", e->names[i],
		    plugin_path(old->fn.plugin), plugin_path(S->cur));
		command_unname(L, P, old, e->names[i]);
	}
	cmd->names = xcalloc(e->nnames, sizeof *cmd->names);
	for (i = 0; i < e->nnames; i++) {
		cmd->names[i] = xstrdup(e->names[i]);
		map_put(&P->names, e->names[i], strlen(e->names[i]), cmd);
	}
	cmd->nnames = e->nnames;
	cmd->min = e->min;
	cmd->max = e->max;
	cmd->op = e->op;
	cmd->usage = e->usage != NULL ? xstrdup(e->usage) : NULL;
	cmd->help = xstrdup(e->help != NULL ? e->help : "");
	if (P->n == P->cap) {
		P->cap = P->cap == 0 ? 16 : P->cap * 2;
		P->v = xrealloc(P->v, P->cap * sizeof *P->v);
	}
	P->v[P->n++] = cmd;
}

/*
 * chat.command{name =, aliases =, args =, usage =, help =, replaces =,
 * op =, run =}: register a command; op = true keeps it to operators.  chat.command(name, help, fn) is the short
 * form of a command that gets the raw rest of the line, or nil.
 */
static int
command_chat_command(lua_State *L)
{
	struct command_entry	e;

	plugin_check_loading(L, "chat.command");
	memset(&e, 0, sizeof e);
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_settop(L, 1);
		command_entry_read(L, &e);
	} else {
		luaL_checkstring(L, 1);
		if (!lua_isnoneornil(L, 2))
			luaL_checktype(L, 2, LUA_TSTRING);
		luaL_checktype(L, 3, LUA_TFUNCTION);
		lua_settop(L, 3);
		command_entry_name(L, &e, 1, "name");
		e.max = 1;
		e.help = lua_tostring(L, 2);
		e.fn = 3;
	}
	command_add(L, &e);
	return (0);
}

/* Order commands by name, byte by byte. */
static int
command_cmp(const void *a, const void *b)
{
	const struct command	*ca = *(const struct command *const *)a;
	const struct command	*cb = *(const struct command *const *)b;

	return (strcmp(ca->names[0], cb->names[0]));
}

/*
 * chat.commands(): { {name=, aliases=, usage=, help=, args=, op=,
 * plugin=}, ... } sorted by name.  usage is nil for the short form.
 */
static int
command_chat_commands(lua_State *L)
{
	struct commands	*P = script_get(L)->commands;
	struct command	**v;
	size_t		 i, j;

	v = xcalloc(P->n + 1, sizeof *v);
	memcpy(v, P->v, P->n * sizeof *v);
	qsort(v, P->n, sizeof *v, command_cmp);
	lua_createtable(L, (int)P->n, 0);
	for (i = 0; i < P->n; i++) {
		lua_createtable(L, 0, 6);
		lua_pushstring(L, v[i]->names[0]);
		lua_setfield(L, -2, "name");
		lua_createtable(L, (int)v[i]->nnames - 1, 0);
		for (j = 1; j < v[i]->nnames; j++) {
			lua_pushstring(L, v[i]->names[j]);
			lua_rawseti(L, -2, (lua_Integer)j);
		}
		lua_setfield(L, -2, "aliases");
		if (v[i]->usage != NULL) {
			lua_pushstring(L, v[i]->usage);
			lua_setfield(L, -2, "usage");
		}
		lua_pushstring(L, v[i]->help != NULL ? v[i]->help : "");
		lua_setfield(L, -2, "help");
		lua_createtable(L, 2, 0);
		lua_pushinteger(L, v[i]->min);
		lua_rawseti(L, -2, 1);
		lua_pushinteger(L, v[i]->max);
		lua_rawseti(L, -2, 2);
		lua_setfield(L, -2, "args");
		lua_pushboolean(L, v[i]->op);
		lua_setfield(L, -2, "op");
		lua_pushstring(L, plugin_path(v[i]->fn.plugin));
		lua_setfield(L, -2, "plugin");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(v);
	return (1);
}

/*
 * Protected: the command hooks (user, name, arguments), which may audit
 * the command or stop it with chat.stop; then its function, with its
 * arguments, as a coroutine (wait.c: so that user:rename() may wait for
 * a cluster's Redis).
 */
static int
command_tramp(lua_State *L)
{
	struct command_call	*call = lua_touserdata(L, 1);
	lua_State		*co;
	int			 i;

	luaL_checkstack(L, call->nargs + 4, NULL);
	api_push_user(L, call->c);
	lua_pushstring(L, call->cmd->names[0]);
	for (i = 0; i < call->nargs; i++)
		lua_pushlstring(L, call->arg[i], call->arglen[i]);
	if (plugin_fire(L, EV_COMMAND, 2 + call->nargs, 0) != FIRE_DONE)
		return (0);
	lua_settop(L, 1);
	co = lua_newthread(L);
	luaL_checkstack(co, call->cmd->max + 4, NULL);
	lua_rawgeti(co, LUA_REGISTRYINDEX, call->cmd->fn.ref);
	api_push_user(co, call->c);
	for (i = 0; i < call->nargs; i++)
		lua_pushlstring(co, call->arg[i], call->arglen[i]);
	wait_resume(L, co, 1 + call->nargs, call->c->id, &call->cmd->fn);
	return (0);
}


/* Whether s holds nothing a reader would see (text_is_blank). */
static int
command_blank(const char *s, size_t len)
{
	return (text_is_blank(s, len));
}

/*
 * Split the text after a command's name into its arguments: up to max,
 * separated by '|', the last taking the rest of the line.  Returns 0, or
 * -1 if one of the first min is missing or blank.
 */
static int
command_split_args(struct command_call *call, const char *rest,
    size_t len, int has_rest)
{
	const struct command	*cmd = call->cmd;
	const char		*bar;
	int			 i;

	call->nargs = 0;
	while (has_rest && call->nargs < cmd->max) {
		i = call->nargs++;
		call->arg[i] = rest;
		bar = call->nargs < cmd->max ? memchr(rest, '|', len) : NULL;
		if (bar == NULL) {
			call->arglen[i] = len;
			break;
		}
		call->arglen[i] = (size_t)(bar - rest);
		len -= call->arglen[i] + 1;
		rest = bar + 1;
	}
	for (i = 0; i < cmd->min; i++) {
		if (i >= call->nargs || command_blank(call->arg[i],
		    call->arglen[i]))
			return (-1);
	}
	return (0);
}

/* Add chat.command and chat.commands to the table at idx. */
void
command_open(lua_State *L, int idx)
{
	static const luaL_Reg funcs[] = {
		{ "command", command_chat_command },
		{ "commands", command_chat_commands },
		{ NULL, NULL }
	};
	struct script	*S = script_get(L);

	S->commands = xcalloc(1, sizeof *S->commands);
	map_init(&S->commands->names);

	lua_pushvalue(L, idx);
	luaL_setfuncs(L, funcs, 0);
	lua_pop(L, 1);
}

/* Free the table (the functions go with the Lua state). */
void
command_free_all(struct script *S)
{
	struct commands	*P = S->commands;
	size_t		 i;

	if (P == NULL)
		return;
	for (i = 0; i < P->n; i++)
		command_free(P->v[i]);
	free(P->v);
	map_free(&P->names);
	free(P);
	S->commands = NULL;
}

/*
 * Run the command a line names, if it names one: the text before its
 * first '|', or all of it.  Its arguments are the raw rest of the line,
 * so that a command can refuse what it does not accept (a name with a
 * control character).  Returns 0 if the line names no command.
 */
int
command_line(struct script *S, struct client *c, const char *raw,
    size_t rawlen)
{
	struct command_call	 call;
	const char		*bar, *usage;
	char			 msg[512];
	size_t			 nlen;

	bar = memchr(raw, '|', rawlen);
	nlen = bar != NULL ? (size_t)(bar - raw) : rawlen;
	memset(&call, 0, sizeof call);
	if ((call.cmd = map_get(&S->commands->names, raw, nlen)) == NULL)
		return (0);
	call.c = c;
	/* Before its arguments: a user who may not run it learns no more
	 * of it than that. */
	if (call.cmd->op && c->oper == NULL) {
		snprintf(msg, sizeof msg, "! %.*s: for operators only (oper|"
		    "<name>|<password> first)", (int)nlen, raw);
		client_send_text(c, msg, strlen(msg));
		return (1);
	}
	if (command_split_args(&call, bar != NULL ? bar + 1 : NULL,
	    bar != NULL ? rawlen - nlen - 1 : 0, bar != NULL) != 0) {
		usage = call.cmd->usage != NULL ? call.cmd->usage : "";
		snprintf(msg, sizeof msg, "! usage: %.*s%s%s", (int)nlen, raw,
		    usage[0] != '\0' ? "|" : "", usage);
		client_send_text(c, msg, strlen(msg));
		return (1);
	}
	snprintf(S->call, sizeof S->call, "command:%s", call.cmd->names[0]);
	script_run(S, command_tramp, &call, c);
	return (1);
}
