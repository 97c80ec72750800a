/*
 * What the files of the Lua bridge share.  Nothing outside them
 * includes this.
 *
 *   script.c  the Lua state: allocator, budgets, protected calls
 *   sandbox.c the libraries plugins get, read-only tables, guards
 *   plugin.c  plugin files, the hook table, every event C hands them
 *   command.c the command table: entries, arguments, usage
 *   wait.c    commands that wait (a rename a cluster's Redis decides)
 *   timer.c   chat.timer and chat.every
 *   api.c     user handles, the room functions and chat.config
 *   api_cluster.c  chat.cluster, the plugins' publish and subscribe
 *   api_oper.c user:oper(), operators as plugins see them
 *   pattern.c string.find, match, gmatch and gsub on a step budget
 *   hook.c    what a hook's result says: chat.stop, chat.refuse, and
 *             chat.collect for output that plugins compose
 *   keep.c    chat.keep: plugin state handed to the next Lua state
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
	int		 exhausted;	/* this call ran out: SPENT_* */
	uint64_t	 t0;		/* when this call began, ns */
	uint64_t	 max_nsec;	/* [lua] max_time */
	uint64_t	 slow_nsec;	/* [lua] slow_call; 0: never */
	int		 depth;		/* plugin functions running */
	int		 sort_steps;	/* comparisons not yet charged */
	long long	 breaker_errors;
	double		 breaker_window;
	double		 log_tokens;	/* plugin log lines that may go now */
	double		 log_time;	/* when log_tokens was last filled */
	unsigned long	 log_dropped;	/* lines not written since */

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

/* Why a call was stopped (struct script's exhausted). */
#define SPENT_INSTRUCTIONS	1
#define SPENT_TIME		2

/* The events plugins hook with chat.on. */
enum plugin_event {
	EV_JOIN,
	EV_LEAVE,
	EV_LINE,
	EV_CHAT,
	EV_RENAME,
	EV_LINK,
	EV_UPGRADE,
	EV_WELCOME,	/* collected: lines for a newcomer (chat.collect) */
	EV_WHO,		/* collected: words after a user's who row */
	EV_COMMAND,	/* a command is about to run (auditing, vetoes) */
	EV_COUNT
};

/* A plugin function that C calls: a hook, a command or a timer. */
struct plugin_fn {
	int		 ref;		/* the function, in the registry */
	struct plugin	*plugin;	/* the plugin that gave it */
	char		 what[40];	/* "join hook", "command who", ... */
	int		 off;		/* switched off by the breaker */
	int		 errors;	/* in the breaker's window */
	double		 window;	/* when that window began */
	int		 priority;	/* hooks: higher runs first */
};

/* What plugin_fire() says of an event's hooks. */
#define FIRE_DONE	0	/* every hook ran */
#define FIRE_STOPPED	1	/* one returned true or chat.stop */
#define FIRE_REFUSED	2	/* a join hook returned chat.refuse(text):
				   the text (or nil) is left on top */

/* What one hook's first result says (hook.c). */
enum hook_verdict {
	HOOK_GO,		/* the next hook runs */
	HOOK_STOP,		/* chat.stop: none after it */
	HOOK_REFUSE		/* chat.refuse(text): stop, and refuse a join */
};

/* script.c */
struct script	*script_get(lua_State *);
int		 script_pcall(lua_State *, int, int);
int		 script_run(struct script *, lua_CFunction, void *,
		     struct client *);
const char	*script_error_text(lua_State *, int);
void		 script_traceback(lua_State *, lua_State *, const char *, int);
void		 script_report(lua_State *, int);
void		 script_caught(struct script *);
void		 script_spend(lua_State *, int);
void		 script_check_time(lua_State *);

/* sandbox.c */
#define SCRIPT_GUARDS	"=(guards)"	/* the name of the sandbox's chunk */
#define SCRIPT_HOOK_STEP 1000		/* instructions between checks */
void		 sandbox_open(lua_State *, int);
void		 sandbox_freeze(lua_State *);
void		 sandbox_readonly(lua_State *, const char *);
int		 script_budget_start(struct script *);
uint64_t	 script_budget_stop(struct script *, int);
int		 script_log_allowed(struct script *);

/* plugin.c */
const char	*plugin_path(const struct plugin *);
void		 plugin_push_env(lua_State *, const struct plugin *);
int		 plugin_index(const struct plugin *);
void		 plugin_open(lua_State *, int);
int		 plugin_load_all(struct script *, const struct config *, char *,
		     size_t);
void		 plugin_free_all(struct script *);
int		 plugin_fire(lua_State *, enum plugin_event, int, int);
void		 plugin_fn_set(lua_State *, struct plugin_fn *, int,
		     const char *, const char *);
int		 plugin_fn_begin(lua_State *, struct plugin_fn *);
int		 plugin_fn_end(lua_State *, struct plugin_fn *, int, int);
void		 plugin_fn_clear(lua_State *, struct plugin_fn *);
int		 plugin_call(lua_State *, struct plugin_fn *, int, int);
void		 plugin_check_loading(lua_State *, const char *);
void		 plugin_check_running(lua_State *, const char *);
const char	*plugin_basename(const struct plugin *);
size_t		 plugin_count(const struct script *);
struct plugin	*plugin_nth(const struct script *, size_t);
int		 plugin_event_index(const char *);
size_t		 plugin_hooks(struct script *, enum plugin_event,
		     struct plugin_fn **);

/* hook.c */
void		 hook_open(lua_State *, int);
enum hook_verdict hook_verdict(lua_State *, int);

/* keep.c */
void		 keep_open(lua_State *, int);

/* command.c */
void		 command_open(lua_State *, int);
void		 command_free_all(struct script *);
int		 command_line(struct script *, struct client *, const char *,
		     size_t);

/* wait.c */
void		 wait_open(lua_State *);
void		 wait_resume(lua_State *, lua_State *, int, uint64_t,
		     struct plugin_fn *);
int		 wait_possible(lua_State *);
int		 wait_yield(lua_State *);

/* timer.c */
void		 timer_open(lua_State *, int);
void		 timer_free_all(struct script *);

/* api.c */
void		 api_open(lua_State *, int, const struct config *);
void		 api_push_user(lua_State *, struct client *);
void		 api_forget_user(lua_State *, struct client *);
int		 api_push_data(lua_State *, uint64_t, int, int);
struct client	*api_user(lua_State *, int);

/* api_oper.c */
int		 api_user_oper(lua_State *);

/* pattern.c */
struct pattern_ops {
	/* Account for n steps of a match; may raise an error to stop it. */
	void	(*spend)(lua_State *, int);
};
void		 pattern_open(lua_State *, int, const struct pattern_ops *);

/* api_cluster.c */
void		 api_cluster_open(lua_State *, int);
void		 api_cluster_free_all(struct script *);
void		 api_cluster_send_held(struct script *);

#endif /* CHATD_SCRIPT_H */
