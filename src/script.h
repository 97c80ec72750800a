/*
 * What the four files of the Lua bridge share.  Nothing outside them
 * includes this.
 *
 *   script.c  the Lua state: allocator, budgets, protected calls, sandbox
 *   plugin.c  plugin files, the hook table, every event C hands them
 *   command.c the command table: entries, arguments, usage
 *   wait.c    commands that wait (a rename a cluster's Redis decides)
 *   timer.c   chat.timer and chat.every
 *   api.c     user handles, the room functions and chat.config
 *   api_cluster.c  chat.cluster, the plugins' publish and subscribe
 *
 * Each file makes, fills and reads its own tables; none reads another's
 * registry keys.  They meet through the functions below.
 */

#ifndef CHATD_SCRIPT_H
#define CHATD_SCRIPT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "chatd.h"

struct plugin;
struct plugins;
struct commands;
struct topics;
struct ltimer;
LIST_HEAD(ltimer_list, ltimer);

struct script {
	lua_State	*L;
	struct server	*srv;

	size_t		 mem_used;
	size_t		 mem_limit;
	long long	 max_instructions;
	long long	 used;		/* instructions in this call so far */
	int		 hook_step;	/* instructions between count hooks */
	int		 exhausted;	/* this call ran out of instructions */

	int		 loading;	/* plugin files are being loaded */
	struct plugin	*cur;		/* whose code is running, or NULL */
	int		 failed;	/* a plugin call failed in this call */
	lua_State	*command;	/* the command coroutine running */
	int		 yielded;	/* a command began to wait */
	char		 lasterr[512];	/* first line of its first error */
	char		 call[48];	/* what this call is, for metrics */

	struct plugins	*plugins;	/* plugin.c */
	struct commands	*commands;	/* command.c */
	struct ltimer_list timers;	/* timer.c */
	struct topics	*topics;	/* api_cluster.c */
};

/* The events plugins hook with chat.on. */
enum plugin_event {
	EV_JOIN,
	EV_LEAVE,
	EV_LINE,
	EV_CHAT,
	EV_RENAME,
	EV_LINK,
	EV_COUNT
};

/* A plugin function that C calls: a hook, a command or a timer. */
struct plugin_fn {
	int		 ref;		/* the function, in the registry */
	struct plugin	*plugin;	/* the plugin that gave it */
};

/* script.c */
struct script	*script_get(lua_State *);
int		 script_pcall(lua_State *, int, int);
int		 script_run(struct script *, lua_CFunction, void *,
		     struct client *);
const char	*script_error_text(lua_State *, int);
void		 script_report(lua_State *, int);

/* plugin.c */
const char	*plugin_path(const struct plugin *);
void		 plugin_open(lua_State *, int);
int		 plugin_load_all(struct script *, const struct config *, char *,
		     size_t);
void		 plugin_free_all(struct script *);
int		 plugin_fire(lua_State *, enum plugin_event, int, int);
void		 plugin_fn_set(lua_State *, struct plugin_fn *, int);
void		 plugin_fn_clear(lua_State *, struct plugin_fn *);
int		 plugin_call(lua_State *, const struct plugin_fn *, int, int);
const char	*plugin_basename(const struct plugin *);
void		 plugin_check_loading(lua_State *, const char *);

/* command.c */
void		 command_open(lua_State *, int);
void		 command_free_all(struct script *);
int		 command_line(struct script *, struct client *, const char *,
		     size_t);

/* wait.c */
void		 wait_open(lua_State *);
void		 wait_resume(lua_State *, lua_State *, int, uint64_t,
		     struct plugin *);
int		 wait_possible(lua_State *);
int		 wait_yield(lua_State *);

/* timer.c */
void		 timer_open(lua_State *, int);
void		 timer_free_all(struct script *);

/* api.c */
void		 api_open(lua_State *, int, const struct config *);
void		 api_push_user(lua_State *, struct client *);
void		 api_forget_user(lua_State *, struct client *);

/* api_cluster.c */
void		 api_cluster_open(lua_State *, int);
void		 api_cluster_free_all(struct script *);

#endif /* CHATD_SCRIPT_H */
