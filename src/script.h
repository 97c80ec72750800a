/*
 * What script.c (the Lua state) and api.c (the chat table plugins call)
 * share.  Nothing outside those two files includes this.
 */

#ifndef CHATD_SCRIPT_H
#define CHATD_SCRIPT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "chatd.h"

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

	int		 loading;	/* chat.command and chat.on allowed */
	const char	*plugin;	/* the file being loaded */
	int		 failed;	/* a plugin call failed in this call */
	char		 lasterr[512];	/* first line of its first error */
	char		 call[48];	/* what this call is, for metrics */
	struct ltimer_list timers;
};

/* Registry keys: the addresses of these are unique light userdata. */
extern const char script_key_commands;	/* name -> { fn, help, plugin } */
extern const char script_key_hooks;	/* event -> { fn, ... } */
extern const char script_key_handles;	/* id -> user handle (weak) */
extern const char script_key_data;	/* id -> user.data table */

/* script.c */
struct script	*script_get(lua_State *);
int		 script_pcall(lua_State *, int, int);
int		 script_fire(lua_State *, const char *, int, int);
int		 script_run(struct script *, lua_CFunction, void *,
		     struct client *);

/* api.c */
void		 api_open(lua_State *, struct script *, const struct config *);
void		 api_push_user(lua_State *, struct client *);
void		 api_forget_user(lua_State *, struct client *);
void		 api_timers_free(struct script *);

#endif /* CHATD_SCRIPT_H */
