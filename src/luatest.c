/*
 * chatd --plugin-test FILE...: plugin tests written in Lua, run against
 * the real core with simulated users and no network.
 *
 * Each test file runs in a Lua state of its own with the standard
 * libraries and a "test" table (its Lua half, the assertions and the
 * helpers, is luatest_prelude below; chatd-lua(7) documents it).  A test
 * starts a server with test.server{...}: the real server of chatd (the
 * registry, the command table, the plugins in their sandboxed state, the
 * limits and timers), reading a real configuration file written to a
 * temporary directory, with every plugin it names linked into a plugin
 * directory there.  It has no listener: its users come through the
 * listener's own limits (listener_limit(), listener_take()) on the
 * in-memory transport (memconn.c), so from client.c up everything runs
 * as it does for a TCP user.
 *
 * The clock is frozen (clock.c) while tests run: no time passes but what
 * srv:advance() adds, which runs the loop every LT_STEP of simulated time
 * so that timers fire in order.  One server runs at a time (libev's
 * default loop is the server's).
 */

#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "chatd.h"

#define LT_SERVER_MT	"chatd.test.server"
#define LT_USER_MT	"chatd.test.user"
#define LT_STEP		10000000LL	/* ns of simulated time per loop run */
#define LT_SETTLE_MAX	1000	/* loop runs until nothing is left to do */

/* A simulated user: its connection's bytes, owned here, not by client.c. */
struct lt_user {
	struct memconn	 m;
	uint64_t	 id;		/* chatd's client id; 0: refused */
	size_t		 taken;		/* of m.out, read by the test */
	int		 eof;		/* the test closed its side */
};

/* A test server; one may run at a time. */
struct lt_server {
	struct server	 srv;
	struct listener	 l;
	int		 running;
	char		 dir[512];	/* its temporary directory */
	struct lt_user	**users;
	size_t		 nusers;
	uint32_t	 next_port;
};

static const struct listener_kind lt_kind = {
	.name = "memory",
	.section = "server",
	.transport = &memconn_transport,
};

static struct lt_server *lt_running;

/* The log lines of the running server, for srv:log(). */
static char	**lt_log;
static size_t	  lt_nlog;

static void
lt_log_line(__unused int level, const char *name, const char *msg)
{
	char	*line;

	if (lt_running == NULL)
		return;
	if (asprintf(&line, "%s: %s", name, msg) == -1)
		fatal("asprintf: out of memory");
	lt_log = xrealloc(lt_log, (lt_nlog + 1) * sizeof *lt_log);
	lt_log[lt_nlog++] = line;
}

static void
lt_log_clear(void)
{
	size_t	i;

	for (i = 0; i < lt_nlog; i++)
		free(lt_log[i]);
	free(lt_log);
	lt_log = NULL;
	lt_nlog = 0;
}

/* srv:log(): chatd's log lines ("level: message") since the last call. */
static int
lt_server_log(lua_State *L)
{
	size_t	i;

	luaL_checkudata(L, 1, LT_SERVER_MT);
	lua_createtable(L, (int)lt_nlog, 0);
	for (i = 0; i < lt_nlog; i++) {
		lua_pushstring(L, lt_log[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lt_log_clear();
	return (1);
}

/* Put text where the peer reads what chatd wrote. */
static void
memconn_writev_text(struct memconn *m, const char *text)
{
	struct conn	c;
	struct iovec	iov;

	memset(&c, 0, sizeof c);
	c.state = m;
	iov.iov_base = (void *)(uintptr_t)text;
	iov.iov_len = strlen(text);
	(void)memconn_transport.writev(&c, &iov, 1);
}

/* Run the loop until nothing is left for it to do now. */
static void
lt_settle(struct lt_server *t)
{
	struct server	*srv = &t->srv;
	int		 i;

	for (i = 0; i < LT_SETTLE_MAX; i++) {
		ev_run(srv->loop, EVRUN_NOWAIT);
		if (i > 0 && srv->nbuffered == 0 &&
		    TAILQ_EMPTY(&srv->pending) && TAILQ_EMPTY(&srv->closing))
			break;
	}
}

static struct lt_server *
lt_check_server(lua_State *L, int idx)
{
	struct lt_server	*t = luaL_checkudata(L, idx, LT_SERVER_MT);

	if (!t->running)
		luaL_error(L, "the server is closed");
	return (t);
}

/* Write the value at the top of the stack as an INI value. */
static void
lt_write_value(lua_State *L, FILE *f)
{
	if (lua_type(L, -1) == LUA_TBOOLEAN)
		fputs(lua_toboolean(L, -1) ? "true" : "false", f);
	else
		fputs(luaL_tolstring(L, -1, NULL), f), lua_pop(L, 1);
}

/* Write the config table at idx ({section = {key = value}}) to path. */
static int
lt_write_config(lua_State *L, int idx, const char *path, const char *pdir)
{
	FILE	*f;
	int	 has_path = 0, has_level = 0;

	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TTABLE) {
			fclose(f);
			return (luaL_error(L, "config: {section = {key = "
			    "value}} expected"));
		}
		fprintf(f, "[%s]\n", lua_tostring(L, -2));
		lua_pushnil(L);
		while (lua_next(L, -2) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING) {
				fclose(f);
				return (luaL_error(L, "config: keys are "
				    "strings"));
			}
			if (strcmp(lua_tostring(L, -4), "lua") == 0 &&
			    strcmp(lua_tostring(L, -2), "path") == 0)
				has_path = 1;
			if (strcmp(lua_tostring(L, -4), "log") == 0 &&
			    strcmp(lua_tostring(L, -2), "level") == 0)
				has_level = 1;
			fprintf(f, "%s = ", lua_tostring(L, -2));
			lt_write_value(L, f);
			fputc('\n', f);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!has_path)
		fprintf(f, "[lua]\npath = %s\n", pdir);
	if (!has_level)		/* a test's output is its report */
		fprintf(f, "[log]\nlevel = warn\n");
	return (fclose(f) == 0 ? 0 : -1);
}

/* Put a plugin into dir: a built-in one's source, or a link to a file. */
static void
lt_add_plugin(lua_State *L, const char *dir, const char *name,
    const char *source, const char *file)
{
	char	path[PATH_MAX], target[PATH_MAX];
	FILE	*f;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >=
	    (int)sizeof path)
		luaL_error(L, "%s/%s: path too long", dir, name);
	if (source != NULL) {
		if ((f = fopen(path, "w")) == NULL ||
		    fputs(source, f) == EOF || fclose(f) != 0)
			luaL_error(L, "%s: %s", path, strerror(errno));
		return;
	}
	if (realpath(file, target) == NULL)
		luaL_error(L, "plugin %s: %s", file, strerror(errno));
	if (symlink(target, path) != 0)
		luaL_error(L, "plugin %s: %s", path, strerror(errno));
}

/*
 * test._server(config, plugins, room): a new server.  plugins are paths
 * (as given, resolved by the prelude); room: the built-in default room
 * comes first.
 */
static int
lt_server_new(lua_State *L)
{
	const struct builtin_plugin	*bp;
	struct lt_server		*t;
	struct config			 cfg;
	char				 pdir[PATH_MAX], path[PATH_MAX];
	char				 err[1024];
	const char			*file, *base;
	lua_Integer			 i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	if (lt_running != NULL)
		return (luaL_error(L, "a server is running already: close it "
		    "first (srv:close())"));
	t = lua_newuserdatauv(L, sizeof *t, 0);
	memset(t, 0, sizeof *t);
	luaL_setmetatable(L, LT_SERVER_MT);
	if (snprintf(t->dir, sizeof t->dir, "%s/chatd-test-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp") >=
	    (int)sizeof t->dir)
		return (luaL_error(L, "TMPDIR: too long"));
	if (mkdtemp(t->dir) == NULL)
		return (luaL_error(L, "mkdtemp: %s", strerror(errno)));
	snprintf(pdir, sizeof pdir, "%s/plugins", t->dir);
	if (mkdir(pdir, 0700) != 0)
		return (luaL_error(L, "%s: %s", pdir, strerror(errno)));
	if (lua_toboolean(L, 3)) {
		for (bp = builtin_plugins; bp->name != NULL; bp++)
			lt_add_plugin(L, pdir, bp->name, bp->source, NULL);
	}
	n = (lua_Integer)lua_rawlen(L, 2);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 2, i);
		file = luaL_checkstring(L, -1);
		base = strrchr(file, '/') != NULL ? strrchr(file, '/') + 1 :
		    file;
		lt_add_plugin(L, pdir, base, NULL, file);
		lua_pop(L, 1);
	}
	snprintf(path, sizeof path, "%s/chatd.ini", t->dir);
	if (lt_write_config(L, 1, path, pdir) != 0)
		return (luaL_error(L, "%s: %s", path, strerror(errno)));
	config_init(&cfg);
	if (config_load(&cfg, path, err, sizeof err) != 0) {
		config_free(&cfg);
		lua_pushnil(L);
		lua_pushstring(L, err);
		return (2);
	}
	log_set_level(cfg.log_level);
	lt_log_clear();
	/* A new server's counters (chat.stats()) start from nothing, as
	 * in a new process. */
	metrics_free();
	memset(metric_values, 0, sizeof metric_values);
	lt_running = t;		/* its log from the first line */
	if (server_init_memory(&t->srv, &cfg, path, err, sizeof err) != 0) {
		server_free(&t->srv);
		lt_running = NULL;
		lua_pushnil(L);
		lua_pushstring(L, err);
		return (2);
	}
	t->l.srv = &t->srv;
	t->l.kind = &lt_kind;
	t->l.fd = -1;
	snprintf(t->l.addr, sizeof t->l.addr, "memory");
	t->running = 1;
	t->next_port = 40000;
	lt_running = t;
	lt_settle(t);
	return (1);
}

/* Stop a server: its users see their connections closed. */
static void
lt_server_stop(struct lt_server *t)
{
	size_t	i;

	if (!t->running)
		return;
	server_free(&t->srv);
	t->running = 0;
	lt_running = NULL;
	for (i = 0; i < t->nusers; i++)
		t->users[i]->m.closed = 1;
}

/* srv:close(). */
static int
lt_server_close(lua_State *L)
{
	lt_server_stop(luaL_checkudata(L, 1, LT_SERVER_MT));
	return (0);
}

/* Remove the plugins lt_add_plugin() put into dir. */
static void
lt_rmdir_plugins(const char *dir)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir,
		    de->d_name) < (int)sizeof path)
			(void)unlink(path);
	}
	closedir(d);
}

/* __gc: the server, then its users' buffers, then its directory. */
static int
lt_server_gc(lua_State *L)
{
	struct lt_server	*t = luaL_checkudata(L, 1, LT_SERVER_MT);
	char			 path[PATH_MAX];
	size_t			 i;

	lt_server_stop(t);
	for (i = 0; i < t->nusers; i++) {
		memconn_free(&t->users[i]->m);
		free(t->users[i]);
	}
	free(t->users);
	t->users = NULL;
	t->nusers = 0;
	if (t->dir[0] != '\0') {
		/* What lt_server_new() made, and nothing else. */
		snprintf(path, sizeof path, "%s/chatd.ini", t->dir);
		(void)unlink(path);
		snprintf(path, sizeof path, "%s/plugins", t->dir);
		lt_rmdir_plugins(path);
		(void)rmdir(path);
		(void)rmdir(t->dir);
		t->dir[0] = '\0';
	}
	return (0);
}

/*
 * srv:connect([ip]): a new user from ip (default 127.0.0.1), through the
 * listener's limits.  The user object comes back either way; a refused
 * one holds the refusal as its only line and is closed.
 */
static int
lt_server_connect(lua_State *L)
{
	struct lt_server	*t = lt_check_server(L, 1);
	const char		*ip = luaL_optstring(L, 2, "127.0.0.1");
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)&ss;
	struct lt_user		*u, **up;
	struct client		*c;
	const char		*why, *msg;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)t->next_port);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)t->next_port);
	} else
		return (luaL_argerror(L, 2, "an IPv4 or IPv6 address"));
	if (++t->next_port > 65535)
		t->next_port = 40000;
	u = xcalloc(1, sizeof *u);
	t->users = xrealloc(t->users, (t->nusers + 1) * sizeof *t->users);
	t->users[t->nusers++] = u;
	up = lua_newuserdatauv(L, sizeof *up, 1);
	*up = u;
	luaL_setmetatable(L, LT_USER_MT);
	lua_pushvalue(L, 1);		/* the server outlives its users */
	lua_setiuservalue(L, -2, 1);
	if ((why = listener_limit(&t->srv, (struct sockaddr *)&ss,
	    &msg)) != NULL) {
		/* As listener_refuse() writes it to a socket. */
		memconn_writev_text(&u->m, msg);
		u->m.closed = 1;
		return (1);
	}
	c = listener_take(&t->l, -1, (struct sockaddr *)&ss, &u->m);
	if (c == NULL)
		return (luaL_error(L, "the memory transport refused"));
	u->id = c->id;
	lt_settle(t);
	return (1);
}

/*
 * srv:advance(seconds [, step]): let simulated time pass, the loop run
 * every step seconds of it (default LT_STEP) so that timers fire in
 * order; those due within one step fire together at its end.
 */
static int
lt_server_advance(lua_State *L)
{
	struct lt_server	*t = lt_check_server(L, 1);
	double			 secs = luaL_checknumber(L, 2);
	double			 step = luaL_optnumber(L, 3, LT_STEP / 1e9);
	long long		 left, d, stepns;

	luaL_argcheck(L, secs >= 0 && secs < 1e9, 2, "0 or more seconds");
	luaL_argcheck(L, step >= 1e-6 && step < 1e9, 3, "a step from 1 us");
	stepns = (long long)(step * 1e9 + 0.5);
	/* In whole nanoseconds, so that steps add up to exactly secs; and
	 * one more, as libev fires a timer once its time has passed, and a
	 * test that waits 1 s expects what is due in 1 s. */
	left = (long long)(secs * 1e9 + 0.5) + 1;
	while (left > 0 && t->running) {
		d = left < stepns ? left : stepns;
		clock_advance(d);
		left -= d;
		lt_settle(t);
	}
	return (0);
}

/*
 * srv:reload([config]): SIGHUP's work (server_reload()), after writing
 * config over the file if given.  True if the new plugins serve, false if
 * the reload failed and the old ones go on (chatd's log says why).
 */
static int
lt_server_reload(lua_State *L)
{
	struct lt_server	*t = lt_check_server(L, 1);
	struct script		*old = t->srv.script;
	char			 pdir[PATH_MAX];

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		snprintf(pdir, sizeof pdir, "%s/plugins", t->dir);
		if (lt_write_config(L, 2, t->srv.config_path, pdir) != 0)
			return (luaL_error(L, "%s: %s", t->srv.config_path,
			    strerror(errno)));
	}
	server_reload(&t->srv);
	lt_settle(t);
	lua_pushboolean(L, t->srv.script != old);
	return (1);
}

/*
 * srv:_install(file): link one more plugin into the server's plugin
 * directory, as an operator does before a reload.
 */
static int
lt_server_install(lua_State *L)
{
	struct lt_server	*t = lt_check_server(L, 1);
	const char		*file = luaL_checkstring(L, 2), *base;
	char			 pdir[PATH_MAX];

	base = strrchr(file, '/') != NULL ? strrchr(file, '/') + 1 : file;
	snprintf(pdir, sizeof pdir, "%s/plugins", t->dir);
	lt_add_plugin(L, pdir, base, NULL, file);
	return (0);
}

/* srv:count(): users online. */
static int
lt_server_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lt_check_server(L, 1)->srv.reg.count);
	return (1);
}

static struct lt_user *
lt_check_user(lua_State *L, struct lt_server **tp)
{
	struct lt_user	**up = luaL_checkudata(L, 1, LT_USER_MT);

	lua_getiuservalue(L, 1, 1);
	*tp = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return (*up);
}

/* user:write(bytes): the user sends bytes as they are. */
static int
lt_user_write(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);
	struct client		*c;
	const char		*s;
	size_t			 len;

	s = luaL_checklstring(L, 2, &len);
	if (u->m.closed || u->eof || !t->running)
		return (luaL_error(L, "the connection is closed"));
	memconn_feed(&u->m, s, len);
	if ((c = registry_find_id(&t->srv.reg, u->id)) != NULL)
		conn_wake(&c->conn);
	else {	/* closing: it reads no more */
		lua_pushboolean(L, 0);
		return (1);
	}
	lt_settle(t);
	lua_pushboolean(L, 1);
	return (1);
}

/*
 * user:line(): the next line chatd sent that the test has not read,
 * without its CR LF, or nil.
 */
static int
lt_user_line(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);
	const unsigned char	*p, *nl;
	size_t			 len;

	p = u->m.out + u->taken;
	if (u->m.out == NULL || (nl = memchr(p, '\n',
	    u->m.outlen - u->taken)) == NULL) {
		lua_pushnil(L);
		return (1);
	}
	len = (size_t)(nl - p);
	u->taken += len + 1;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	lua_pushlstring(L, (const char *)p, len);
	return (1);
}

/* user:partial(): bytes after the last whole line (a line cut short). */
static int
lt_user_partial(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);
	const unsigned char	*p = u->m.out + u->taken;

	if (u->m.out == NULL || memchr(p, '\n', u->m.outlen - u->taken) !=
	    NULL) {
		lua_pushliteral(L, "");
		return (1);
	}
	lua_pushlstring(L, (const char *)p, u->m.outlen - u->taken);
	return (1);
}

/*
 * user:closed(): whether chatd has ended the connection: shut its side
 * down (it lingers for the peer's end) or closed it.
 */
static int
lt_user_closed(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);

	lua_pushboolean(L, u->m.closed || u->m.shut);
	return (1);
}

/* user:name(): the user's name in the room, or nil if not online. */
static int
lt_user_name(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);
	struct client		*c;

	if (!t->running ||
	    (c = registry_find_id(&t->srv.reg, u->id)) == NULL ||
	    !client_is_online(c)) {
		lua_pushnil(L);
		return (1);
	}
	lua_pushstring(L, c->name);
	return (1);
}

/* user:close(): the user's side ends (EOF), as a client that quits. */
static int
lt_user_close(lua_State *L)
{
	struct lt_server	*t;
	struct lt_user		*u = lt_check_user(L, &t);
	struct client		*c;

	if (u->eof || u->m.closed || !t->running)
		return (0);
	u->eof = 1;
	u->m.ineof = 1;
	if ((c = registry_find_id(&t->srv.reg, u->id)) != NULL)
		conn_wake(&c->conn);
	lt_settle(t);
	return (0);
}

/* test.log_level(level): chatd's log level while tests run. */
static int
lt_log_level(lua_State *L)
{
	int	level = log_level_parse(luaL_checkstring(L, 1));

	if (level < 0)
		return (luaL_argerror(L, 1, "error, warn, info or debug"));
	log_set_level(level);
	return (0);
}

#include "luatest_prelude.h"

/* Make the server and user metatables and the C half of "test". */
static void
lt_open(lua_State *L)
{
	static const luaL_Reg server_methods[] = {
		{ "connect", lt_server_connect },
		{ "advance", lt_server_advance },
		{ "reload", lt_server_reload },
		{ "count", lt_server_count },
		{ "log", lt_server_log },
		{ "_install", lt_server_install },
		{ "close", lt_server_close },
		{ NULL, NULL }
	};
	static const luaL_Reg user_methods[] = {
		{ "write", lt_user_write },
		{ "line", lt_user_line },
		{ "partial", lt_user_partial },
		{ "closed", lt_user_closed },
		{ "name", lt_user_name },
		{ "close", lt_user_close },
		{ NULL, NULL }
	};

	lua_newtable(L);		/* test */
	luaL_newmetatable(L, LT_SERVER_MT);
	luaL_newlib(L, server_methods);
	lua_pushvalue(L, -1);		/* the prelude adds to them */
	lua_setfield(L, -4, "_server_methods");
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lt_server_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, LT_USER_MT);
	luaL_newlib(L, user_methods);
	lua_pushvalue(L, -1);
	lua_setfield(L, -4, "_user_methods");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	lua_pushcfunction(L, lt_server_new);
	lua_setfield(L, -2, "_server");
	lua_pushcfunction(L, lt_log_level);
	lua_setfield(L, -2, "log_level");
	lua_setglobal(L, "test");
}

/* The message handler: the error and a traceback. */
static int
lt_msgh(lua_State *L)
{
	const char	*msg = lua_tostring(L, 1);

	if (msg == NULL)
		msg = luaL_tolstring(L, 1, NULL);
	luaL_traceback(L, L, msg, 1);
	return (1);
}

/* Run one test file; returns the number of its cases that failed. */
static int
lt_run_file(const char *file)
{
	lua_State	*L;
	int		 failed;

	if ((L = luaL_newstate()) == NULL)
		fatal("luaL_newstate: out of memory");
	luaL_openlibs(L);
	lt_open(L);
	lua_pushcfunction(L, lt_msgh);
	if (luaL_loadbuffer(L, luatest_prelude, strlen(luatest_prelude),
	    "=(test prelude)") != LUA_OK ||
	    lua_pcall(L, 0, 0, 1) != LUA_OK)
		fatal("test prelude: %s", lua_tostring(L, -1));
	/* test._run(file): load it, run its cases, print what each did. */
	lua_getglobal(L, "test");
	lua_getfield(L, -1, "_run");
	lua_pushstring(L, file);
	if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
		printf("not ok - %s: %s\n", file, lua_tostring(L, -1));
		failed = 1;
	} else
		failed = (int)lua_tointeger(L, -1);
	fflush(stdout);
	lua_close(L);		/* any server still running goes with it */
	return (failed);
}

/*
 * chatd --plugin-test FILE...: run each file's tests; 0 if all pass, 1 if
 * any fails.  level: chatd's log level unless a test sets another.
 */
int
luatest_main(const char *level, int nfiles, char **files)
{
	int	i, failed = 0;

	log_set_level(log_level_parse(level));
	log_set_capture(lt_log_line);
	clock_freeze();
	for (i = 0; i < nfiles; i++)
		failed += lt_run_file(files[i]);
	lt_log_clear();
	return (failed > 0 ? 1 : 0);
}
