/*
 * Operators as plugins see them: user:oper(name, password) asks oper.c
 * to check the password against [operators]; user.op (api.c) is the
 * operator name or false.  The wording of the command that calls it is
 * the plugin's (plugins/20-commands.lua: "oper").
 */

#include "config.h"

#include "script.h"

/*
 * user:oper(name, password): true once the user is operator name; nil
 * and why not (a sentence) for a wrong name or password, too many
 * attempts from the user's address, or a user of another server.  Every
 * call is logged (never the password).
 */
int
api_user_oper(lua_State *L)
{
	struct client	*c = api_user(L, 1);
	const char	*name, *password;
	size_t		 namelen, pwlen;
	char		 why[128];

	plugin_check_running(L, "user:oper");
	name = luaL_checklstring(L, 2, &namelen);
	password = luaL_checklstring(L, 3, &pwlen);
	if (c == NULL || !client_is_online(c)) {
		lua_pushnil(L);
		lua_pushliteral(L, "gone");
		return (2);
	}
	if (c->flags & CLIENT_REMOTE) {
		lua_pushnil(L);
		lua_pushliteral(L, "remote user");
		return (2);
	}
	if (oper_try(c, name, namelen, password, pwlen, why,
	    sizeof why) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, why);
		return (2);
	}
	lua_pushboolean(L, 1);
	return (1);
}
