/*
 * test_config.c - defaults, the INI file, its errors and the key table.
 *
 * Every fixture is written at run time into a directory made with
 * mkdtemp() under $TMPDIR (or /tmp), so the test works from a read-only
 * source tree and from any working directory; the directory is removed
 * at the end.
 */

#include "config.h"

#include "chatd.h"
#include "tap.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMPDIR_MAX	1024	/* keeps every path built from it in PATH_MAX */
static char tmpdir[TMPDIR_MAX];

/* Everything created, removed in reverse order at the end. */
static char *created[64];
static int ncreated;

static void
remember(const char *path)
{
	if (ncreated < (int)(sizeof created / sizeof created[0]))
		created[ncreated++] = strdup(path);
}

static void
cleanup(void)
{
	while (ncreated > 0) {
		char *p = created[--ncreated];
		struct stat st;

		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmdir(p);
		else
			unlink(p);
		free(p);
	}
	rmdir(tmpdir);
}

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0' ||
	    strlen(base) > TMPDIR_MAX - 32)
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/chatd-test-config.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
		exit(1);
	}
}

static void
make_dir(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	if (mkdir(path, 0700) != 0) {
		printf("Bail out! mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
	remember(path);
}

/* Write an INI file under tmpdir; returns its absolute path (static). */
static const char *
write_ini(const char *rel, const char *text)
{
	static char path[PATH_MAX];
	FILE *f;
	int existed;

	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	existed = access(path, F_OK) == 0;
	if ((f = fopen(path, "w")) == NULL) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	if (!existed)
		remember(path);
	return path;
}

/* Load text as a config on top of the defaults; 0 or -1 as config_load. */
static int
load(struct config *cfg, const char *text, char *err, size_t errlen)
{
	const char *path = write_ini("t.ini", text);

	config_init(cfg);
	err[0] = '\0';
	return config_load(cfg, path, err, errlen);
}

/*
 * The file must be refused with "PATH:LINE: ..." where the message has
 * something in it and, if want is given, contains want.
 */
static void
load_fails(const char *name, const char *text, int line, const char *want)
{
	struct config cfg;
	char err[512], prefix[PATH_MAX + 32];
	int r;

	r = load(&cfg, text, err, sizeof err);
	snprintf(prefix, sizeof prefix, "%s/t.ini:%d: ", tmpdir, line);
	if (!is_int(r, -1, "%s: refused", name)) {
		config_free(&cfg);
		return;
	}
	if (!ok(strncmp(err, prefix, strlen(prefix)) == 0 &&
	    strlen(err) > strlen(prefix), "%s: error at line %d", name, line))
		diag("err: \"%s\", expected prefix \"%s\"", err, prefix);
	if (want != NULL && !ok(strstr(err, want) != NULL,
	    "%s: message mentions \"%s\"", name, want))
		diag("err: \"%s\"", err);
	config_free(&cfg);
}

/* ---- defaults and the key table ----------------------------------------- */

static void
test_defaults(void)
{
	struct config cfg;
	const struct config_key *k;
	int nkeys = 0, bad = 0;

	config_init(&cfg);
	is_int(cfg.port, 8080, "default port 8080");
	is_str(cfg.bind, "0.0.0.0", "default bind 0.0.0.0");
	is_int(cfg.max_clients, 10000, "default max_clients 10000");
	is_int(cfg.idle_timeout, 60, "default idle_timeout 60");
	is_int(cfg.max_line, 1024, "default max_line 1024");
	is_int(cfg.output_limit, 262144, "default output_limit 262144");
	is_int(cfg.lines_per_second, 20, "default lines_per_second 20");
	is_int(cfg.burst, 40, "default burst 40");
	is_int(cfg.max_per_ip, 16, "default max_per_ip 16");
	is_int(cfg.ipv6_prefix, 64, "default ipv6_prefix 64");
	is_int(cfg.connects_per_second, 2, "default connects_per_second 2");
	ok(cfg.lua_path == NULL, "default lua_path NULL");
	is_int(cfg.log_level, LL_INFO, "default log level info");
	is_int(cfg.log_syslog, 0, "default: log to stderr (syslog 0)");
	is_int(cfg.unsafe, 0, "default: the Lua sandbox is on (unsafe 0)");
	ok(cfg.max_instructions > 0, "default max_instructions > 0 (%lld)",
	    cfg.max_instructions);
	ok(cfg.memory_limit > 0, "default memory_limit > 0 (%lld)",
	    cfg.memory_limit);
	ok(cfg.file == NULL, "defaults: no file");
	ok(cfg.extra == NULL, "defaults: no plugin keys");

	/* every key's default, as written, is what config_init() stored */
	for (k = config_keys; k->section != NULL; k++) {
		nkeys++;
		if (config_find(k->section, k->name) != k) {
			bad++;
			diag("config_find(%s, %s) is not its table entry",
			    k->section, k->name);
		}
		switch (k->type) {
		case CONF_INT:
			if (k->def == NULL ||
			    config_int(&cfg, k) != strtoll(k->def, NULL, 10)) {
				bad++;
				diag("%s.%s: default %s, stored %lld",
				    k->section, k->name, k->def ? k->def : "-",
				    config_int(&cfg, k));
			}
			if (config_int(&cfg, k) < k->min ||
			    config_int(&cfg, k) > k->max) {
				bad++;
				diag("%s.%s: default outside [%lld, %lld]",
				    k->section, k->name, k->min, k->max);
			}
			break;
		case CONF_STRING:
		case CONF_SECRET:
		case CONF_ADDR:
		case CONF_REDIS:
		case CONF_WORD:
		case CONF_URLPATH:
		case CONF_ORIGINS:
		case CONF_ADDRS:
		case CONF_PATH: {
			const char *v = config_str(&cfg, k);

			if ((k->def == NULL) != (v == NULL) ||
			    (v != NULL && strcmp(v, k->def) != 0)) {
				bad++;
				diag("%s.%s: default %s, stored %s",
				    k->section, k->name, k->def ? k->def : "-",
				    v ? v : "NULL");
			}
			break;
		}
		case CONF_PORT:
			if (k->def == NULL || config_int(&cfg, k) !=
			    (strcmp(k->def, "off") == 0 ? -1 :
			    strtoll(k->def, NULL, 10))) {
				bad++;
				diag("%s.%s: port default", k->section,
				    k->name);
			}
			break;
		case CONF_LEVEL:
			if (k->def == NULL || config_int(&cfg, k) !=
			    log_level_parse(k->def)) {
				bad++;
				diag("%s.%s: level default", k->section,
				    k->name);
			}
			break;
		case CONF_BOOL:
			if (config_int(&cfg, k) != 0 && config_int(&cfg, k) != 1)
				bad++;
			break;
		}
	}
	ok(nkeys >= 14, "key table has the 14 documented keys (%d)", nkeys);
	is_int(bad, 0, "table defaults match what config_init() stores");
	config_free(&cfg);
}

static void
test_find(void)
{
	static const struct {
		const char *section, *name;
		enum config_type type;
		size_t offset;
	} want[] = {
		{ "server", "bind", CONF_ADDR, offsetof(struct config, bind) },
		{ "server", "port", CONF_INT, offsetof(struct config, port) },
		{ "server", "max_clients", CONF_INT,
		    offsetof(struct config, max_clients) },
		{ "server", "idle_timeout", CONF_INT,
		    offsetof(struct config, idle_timeout) },
		{ "buffers", "max_line", CONF_INT,
		    offsetof(struct config, max_line) },
		{ "buffers", "output_limit", CONF_INT,
		    offsetof(struct config, output_limit) },
		{ "limits", "lines_per_second", CONF_INT,
		    offsetof(struct config, lines_per_second) },
		{ "limits", "burst", CONF_INT, offsetof(struct config, burst) },
		{ "limits", "max_per_ip", CONF_INT,
		    offsetof(struct config, max_per_ip) },
		{ "lua", "path", CONF_PATH, offsetof(struct config, lua_path) },
		{ "lua", "max_instructions", CONF_INT,
		    offsetof(struct config, max_instructions) },
		{ "lua", "memory_limit", CONF_INT,
		    offsetof(struct config, memory_limit) },
		{ "lua", "unsafe", CONF_BOOL, offsetof(struct config, unsafe) },
		{ "log", "level", CONF_LEVEL,
		    offsetof(struct config, log_level) },
		{ "log", "syslog", CONF_BOOL,
		    offsetof(struct config, log_syslog) },
		{ "server", "reuse_port", CONF_BOOL,
		    offsetof(struct config, reuse_port) },
		{ "cluster", "redis", CONF_REDIS,
		    offsetof(struct config, cluster_redis) },
		{ "cluster", "room", CONF_WORD,
		    offsetof(struct config, cluster_room) },
		{ "cluster", "node", CONF_WORD,
		    offsetof(struct config, cluster_node) },
		{ "cluster", "heartbeat", CONF_INT,
		    offsetof(struct config, heartbeat) },
		{ "cluster", "node_timeout", CONF_INT,
		    offsetof(struct config, node_timeout) },
	};
	const struct config_key *k;
	size_t i;

	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		k = config_find(want[i].section, want[i].name);
		if (!ok(k != NULL, "config_find(%s, %s) exists",
		    want[i].section, want[i].name))
			continue;
		ok(strcmp(k->section, want[i].section) == 0 &&
		    strcmp(k->name, want[i].name) == 0 &&
		    k->type == want[i].type && k->offset == want[i].offset,
		    "config_find(%s, %s): section, name, type, offset",
		    want[i].section, want[i].name);
	}
	ok(config_find("server", "nope") == NULL, "unknown key: NULL");
	ok(config_find("nope", "port") == NULL, "unknown section: NULL");
	ok(config_find("buffers", "port") == NULL, "key of another section");
	ok(config_find("server", "") == NULL, "empty key: NULL");
	ok(config_find("", "") == NULL, "empty section and key: NULL");
	ok(config_find("plugin.x", "y") == NULL, "plugin keys are not in "
	    "the table");
	ok(config_find("Server", "port") == NULL, "section is case sensitive");
}

/* ---- loading ------------------------------------------------------------ */

static void
test_load_all(void)
{
	struct config cfg;
	char err[512];
	const char *path;

	path = write_ini("all.ini",
	    "; a full file\n"
	    "# hash comments too\n"
	    "\n"
	    "[server]\n"
	    "bind = 127.0.0.1\n"
	    "port = 9000\n"
	    "max_clients = 50\n"
	    "idle_timeout = 0\n"
	    "\n"
	    "[buffers]\n"
	    "max_line = 512\n"
	    "output_limit = 65536\n"
	    "\n"
	    "[limits]\n"
	    "lines_per_second = 5\n"
	    "burst = 10\n"
	    "max_per_ip = 3\n"
	    "\n"
	    "[lua]\n"
	    "path = /opt/chatd/plugins\n"
	    "max_instructions = 5000000\n"
	    "memory_limit = 33554432\n"
	    "unsafe = true\n"
	    "\n"
	    "[log]\n"
	    "level = debug\n");
	config_init(&cfg);
	err[0] = '\0';
	if (!is_int(config_load(&cfg, path, err, sizeof err), 0,
	    "full file loads"))
		diag("err: %s", err);
	is_str(cfg.bind, "127.0.0.1", "bind");
	is_int(cfg.port, 9000, "port");
	is_int(cfg.max_clients, 50, "max_clients");
	is_int(cfg.idle_timeout, 0, "idle_timeout 0 (never)");
	is_int(cfg.max_line, 512, "max_line");
	is_int(cfg.output_limit, 65536, "output_limit");
	is_int(cfg.lines_per_second, 5, "lines_per_second");
	is_int(cfg.burst, 10, "burst");
	is_int(cfg.max_per_ip, 3, "max_per_ip");
	is_str(cfg.lua_path, "/opt/chatd/plugins", "absolute lua path as is");
	is_int(cfg.max_instructions, 5000000, "max_instructions");
	is_int(cfg.memory_limit, 33554432, "memory_limit");
	is_int(cfg.unsafe, 1, "unsafe = true");
	is_int(cfg.log_level, LL_DEBUG, "level = debug");
	is_str(cfg.file, path, "cfg.file is the path read");
	ok(cfg.extra == NULL, "no plugin keys");
	config_free(&cfg);
}

static void
test_load_partial(void)
{
	struct config cfg;
	char err[512];

	if (!is_int(load(&cfg, "[server]\nport = 1234\n", err, sizeof err), 0,
	    "one key loads"))
		diag("err: %s", err);
	is_int(cfg.port, 1234, "the key is set");
	is_str(cfg.bind, "0.0.0.0", "others keep their defaults: bind");
	is_int(cfg.max_line, 1024, "... max_line");
	is_int(cfg.log_level, LL_INFO, "... level");
	ok(cfg.lua_path == NULL, "... lua path");
	config_free(&cfg);

	is_int(load(&cfg, "", err, sizeof err), 0, "an empty file loads");
	is_int(cfg.port, 8080, "empty file: defaults");
	config_free(&cfg);

	is_int(load(&cfg, "; only a comment\n\n[server]\n", err, sizeof err),
	    0, "comments and an empty section load");
	config_free(&cfg);

	/* the same section twice, different keys */
	is_int(load(&cfg, "[server]\nport = 1\n[log]\nlevel = warn\n"
	    "[server]\nbind = ::1\n", err, sizeof err), 0,
	    "a section may appear twice");
	is_int(cfg.port, 1, "... port from the first");
	is_str(cfg.bind, "::1", "... bind from the second");
	is_int(cfg.log_level, LL_WARN, "... level warn");
	config_free(&cfg);

	is_int(load(&cfg, "[log]\nsyslog = yes\n", err, sizeof err), 0,
	    "syslog = yes loads");
	is_int(cfg.log_syslog, 1, "... stored");
	config_free(&cfg);
	is_int(load(&cfg, "[log]\nsyslog = maybe\n", err, sizeof err), -1,
	    "syslog = maybe refused");
	ok(strstr(err, ":2: invalid value 'maybe' for syslog") != NULL,
	    "... with line and reason (%s)", err);
	config_free(&cfg);

	/* limits of the numbers */
	is_int(load(&cfg, "[server]\nport = 65535\n", err, sizeof err), 0,
	    "port 65535 ok");
	is_int(cfg.port, 65535, "... stored");
	config_free(&cfg);
	is_int(load(&cfg, "[server]\nport = 1\n", err, sizeof err), 0,
	    "port 1 ok");
	config_free(&cfg);

	/* levels */
	{
		static const char *names[] = { "error", "warn", "info",
		    "debug" };
		static const int levels[] = { LL_ERROR, LL_WARN, LL_INFO,
		    LL_DEBUG };
		char text[64];
		int i;

		for (i = 0; i < 4; i++) {
			snprintf(text, sizeof text, "[log]\nlevel = %s\n",
			    names[i]);
			if (is_int(load(&cfg, text, err, sizeof err), 0,
			    "level %s loads", names[i]))
				is_int(cfg.log_level, levels[i],
				    "level %s stored", names[i]);
			config_free(&cfg);
		}
	}

	/* booleans */
	{
		static const char *t[] = { "true", "yes", "1" };
		static const char *f[] = { "false", "no", "0" };
		char text[64];
		int i;

		for (i = 0; i < 3; i++) {
			snprintf(text, sizeof text, "[lua]\nunsafe = %s\n",
			    t[i]);
			if (is_int(load(&cfg, text, err, sizeof err), 0,
			    "unsafe = %s loads", t[i]))
				is_int(cfg.unsafe, 1, "unsafe = %s is 1", t[i]);
			config_free(&cfg);
			snprintf(text, sizeof text, "[lua]\nunsafe = %s\n",
			    f[i]);
			if (is_int(load(&cfg, text, err, sizeof err), 0,
			    "unsafe = %s loads", f[i]))
				is_int(cfg.unsafe, 0, "unsafe = %s is 0", f[i]);
			config_free(&cfg);
		}
	}
}

static void
test_inline_comments(void)
{
	struct config cfg;
	char err[512];

	if (!is_int(load(&cfg,
	    "[server] ; the listener\n"
	    "port = 7000 ; the port\n"
	    "bind = 127.0.0.2   ; loopback\n"
	    "[log]\n"
	    "level = warn ; quieter\n"
	    "[lua]\n"
	    "path = /srv/lua ; plugins\n",
	    err, sizeof err), 0, "inline comments load"))
		diag("err: %s", err);
	is_int(cfg.port, 7000, "inline comment after a number");
	is_str(cfg.bind, "127.0.0.2", "inline comment after a string, "
	    "spaces trimmed");
	is_int(cfg.log_level, LL_WARN, "inline comment after a level");
	is_str(cfg.lua_path, "/srv/lua", "inline comment after a path");
	config_free(&cfg);

	if (!is_int(load(&cfg, "[server]\n  port   =   7001  \n", err,
	    sizeof err), 0, "spaces around key and value"))
		diag("err: %s", err);
	is_int(cfg.port, 7001, "... trimmed");
	config_free(&cfg);
}

static void
test_plugin_sections(void)
{
	struct config cfg;
	char err[512];
	const struct config_extra *x;
	static const char *want[][3] = {
		{ "plugin.motd", "text", "Welcome to chatd" },
		{ "plugin.motd", "enabled", "yes" },
		{ "plugin.bot", "name", "robot" },
		{ "plugin.bot", "port", "70000" },
		{ "plugin.motd", "later", "x=y" },
	};
	size_t i = 0;
	int good = 1;

	if (!is_int(load(&cfg,
	    "[plugin.motd]\n"
	    "text = Welcome to chatd\n"
	    "enabled = yes\n"
	    "[server]\n"
	    "port = 8081\n"
	    "[plugin.bot]\n"
	    "name = robot\n"
	    "port = 70000\n"
	    "[plugin.motd]\n"
	    "later = x=y\n",
	    err, sizeof err), 0, "plugin sections load"))
		diag("err: %s", err);
	is_int(cfg.port, 8081, "[server] between plugin sections applies");
	for (x = cfg.extra; x != NULL; x = x->next, i++) {
		if (i >= sizeof want / sizeof want[0] ||
		    strcmp(x->section, want[i][0]) != 0 ||
		    strcmp(x->key, want[i][1]) != 0 ||
		    strcmp(x->value, want[i][2]) != 0) {
			good = 0;
			diag("extra %zu: [%s] %s = %s", i, x->section, x->key,
			    x->value);
		}
	}
	ok(good && i == sizeof want / sizeof want[0],
	    "plugin keys kept in file order with section, key, value (%zu)",
	    i);
	config_free(&cfg);
}

/*
 * inih as distributions build it reads lines of at most 199 bytes.  A
 * longer line is refused with its own line number, never split into a
 * cut value and a made-up key, and lines before it keep their numbers.
 */
static void
test_long_lines(void)
{
	struct config cfg;
	char err[512], text[1024], value[301], prefix[PATH_MAX + 32];
	int i, r;

	for (i = 0; i < 300; i++)
		value[i] = (char)('a' + i % 26);
	value[300] = '\0';
	value[250] = '=';	/* a tail must not become a key of its own */
	snprintf(text, sizeof text, "[plugin.motd]\ntext = %s\n"
	    "[server]\nport = 9001\n", value);
	r = load(&cfg, text, err, sizeof err);
	snprintf(prefix, sizeof prefix, "%s/t.ini:2: line too long", tmpdir);
	is_int(r, -1, "a 300-byte line is refused");
	ok(strncmp(err, prefix, strlen(prefix)) == 0,
	    "... at its own line 2 (%s)", err);
	config_free(&cfg);

	snprintf(text, sizeof text, "[server]\nport = x\n"
	    "[plugin.motd]\ntext = %s\n", value);
	r = load(&cfg, text, err, sizeof err);
	snprintf(prefix, sizeof prefix, "%s/t.ini:2: ", tmpdir);
	is_int(r, -1, "bad port before a long line: refused");
	ok(strncmp(err, prefix, strlen(prefix)) == 0,
	    "... at its own line 2 (%s)", err);
	config_free(&cfg);

	snprintf(text, sizeof text, "[plugin.motd]\ntext = %.190s\n"
	    "[server]\nport = 9001\n", value);
	r = load(&cfg, text, err, sizeof err);
	if (!is_int(r, 0, "a 197-byte line loads"))
		diag("err: %s", err);
	ok(cfg.extra != NULL && strlen(cfg.extra->value) == 190,
	    "... with its whole value");
	is_int(cfg.port, 9001, "... and the keys after it apply");
	config_free(&cfg);
}

/*
 * A NUL byte would end the line for inih unseen, dropping the rest of it
 * or, in a long line, shifting every later line number: it is an error of
 * its own at its own line.
 */
static void
test_nul_bytes(void)
{
	static const struct {
		const char	*name;
		const char	*bytes;
		size_t		 len;
		int		 line;
	} cases[] = {
#define BYTES(s)	s, sizeof s - 1
		{ "NUL inside a value", BYTES("[server]\nport = 80\0junk\n"), 2 },
		{ "NUL first on a line", BYTES("[server]\n\0port = 1\n"), 2 },
		{ "NUL in the last line, no LF", BYTES("[log]\nlevel = info\0"),
		  2 },
#undef BYTES
	};
	struct config cfg;
	char err[512], prefix[PATH_MAX + 32];
	const char *path;
	size_t i;
	FILE *f;
	int r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		path = write_ini("t.ini", "");
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(cases[i].bytes, 1, cases[i].len, f) != cases[i].len ||
		    fclose(f) != 0) {
			printf("Bail out! %s: %s\n", path, strerror(errno));
			exit(1);
		}
		config_init(&cfg);
		r = config_load(&cfg, path, err, sizeof err);
		snprintf(prefix, sizeof prefix, "%s/t.ini:%d: NUL byte in line",
		    tmpdir, cases[i].line);
		is_int(r, -1, "%s: refused", cases[i].name);
		if (!ok(strcmp(err, prefix) == 0, "%s: at line %d",
		    cases[i].name, cases[i].line))
			diag("err: \"%s\"", err);
		config_free(&cfg);
	}
}

static void
test_relative_path(void)
{
	struct config cfg;
	char err[512], sub[PATH_MAX], want[PATH_MAX];
	const char *path;
	struct stat a, b;
	int cwd;

	make_dir("etc");
	make_dir("plugins");
	path = write_ini("etc/chatd.ini", "[lua]\npath = ../plugins\n");
	snprintf(sub, sizeof sub, "%s", path);
	config_init(&cfg);
	if (!is_int(config_load(&cfg, sub, err, sizeof err), 0,
	    "relative lua path loads"))
		diag("err: %s", err);
	snprintf(want, sizeof want, "%s/etc/../plugins", tmpdir);
	if (!ok(cfg.lua_path != NULL && cfg.lua_path[0] == '/',
	    "relative path stored absolute for an absolute config path"))
		diag("lua_path: %s", cfg.lua_path ? cfg.lua_path : "NULL");
	ok(cfg.lua_path != NULL && stat(cfg.lua_path, &a) == 0 &&
	    stat(want, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev,
	    "... and names the plugins dir next to the config's dir");
	config_free(&cfg);

	path = write_ini("etc/chatd.ini", "[lua]\npath = plugins.d\n");
	config_init(&cfg);
	is_int(config_load(&cfg, path, err, sizeof err), 0,
	    "plain relative name loads");
	snprintf(want, sizeof want, "%s/etc/plugins.d", tmpdir);
	is_str(cfg.lua_path, want, "plain name resolves to config dir/name");
	config_free(&cfg);

	/* a relative config path, from a working directory we choose */
	path = write_ini("etc/chatd.ini", "[lua]\npath = ../plugins\n");
	cwd = open(".", O_RDONLY);
	if (cwd == -1 || chdir(tmpdir) != 0) {
		fail("chdir to %s", tmpdir);
		return;
	}
	config_init(&cfg);
	if (!is_int(config_load(&cfg, "etc/chatd.ini", err, sizeof err), 0,
	    "relative config path loads"))
		diag("err: %s", err);
	ok(cfg.lua_path != NULL && stat(cfg.lua_path, &a) == 0 &&
	    stat("plugins", &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev,
	    "relative config path: lua path still names the plugins dir "
	    "(%s)", cfg.lua_path ? cfg.lua_path : "NULL");
	ok(cfg.lua_path != NULL && (cfg.lua_path[0] == '/' ||
	    strncmp(cfg.lua_path, "etc/", 4) == 0),
	    "... absolute, or the config's dir + \"/\" + the value");
	config_free(&cfg);

	/* errors give the path as given */
	write_ini("etc/bad.ini", "[server]\n\nport = x\n");
	config_init(&cfg);
	is_int(config_load(&cfg, "etc/bad.ini", err, sizeof err), -1,
	    "relative bad file refused");
	ok(strncmp(err, "etc/bad.ini:3: ", 15) == 0,
	    "error starts with the path as given and the line (%s)", err);
	config_free(&cfg);

	/* a config file in the working directory, no slash at all */
	write_ini("here.ini", "[lua]\npath = plugins\n");
	config_init(&cfg);
	is_int(config_load(&cfg, "here.ini", err, sizeof err), 0,
	    "config path without a slash loads");
	ok(cfg.lua_path != NULL && stat(cfg.lua_path, &a) == 0 &&
	    stat("plugins", &b) == 0 && a.st_ino == b.st_ino,
	    "... its relative lua path names ./plugins (%s)",
	    cfg.lua_path ? cfg.lua_path : "NULL");
	config_free(&cfg);

	if (fchdir(cwd) != 0)
		fail("chdir back");
	close(cwd);
}

/* ---- errors ------------------------------------------------------------- */

static void
test_errors(void)
{
	struct config cfg;
	char err[512];
	int r;

	load_fails("unknown section", "[server]\nport = 1\n\n[bogus]\n"
	    "; comment\nkey = 1\n", 6, "bogus");
	load_fails("unknown section [plugin] (no name)", "[plugin]\nx = 1\n",
	    2, NULL);
	load_fails("unknown section [plugins]", "[plugins]\nx = 1\n", 2,
	    NULL);
	load_fails("unknown key", "[server]\nport = 1\ncolour = red\n", 3,
	    "colour");
	load_fails("key of another section", "[buffers]\nport = 1\n", 2,
	    "port");
	load_fails("key before any section", "port = 1\n[server]\n", 1,
	    NULL);
	load_fails("port 70000", "[server]\nport = 70000\n", 2, "70000");
	load_fails("port -1", "[server]\nport = -1\n", 2, NULL);
	load_fails("port abc", "[server]\nport = abc\n", 2, "abc");
	load_fails("port 12abc", "[server]\nport = 12abc\n", 2, NULL);
	load_fails("port 1.5", "[server]\nport = 1.5\n", 2, NULL);
	load_fails("port empty", "[server]\nport =\n", 2, NULL);
	load_fails("port huge", "[server]\nport = 99999999999999999999999\n",
	    2, NULL);
	load_fails("negative idle_timeout", "[server]\n\n\nidle_timeout = -5\n",
	    4, "idle_timeout");
	load_fails("max_line abc", "[buffers]\nmax_line = abc\n", 2, NULL);
	load_fails("max_line 0", "[buffers]\nmax_line = 0\n", 2, NULL);
	load_fails("burst negative", "[limits]\nburst = -1\n", 2, NULL);
	load_fails("level loud", "[log]\nlevel = loud\n", 2, "loud");
	load_fails("unsafe maybe", "[lua]\nunsafe = maybe\n", 2, NULL);
	load_fails("duplicate key", "[server]\nport = 1\nbind = ::\n"
	    "port = 2\n", 4, "port");
	load_fails("duplicate key across repeated sections",
	    "[log]\nlevel = info\n[server]\nport = 1\n[log]\nlevel = warn\n",
	    6, "level");
	load_fails("bind to a host name", "[server]\nbind = localhost\n", 2,
	    "localhost");
	load_fails("duplicate plugin key", "[plugin.motd]\ntext = a\n"
	    "[plugin.x]\ntext = b\n[plugin.motd]\ntext = c\n", 6, "text");
	load_fails("syntax error", "[server]\nport 9000\n", 2, NULL);
	load_fails("first error wins", "[server]\nport = 1\nport = abc\n"
	    "nope = 1\n", 3, NULL);

	/* a syntax error, then a different error: the message is line 2's */
	r = load(&cfg, "[server]\nport 9000\ncolour = red\n", err, sizeof err);
	is_int(r, -1, "syntax error then unknown key: refused");
	{
		char prefix[PATH_MAX + 32];

		snprintf(prefix, sizeof prefix, "%s/t.ini:2: ", tmpdir);
		ok(strncmp(err, prefix, strlen(prefix)) == 0,
		    "... at line 2 (%s)", err);
		ok(strstr(err, "colour") == NULL, "... and line 2's message "
		    "does not describe line 3's key");
	}
	config_free(&cfg);

	/* a missing file */
	{
		char path[PATH_MAX];

		snprintf(path, sizeof path, "%s/does-not-exist.ini", tmpdir);
		config_init(&cfg);
		err[0] = '\0';
		r = config_load(&cfg, path, err, sizeof err);
		is_int(r, -1, "missing file refused");
		ok(strstr(err, path) != NULL, "... error names the path (%s)",
		    err);
		config_free(&cfg);
	}

	/* a tiny error buffer is not overrun */
	{
		char small[16];

		memset(small, 'Q', sizeof small);
		config_init(&cfg);
		r = config_load(&cfg, write_ini("t.ini",
		    "[server]\nport = nope\n"), small, 8);
		is_int(r, -1, "refused with an 8-byte error buffer");
		ok(memchr(small, '\0', 8) != NULL,
		    "... the message is NUL-terminated within 8 bytes");
		ok(memcmp(small + 8, "QQQQQQQQ", 8) == 0,
		    "... and nothing written past it");
		config_free(&cfg);
	}
}

/* The [cluster] keys: addresses, names, and heartbeat against timeout. */
static void
test_cluster(void)
{
	static const char *const good[] = {
		"127.0.0.1:6379", "[::1]:6379", "10.1.2.3:1",
		"[fe80::1]:65535", "unix:/run/redis/redis.sock",
	};
	static const char *const bad[] = {
		"localhost:6379", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:63x", "::1:6379", "[::1]6379",
		"[127.0.0.1]:6379", "unix:relative.sock", "unix:", "redis:6379",
		"127.0.0.1: 6379", "127.0.0.1:+6379",
	};
	struct config cfg;
	char err[512], text[256];
	size_t i;

	config_init(&cfg);
	ok(cfg.cluster_redis == NULL, "default: no cluster (redis unset)");
	ok(cfg.cluster_node == NULL, "default: node unset (host and pid)");
	ok(cfg.cluster_room != NULL && strcmp(cfg.cluster_room, "chatd") == 0,
	    "default room chatd");
	is_int(cfg.heartbeat, 1, "default heartbeat 1");
	is_int(cfg.node_timeout, 5, "default node_timeout 5");
	is_int(cfg.reuse_port, 0, "default reuse_port false");
	config_free(&cfg);

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(text, sizeof text, "[cluster]\nredis = %s\n", good[i]);
		is_int(load(&cfg, text, err, sizeof err), 0, "redis = %s: ok",
		    good[i]);
		ok(cfg.cluster_redis != NULL &&
		    strcmp(cfg.cluster_redis, good[i]) == 0, "... stored");
		config_free(&cfg);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "[cluster]\n\nredis = %s\n",
		    bad[i]);
		load_fails(bad[i], text, 3, "redis");
	}
	load_fails("a room with a blank", "[cluster]\nroom = a b\n", 2,
	    "room");
	load_fails("a room with a brace", "[cluster]\nroom = a{b}\n", 2,
	    "room");
	load_fails("a node with a colon", "[cluster]\nnode = a:b\n", 2,
	    "node");
	load_fails("a node of 65 bytes", "[cluster]\nnode = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n", 2, "node");
	is_int(load(&cfg, "[cluster]\nnode = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "room = Lobby_2.x-y\n", err, sizeof err), 0,
	    "a node of 64 bytes, a room of letters, digits, . _ -");
	config_free(&cfg);
	load_fails("heartbeat 0", "[cluster]\nheartbeat = 0\n", 2,
	    "heartbeat");
	load_fails("node_timeout 1", "[cluster]\nnode_timeout = 1\n", 2,
	    "node_timeout");
	load_fails("node_timeout = heartbeat", "[cluster]\nheartbeat = 3\n"
	    "node_timeout = 3\n", 3, "longer than heartbeat");
	load_fails("heartbeat past node_timeout, heartbeat last",
	    "[cluster]\nnode_timeout = 4\n\nheartbeat = 9\n", 4,
	    "longer than heartbeat");
	load_fails("heartbeat 6 against the default node_timeout",
	    "[cluster]\nheartbeat = 6\n", 2, "node_timeout (5)");
	load_fails("reuse_port maybe", "[server]\nreuse_port = maybe\n", 2,
	    "reuse_port");
	is_int(load(&cfg, "[server]\nreuse_port = yes\n", err, sizeof err), 0,
	    "reuse_port = yes");
	is_int(cfg.reuse_port, 1, "... stored as 1");
	config_free(&cfg);
}

static void
test_changed(void)
{
	struct config a, b;
	char err[512];

	config_init(&a);
	load(&b, "[server]\nport = 9999\n[buffers]\nmax_line = 80\n"
	    "[lua]\npath = /x\n", err, sizeof err);
	ok(config_changed(&a, &b, config_find("server", "port")),
	    "config_changed: port");
	ok(config_changed(&a, &b, config_find("buffers", "max_line")),
	    "config_changed: max_line");
	ok(config_changed(&a, &b, config_find("lua", "path")),
	    "config_changed: path NULL vs set");
	ok(!config_changed(&a, &b, config_find("server", "bind")),
	    "config_changed: bind same");
	ok(!config_changed(&a, &b, config_find("log", "level")),
	    "config_changed: level same");
	ok(!config_changed(&a, &a, config_find("lua", "path")),
	    "config_changed: NULL path vs NULL");
	config_free(&a);
	config_free(&b);
}

/* Every key of the table, whatever its type, compares without touching
 * what is not a string as one (a SIGHUP runs this on every key). */
static void
test_changed_every_type(void)
{
	const struct config_key	*k;
	struct config		 a, b;
	char			 err[512];
	int			 same = 1;

	config_init(&a);
	for (k = config_keys; k->section != NULL; k++)
		same &= !config_changed(&a, &a, k);
	ok(same, "config_changed: the defaults against themselves");
	is_int(load(&b, "[metrics]\nport = 9100\n[server]\nreuse_port = true\n"
	    "[cluster]\nredis = 127.0.0.1:6379\nroom = lobby\nnode = n1\n",
	    err, sizeof err), 0, "a file of port, bool, Redis and word keys");
	ok(config_changed(&a, &b, config_find("metrics", "port")),
	    "config_changed: metrics port off vs 9100");
	ok(config_changed(&a, &b, config_find("server", "reuse_port")),
	    "config_changed: reuse_port");
	ok(config_changed(&a, &b, config_find("cluster", "redis")),
	    "config_changed: redis unset vs set");
	ok(config_changed(&a, &b, config_find("cluster", "room")),
	    "config_changed: room");
	ok(config_changed(&a, &b, config_find("cluster", "node")),
	    "config_changed: node");
	ok(!config_changed(&b, &b, config_find("cluster", "room")),
	    "config_changed: room against itself");
	config_free(&a);
	config_free(&b);
}

int
main(void)
{
	make_tmpdir();
	test_defaults();
	test_find();
	test_load_all();
	test_load_partial();
	test_inline_comments();
	test_plugin_sections();
	test_long_lines();
	test_nul_bytes();
	test_relative_path();
	test_errors();
	test_cluster();
	test_changed();
	test_changed_every_type();
	cleanup();
	return done_testing();
}
