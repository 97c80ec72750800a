/*
 * Configuration: one table of keys drives the defaults, the parsing and
 * validation of the INI file (read with inih), what SIGHUP may change and
 * what plugins see as chat.config.
 */

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "chatd.h"

#define OFF(f)	offsetof(struct config, f)

const struct config_key config_keys[] = {
	{ "server", "bind", CONF_ADDR, 0, 0, "0.0.0.0", OFF(bind), 0,
	  "address to listen on; an IPv6 literal also works" },
	{ "server", "port", CONF_INT, 0, 65535, "8080", OFF(port), 0,
	  "TCP port; 0 = any free port" },
	{ "server", "max_clients", CONF_INT, 1, 1000000, "10000",
	  OFF(max_clients), 1,
	  "further connections get \"! server full\" and are closed" },
	{ "server", "idle_timeout", CONF_INT, 0, 31536000, "60",
	  OFF(idle_timeout), 1,
	  "seconds without a line before a client is dropped; 0 = never" },
	{ "server", "show_addresses", CONF_BOOL, 0, 1, "false",
	  OFF(show_addresses), 1, "true: default names are addresses and who "
	  "shows every user's; false: guest:N, and who shows none" },
	{ "server", "reuse_port", CONF_BOOL, 0, 1, "false", OFF(reuse_port), 0,
	  "true lets several chatd processes listen on one port (SO_REUSEPORT)" },
	{ "server", "upgrade_timeout", CONF_INT, 1, 3600, "10",
	  OFF(upgrade_timeout), 1,
	  "seconds a new binary has to start and take over (SIGUSR2)" },
	{ "buffers", "max_line", CONF_INT, 1, 1048576, "1024", OFF(max_line), 1,
	  "longest accepted input line in bytes, newline excluded" },
	{ "buffers", "output_limit", CONF_INT, 1024, 1073741824, "262144",
	  OFF(output_limit), 1,
	  "bytes queued to one client before it is dropped as too slow" },
	{ "buffers", "output_soft_limit", CONF_INT, 0, 1073741824, "65536",
	  OFF(output_soft_limit), 1, "bytes queued to one client for "
	  "output_soft_seconds before it is dropped as too slow; also its "
	  "kernel send buffer; 0 = none" },
	{ "buffers", "output_soft_seconds", CONF_INT, 1, 3600, "10",
	  OFF(output_soft_seconds), 1,
	  "seconds a queue may stay over output_soft_limit" },
	{ "buffers", "output_budget", CONF_INT, 0, 1099511627776LL,
	  "268435456", OFF(output_budget), 1, "bytes queued to all clients "
	  "together before the largest queues are dropped; 0 = none" },
	{ "limits", "lines_per_second", CONF_INT, 0, 1000000, "20",
	  OFF(lines_per_second), 1, "per-client input rate; 0 = unlimited" },
	{ "limits", "burst", CONF_INT, 1, 1000000, "40", OFF(burst), 1,
	  "lines a client may send at once before the rate applies" },
	{ "limits", "bytes_per_second", CONF_INT, 0, 1073741824, "32768",
	  OFF(bytes_per_second), 1, "per-client input rate in bytes, "
	  "over-long lines and telnet data included; 0 = unlimited" },
	{ "limits", "output_per_line", CONF_INT, 0, 1073741824, "1024",
	  OFF(output_per_line), 1, "bytes of answer one input line may cost "
	  "its sender; each more costs another line of the rate; 0 = free" },
	{ "limits", "max_per_ip", CONF_INT, 0, 1000000, "16", OFF(max_per_ip),
	  1, "connections from one address (an IPv6 network of ipv6_prefix "
	  "bits); 0 = unlimited" },
	{ "limits", "ipv6_prefix", CONF_INT, 1, 128, "64", OFF(ipv6_prefix), 1,
	  "leading bits of an IPv6 address that name one user's network, for "
	  "max_per_ip and the connect rate" },
	{ "limits", "connects_per_second", CONF_INT, 0, 1000000, "2",
	  OFF(connects_per_second), 1,
	  "new connections one address may open per second; 0 = unlimited" },
	{ "limits", "connect_burst", CONF_INT, 1, 1000000, "16",
	  OFF(connect_burst), 1,
	  "connections one address may open at once before the rate applies" },
	{ "room", "online_names", CONF_INT, 0, 1000, "20", OFF(online_names),
	  1, "names the newcomer's online line shows; the others are counted" },
	{ "room", "who_page", CONF_INT, 1, 1000, "50", OFF(who_page), 1,
	  "rows of one page of who; a room this small gets them all" },
	{ "room", "gather_above", CONF_INT, 0, 1000000, "100",
	  OFF(gather_above), 1,
	  "users online above which joins and leaves are told as one line "
	  "per interval; 0 = always" },
	{ "room", "gather_interval", CONF_INT, 1, 3600, "1",
	  OFF(gather_interval), 1,
	  "seconds over which gathered joins (and leaves) make one line" },
	{ "lua", "path", CONF_PATH, 0, 0, NULL, OFF(lua_path), 1,
	  "directory whose *.lua files load in name order" },
	{ "lua", "max_instructions", CONF_INT, 1000, 1000000000000LL,
	  "1000000", OFF(max_instructions), 1,
	  "Lua instructions one call may run before it is stopped" },
	{ "lua", "memory_limit", CONF_INT, 1048576, 68719476736LL, "67108864",
	  OFF(memory_limit), 1, "bytes the Lua state may allocate" },
	{ "lua", "max_time", CONF_INT, 1, 60000, "100", OFF(max_time), 1,
	  "milliseconds one plugin call may run before it is stopped" },
	{ "lua", "slow_call", CONF_INT, 0, 60000, "10", OFF(slow_call), 1,
	  "milliseconds after which a plugin call is logged as slow; 0 = never" },
	{ "lua", "breaker_errors", CONF_INT, 0, 1000000, "20",
	  OFF(breaker_errors), 1,
	  "errors in breaker_window after which a hook or command is switched "
	  "off until reload; 0 = never" },
	{ "lua", "breaker_window", CONF_INT, 1, 86400, "60",
	  OFF(breaker_window), 1, "seconds over which breaker_errors count" },
	{ "lua", "unsafe", CONF_BOOL, 0, 1, "false", OFF(unsafe), 1,
	  "true opens the whole Lua standard library to plugins" },
	{ "lua", "state_file", CONF_PATH, 0, 0, NULL, OFF(state_file), 1,
	  "file the plugins' kept state is written to, and read at start; "
	  "unset: kept across reloads only" },
	{ "lua", "state_limit", CONF_INT, 1024, 67108864, "262144",
	  OFF(state_limit), 1,
	  "bytes of kept state (its own and its users') one plugin may hand "
	  "to the next Lua state" },
	{ "log", "level", CONF_LEVEL, 0, 0, "info", OFF(log_level), 1,
	  "error | warn | info | debug" },
	{ "log", "syslog", CONF_BOOL, 0, 1, "false", OFF(log_syslog), 1,
	  "true logs to syslog (facility daemon) instead of stderr" },
	{ "log", "repeats", CONF_INT, 0, 1000000, "20", OFF(log_repeats), 1,
	  "lines of one kind (connects, leaves, refusals, renames) per 10 s "
	  "before the rest is summarised; 0 = every line" },
	{ "metrics", "bind", CONF_ADDR, 0, 0, "127.0.0.1", OFF(metrics_bind),
	  0, "address of the GET /metrics listener" },
	{ "metrics", "port", CONF_PORT, 0, 65535, "off", OFF(metrics_port), 0,
	  "port of the GET /metrics listener; off = none; 0 = any free port" },
	{ "cluster", "redis", CONF_REDIS, 0, 0, NULL, OFF(cluster_redis), 0,
	  "the Redis of a room shared by several servers: IP:PORT, "
	  "[IPv6]:PORT or unix:/path; unset = this server alone" },
	{ "cluster", "room", CONF_WORD, 0, 0, "chatd", OFF(cluster_room), 0,
	  "the room's name in Redis, so that several rooms can share one" },
	{ "cluster", "node", CONF_WORD, 0, 0, NULL, OFF(cluster_node), 0,
	  "this server's name in the room; unset = host name and process id" },
	{ "cluster", "username", CONF_STRING, 0, 0, NULL,
	  OFF(cluster_username), 0,
	  "the Redis ACL user to AUTH as; unset = Redis's default user" },
	{ "cluster", "password", CONF_SECRET, 0, 0, NULL,
	  OFF(cluster_password), 0, "the Redis password (requirepass, or the "
	  "ACL user's); unset = no AUTH; chatd -t does not show it" },
	{ "cluster", "heartbeat", CONF_INT, 1, 60, "1", OFF(heartbeat), 1,
	  "seconds between this server's heartbeats" },
	{ "cluster", "node_timeout", CONF_INT, 2, 3600, "5", OFF(node_timeout),
	  1, "seconds without this server's heartbeat before its users are "
	  "announced as lost" },
	{ "tls", "bind", CONF_ADDR, 0, 0, "0.0.0.0", OFF(tls_bind), 0,
	  "address of the TLS listener; an IPv6 literal also works" },
	{ "tls", "port", CONF_PORT, 0, 65535, "off", OFF(tls_port), 0,
	  "port of the TLS listener; off = none; 0 = any free port" },
	{ "tls", "cert", CONF_PATH, 0, 0, NULL, OFF(tls_cert), 1,
	  "PEM file of the certificate, then its chain; needed with a port" },
	{ "tls", "key", CONF_PATH, 0, 0, NULL, OFF(tls_key), 1,
	  "PEM file of the certificate's private key; needed with a port" },
	{ "tls", "min_version", CONF_STRING, 0, 0, "1.2",
	  OFF(tls_min_version), 1, "oldest TLS version accepted: 1.2 or 1.3" },
	{ "tls", "ciphers", CONF_STRING, 0, 0, "ECDHE+AESGCM:ECDHE+CHACHA20",
	  OFF(tls_ciphers), 1,
	  "TLS 1.2 cipher list, in OpenSSL's syntax (forward secret AEADs)" },
	{ "tls", "ciphersuites", CONF_STRING, 0, 0,
	  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
	  OFF(tls_ciphersuites), 1,
	  "TLS 1.3 cipher suites, colon-separated" },
	{ "tls", "client_ca", CONF_PATH, 0, 0, NULL, OFF(tls_client_ca), 1,
	  "PEM file of CAs; set = clients must show a certificate they signed" },
	{ "tls", "handshake_timeout", CONF_INT, 1, 3600, "10",
	  OFF(tls_handshake_timeout), 1,
	  "seconds a client has to finish the TLS handshake" },
	{ "websocket", "bind", CONF_ADDR, 0, 0, "0.0.0.0", OFF(ws_bind), 0,
	  "address of the WebSocket listener and its web page" },
	{ "websocket", "port", CONF_PORT, 0, 65535, "off", OFF(ws_port), 0,
	  "port of the WebSocket listener; off = none; 0 = any free port" },
	{ "websocket", "tls", CONF_BOOL, 0, 1, "false", OFF(ws_tls), 0,
	  "true = serve the page over https and wss:// with the [tls] "
	  "certificate" },
	{ "websocket", "path", CONF_URLPATH, 0, 0, "/ws", OFF(ws_path), 1,
	  "the path a browser upgrades to a chat connection" },
	{ "websocket", "origins", CONF_ORIGINS, 0, 0, "", OFF(ws_origins), 1,
	  "pages (scheme://host[:port], space-separated, or *) that may open "
	  "a chat connection; empty = only the page chatd serves itself" },
	{ "websocket", "www", CONF_PATH, 0, 0, NULL, OFF(ws_www), 1,
	  "directory of the web chat page; unset = " CHATD_WWWDIR },
	{ "websocket", "trusted_proxies", CONF_ADDRS, 0, 0, "",
	  OFF(ws_trusted_proxies), 1,
	  "addresses (space-separated) whose X-Forwarded-For names the user's "
	  "address; empty = believe no one's" },
	{ NULL, NULL, 0, 0, 0, NULL, 0, 0, NULL }
};
#define CONFIG_NKEYS	(sizeof config_keys / sizeof config_keys[0] - 1)
_Static_assert(CONFIG_NKEYS <= CONFIG_KEYS_MAX,
    "struct config's line[] is too short for config_keys[]");

/*
 * The state of one parse.  inih calls the handler for a line before it
 * reads the next, so the reader's line count is the handler's line too:
 * that is how each error keeps its own line number, whatever inih build
 * the system has.
 */
struct config_parse {
	struct config	*cfg;
	FILE		*f;
	const char	*dir;		/* of the file, for relative paths */
	int		 line;		/* the line inih is working on */
	int		 read_errno;	/* a read error, or 0 */
	int		 err_line;	/* of the first error we found */
	char		 msg[256];	/* that error */
	int		 key_line[CONFIG_NKEYS];	/* 0: not set */
};

static int	config_set(struct config *, const struct config_key *,
		    const char *, const char *, char *, size_t);
static int	config_error(struct config_parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Find a key of the table; NULL if there is none. */
const struct config_key *
config_find(const char *section, const char *name)
{
	const struct config_key	*k;

	for (k = config_keys; k->section != NULL; k++) {
		if (strcmp(k->section, section) == 0 &&
		    strcmp(k->name, name) == 0)
			return (k);
	}
	return (NULL);
}

/* Whether any key of the table is in section. */
static int
config_known_section(const char *section)
{
	const struct config_key	*k;

	for (k = config_keys; k->section != NULL; k++) {
		if (strcmp(k->section, section) == 0)
			return (1);
	}
	return (0);
}

/* Fill cfg with the built-in defaults. */
void
config_init(struct config *cfg)
{
	const struct config_key	*k;
	char			 err[128];

	memset(cfg, 0, sizeof *cfg);
	for (k = config_keys; k->section != NULL; k++) {
		if (k->def != NULL && config_set(cfg, k, k->def, NULL, err,
		    sizeof err) != 0)
			fatal("bad built-in default for %s: %s", k->name, err);
	}
}

/* Free what cfg holds. */
void
config_free(struct config *cfg)
{
	struct config_extra	*x, *next;

	free(cfg->bind);
	free(cfg->lua_path);
	free(cfg->state_file);
	free(cfg->metrics_bind);
	free(cfg->cluster_redis);
	free(cfg->cluster_room);
	free(cfg->cluster_node);
	free(cfg->cluster_username);
	free(cfg->cluster_password);
	free(cfg->tls_bind);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_min_version);
	free(cfg->tls_ciphers);
	free(cfg->tls_ciphersuites);
	free(cfg->tls_client_ca);
	free(cfg->ws_bind);
	free(cfg->ws_path);
	free(cfg->ws_origins);
	free(cfg->ws_www);
	free(cfg->ws_trusted_proxies);
	free(cfg->file);
	for (x = cfg->extra; x != NULL; x = next) {
		next = x->next;
		free(x->section);
		free(x->key);
		free(x->value);
		free(x);
	}
	for (x = cfg->operators; x != NULL; x = next) {
		next = x->next;
		free(x->section);
		free(x->key);
		free(x->value);
		free(x);
	}
	memset(cfg, 0, sizeof *cfg);
}

/* Parse a whole decimal number in [min, max]. */
static int
config_parse_int(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

/*
 * Check a list key: words separated by blanks or commas, each an origin
 * ("scheme://host[:port]", or "*") or a numeric address.
 */
static int
config_check_list(const struct config_key *k, const char *value, char *err,
    size_t errlen)
{
	const char	*p = value, *sep = " \t,", *host;
	char		 word[256];
	size_t		 n;
	struct in6_addr	 addr;

	for (;;) {
		p += strspn(p, sep);
		if (*p == '\0')
			return (0);
		n = strcspn(p, sep);
		if (n >= sizeof word)
			break;
		memcpy(word, p, n);
		word[n] = '\0';
		if (k->type == CONF_ADDRS) {
			if (inet_pton(AF_INET, word, &addr) != 1 &&
			    inet_pton(AF_INET6, word, &addr) != 1)
				break;
		} else if (strcmp(word, "*") != 0) {
			if (strncmp(word, "http://", 7) == 0)
				host = word + 7;
			else if (strncmp(word, "https://", 8) == 0)
				host = word + 8;
			else
				break;
			if (*host == '\0' || strchr(host, '/') != NULL)
				break;
		}
		p += n;
	}
	snprintf(err, errlen, "invalid value '%s' for %s: '%.*s' is not %s",
	    value, k->name, (int)(n < 64 ? n : 64), p,
	    k->type == CONF_ADDRS ? "an IPv4 or IPv6 address" :
	    "an origin (scheme://host[:port]) or *");
	return (-1);
}

/*
 * Store one value into cfg after checking it against the key's type and
 * bounds.  dir resolves relative paths.  On error, writes why to err.
 */
static int
config_set(struct config *cfg, const struct config_key *k, const char *value,
    const char *dir, char *err, size_t errlen)
{
	char		*field = (char *)cfg + k->offset;
	char		**sp = (char **)(void *)field;
	long long	 v;
	int		 level;
	size_t		 len;
	struct in6_addr	 addr;

	switch (k->type) {
	case CONF_PORT:
		if (strcmp(value, "off") == 0) {
			v = -1;
			memcpy(field, &v, sizeof v);
			return (0);
		}
		if (config_parse_int(value, k->min, k->max, &v) != 0) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected off or a port from %lld to %lld",
			    value, k->name, k->min, k->max);
			return (-1);
		}
		memcpy(field, &v, sizeof v);
		return (0);
	case CONF_INT:
		if (config_parse_int(value, k->min, k->max, &v) != 0) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected a whole number from %lld to %lld",
			    value, k->name, k->min, k->max);
			return (-1);
		}
		memcpy(field, &v, sizeof v);
		return (0);
	case CONF_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "1") == 0)
			level = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
			level = 0;
		else {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected true or false", value, k->name);
			return (-1);
		}
		memcpy(field, &level, sizeof level);
		return (0);
	case CONF_LEVEL:
		if ((level = log_level_parse(value)) == -1) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected error, warn, info or debug", value,
			    k->name);
			return (-1);
		}
		memcpy(field, &level, sizeof level);
		return (0);
	case CONF_REDIS:
		if (redis_parse_addr(value, NULL, NULL, err, errlen) != 0)
			return (-1);
		break;
	case CONF_WORD:
		/* A room or node name goes into Redis keys and into every
		 * message of the cluster: no blank, nothing to quote. */
		if (!clmsg_is_word(value, strlen(value))) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected 1 to %d letters, digits, '.', '_' or '-'",
			    value, k->name, CHATD_WORD_MAX);
			return (-1);
		}
		break;
	case CONF_ORIGINS:
	case CONF_ADDRS:
		if (config_check_list(k, value, err, errlen) != 0)
			return (-1);
		free(*sp);
		*sp = xstrdup(value);	/* empty is a list too */
		return (0);
	case CONF_URLPATH:
		if (*value != '/' || strpbrk(value, "?# \t") != NULL) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected a path starting with '/', without '?', "
			    "'#' or blanks", value, k->name);
			return (-1);
		}
		break;
	case CONF_ADDR:
		if (inet_pton(AF_INET, value, &addr) != 1 &&
		    inet_pton(AF_INET6, value, &addr) != 1) {
			snprintf(err, errlen, "invalid value '%s' for %s: "
			    "expected an IPv4 or IPv6 address (names are not "
			    "looked up)", value, k->name);
			return (-1);
		}
		/* FALLTHROUGH */
	case CONF_STRING:
	case CONF_SECRET:
	case CONF_PATH:
		break;
	}
	switch (k->type) {
	case CONF_URLPATH:
	case CONF_ADDR:
	case CONF_REDIS:
	case CONF_WORD:
	case CONF_STRING:
	case CONF_SECRET:
	case CONF_PATH:
		if (*value == '\0') {
			snprintf(err, errlen, "empty value for %s", k->name);
			return (-1);
		}
		free(*sp);
		if (k->type == CONF_PATH && *value != '/' && dir != NULL) {
			len = strlen(dir) + 1 + strlen(value) + 1;
			*sp = xmalloc(len);
			snprintf(*sp, len, "%s/%s", dir, value);
		} else
			*sp = xstrdup(value);
		return (0);
	default:
		break;
	}
	snprintf(err, errlen, "bad key type");
	return (-1);
}

/*
 * Keep a [plugin.NAME] key for the plugins, or an [operators] one, in
 * file order on the list at head; 0 if a dup.
 */
static int
config_add_extra(struct config_extra **head, const char *section,
    const char *name, const char *value, int line)
{
	struct config_extra	*x, **xp;

	for (xp = head; *xp != NULL; xp = &(*xp)->next) {
		if (strcmp((*xp)->section, section) == 0 &&
		    strcmp((*xp)->key, name) == 0)
			return (0);
	}
	x = xcalloc(1, sizeof *x);
	x->section = xstrdup(section);
	x->key = xstrdup(name);
	x->value = xstrdup(value);
	x->line = line;
	*xp = x;
	return (1);
}

/* Remember the first error, at the current line. */
static int
config_error(struct config_parse *p, const char *fmt, ...)
{
	va_list	ap;

	if (p->err_line == 0) {
		p->err_line = p->line;
		va_start(ap, fmt);
		vsnprintf(p->msg, sizeof p->msg, fmt, ap);
		va_end(ap);
	}
	return (0);
}

/*
 * The inih reader: reads one line and counts it.  A line too long for
 * inih's buffer is an error of its own, not split into made-up keys, and
 * so is a NUL byte, which would cut the line short unseen; in both cases
 * inih gets an empty line instead.
 */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse	*p = stream;
	size_t			 n = 0, text = 0, room = (size_t)num - 1;
	int			 ch = EOF, nul = 0;

	while ((ch = getc(p->f)) != EOF) {
		if (n < room)
			str[n++] = (char)ch;
		if (ch == '\n')
			break;
		text++;
		if (ch == '\0')
			nul = 1;
	}
	if (ch == EOF && ferror(p->f)) {	/* a directory, EIO: no end */
		p->read_errno = errno != 0 ? errno : EIO;
		return (NULL);
	}
	if (n == 0 && ch == EOF)
		return (NULL);
	str[n] = '\0';
	p->line++;
	if (text > room - 1) {
		config_error(p, "line too long (at most %d bytes)", num - 2);
		str[0] = '\0';
	} else if (nul) {
		config_error(p, "NUL byte in line");
		str[0] = '\0';
	}
	return (str);
}

/* The inih handler: one key at a time; returns 0 on error. */
static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parse	*p = user;
	const struct config_key	*k;
	char			 err[sizeof p->msg];

	if (strncmp(section, "plugin.", 7) == 0 && section[7] != '\0') {
		if (!config_add_extra(&p->cfg->extra, section, name, value,
		    p->line))
			return (config_error(p, "duplicate key '%s' in [%s]",
			    name, section));
		return (1);
	}
	/* NAME = crypt hash: not a key of the table, and not shown to
	 * plugins (oper.c reads them). */
	if (strcmp(section, "operators") == 0) {
		if (oper_check_entry(name, value, err, sizeof err) != 0)
			return (config_error(p, "[operators] %s", err));
		if (!config_add_extra(&p->cfg->operators, section, name, value,
		    p->line))
			return (config_error(p, "duplicate operator '%s' in "
			    "[operators]", name));
		return (1);
	}
	if ((k = config_find(section, name)) == NULL) {
		if (!config_known_section(section))
			return (config_error(p, "unknown section [%s]",
			    section));
		return (config_error(p, "unknown key '%s' in [%s]", name,
		    section));
	}
	if (p->key_line[k - config_keys] != 0)
		return (config_error(p, "duplicate key '%s' in [%s]", name,
		    section));
	p->key_line[k - config_keys] = p->line;
	if (config_set(p->cfg, k, value, p->dir, err, sizeof err) != 0)
		return (config_error(p, "%s", err));
	p->cfg->line[k - config_keys] = p->line;
	return (1);
}

/* The line a key was set on, or 0. */
static int
config_key_line(const struct config_parse *p, const char *section,
    const char *name)
{
	return (p->key_line[config_find(section, name) - config_keys]);
}

/*
 * Checks between keys, once the file is read: each error is reported at
 * the line of the key that was set last of the two.
 */
static void
config_check_keys(struct config_parse *p)
{
	struct config	*cfg = p->cfg;
	int		 a, b;

	if (cfg->node_timeout <= cfg->heartbeat) {
		a = config_key_line(p, "cluster", "heartbeat");
		b = config_key_line(p, "cluster", "node_timeout");
		p->line = a > b ? a : b;
		config_error(p, "[cluster] node_timeout (%lld) must be longer "
		    "than heartbeat (%lld)", cfg->node_timeout, cfg->heartbeat);
	}
	if (cfg->cluster_username != NULL && cfg->cluster_password == NULL) {
		p->line = config_key_line(p, "cluster", "username");
		config_error(p, "[cluster] username is set but password is not: "
		    "an ACL user logs in with its password");
	}
	if (strcmp(cfg->tls_min_version, "1.2") != 0 &&
	    strcmp(cfg->tls_min_version, "1.3") != 0) {
		p->line = config_key_line(p, "tls", "min_version");
		config_error(p, "invalid value '%s' for min_version: expected "
		    "1.2 or 1.3", cfg->tls_min_version);
	}
	if (cfg->tls_port != -1 && (cfg->tls_cert == NULL ||
	    cfg->tls_key == NULL)) {
		p->line = config_key_line(p, "tls", "port");
		config_error(p, "[tls] port is set but %s is not: a TLS "
		    "listener needs a certificate and its key",
		    cfg->tls_cert == NULL ? "cert" : "key");
	}
	/* wss:// puts the HTTP door, and then the WebSocket transport, over
	 * TLS with the [tls] certificate (see web.c).  Checked whether or not
	 * a port is set: systemd may pass the socket. */
	if (cfg->ws_tls && (cfg->tls_cert == NULL || cfg->tls_key == NULL)) {
		p->line = config_key_line(p, "websocket", "tls");
		config_error(p, "[websocket] tls = true but [tls] %s is not set: "
		    "wss:// needs the [tls] certificate and its key",
		    cfg->tls_cert == NULL ? "cert" : "key");
	}
}

/*
 * Read path into cfg, which holds the defaults.  Returns 0, or -1 with
 * "path:line: message" in err.  On error cfg is left to be freed.
 */
int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse	 p;
	const char		*slash;
	char			*dir;
	int			 line;

	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	if ((p.f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return (-1);
	}
	if ((slash = strrchr(path, '/')) == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	p.dir = dir;

	errno = 0;
	line = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.f);
	free(dir);
	if (p.read_errno != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(p.read_errno));
		return (-1);
	}
	if (line == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return (-1);
	}
	/* inih reports the first line it failed on, ours included; a line
	 * it failed on that we did not is a syntax error. */
	if (line > 0 && (p.err_line == 0 || line < p.err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] "
		    "or key = value)", path, line);
		return (-1);
	}
	if (p.err_line == 0)
		config_check_keys(&p);
	if (p.err_line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.msg);
		return (-1);
	}
	free(cfg->file);
	cfg->file = xstrdup(path);
	return (0);
}

/* The value of an integer, boolean or level key. */
long long
config_int(const struct config *cfg, const struct config_key *k)
{
	const char	*field = (const char *)cfg + k->offset;
	long long	 v;
	int		 i;

	if (k->type == CONF_INT || k->type == CONF_PORT) {
		memcpy(&v, field, sizeof v);
		return (v);
	}
	memcpy(&i, field, sizeof i);
	return (i);
}

/* The value of a string or path key; NULL when unset. */
const char *
config_str(const struct config *cfg, const struct config_key *k)
{
	const char	*s;

	memcpy(&s, (const char *)cfg + k->offset, sizeof s);
	return (s);
}

/* Whether key k differs between a and b. */
int
config_changed(const struct config *a, const struct config *b,
    const struct config_key *k)
{
	const char	*sa, *sb;

	switch (k->type) {
	case CONF_STRING:
	case CONF_SECRET:
	case CONF_PATH:
	case CONF_ADDR:
	case CONF_REDIS:
	case CONF_WORD:
	case CONF_URLPATH:
	case CONF_ORIGINS:
	case CONF_ADDRS:
		sa = config_str(a, k);
		sb = config_str(b, k);
		if (sa == NULL || sb == NULL)
			return (sa != sb);
		return (strcmp(sa, sb) != 0);
	case CONF_INT:
	case CONF_PORT:
	case CONF_BOOL:
	case CONF_LEVEL:
		break;
	}
	return (config_int(a, k) != config_int(b, k));
}

/* Give dst the value src has for key k, and where it came from. */
void
config_copy(struct config *dst, const struct config *src,
    const struct config_key *k)
{
	char		*field = (char *)dst + k->offset;
	const char	*s;
	char		*copy;
	long long	 v;
	int		 i;

	switch (k->type) {
	case CONF_STRING:
	case CONF_SECRET:
	case CONF_PATH:
	case CONF_ADDR:
	case CONF_REDIS:
	case CONF_WORD:
	case CONF_URLPATH:
	case CONF_ORIGINS:
	case CONF_ADDRS:
		s = config_str(src, k);
		copy = s != NULL ? xstrdup(s) : NULL;
		free(*(char **)(void *)field);
		memcpy(field, &copy, sizeof copy);
		break;
	case CONF_INT:
	case CONF_PORT:
		v = config_int(src, k);
		memcpy(field, &v, sizeof v);
		break;
	case CONF_BOOL:
	case CONF_LEVEL:
		i = (int)config_int(src, k);
		memcpy(field, &i, sizeof i);
		break;
	}
	dst->line[k - config_keys] = src->line[k - config_keys];
}

/* Print one "key = value ; origin" line, aligned as conf/chatd.ini. */
static void
config_print_line(FILE *f, const char *key, const char *value,
    const char *file, int line)
{
	char	kv[256];

	snprintf(kv, sizeof kv, "%s = %s", key, value);
	if (line == 0)
		fprintf(f, "%-23s ; default\n", kv);
	else
		fprintf(f, "%-23s ; %s:%d\n", kv, file, line);
}

/*
 * The effective configuration (chatd -t): every key of the table with
 * its value and where it came from (default, or file:line), then the
 * [plugin.*] keys and the [operators].  The output is itself a
 * configuration file.
 */
void
config_print(const struct config *cfg, FILE *f)
{
	const struct config_key		*k;
	const struct config_extra	*x;
	const char			*section = NULL, *s = NULL;
	char				 value[64];
	long long			 v;

	for (k = config_keys; k->section != NULL; k++) {
		if (section == NULL || strcmp(section, k->section) != 0) {
			fprintf(f, "%s[%s]\n", section != NULL ? "\n" : "",
			    k->section);
			section = k->section;
		}
		v = config_int(cfg, k);
		switch (k->type) {
		case CONF_SECRET:
			if (config_str(cfg, k) != NULL) {
				fprintf(f, "; %s is set (%s:%d); not shown\n",
				    k->name, cfg->file,
				    cfg->line[k - config_keys]);
				continue;
			}
			s = NULL;
			break;
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR:
		case CONF_REDIS:
		case CONF_WORD:
		case CONF_URLPATH:
		case CONF_ORIGINS:
		case CONF_ADDRS:
			s = config_str(cfg, k);
			break;
		case CONF_BOOL:
			s = v ? "true" : "false";
			break;
		case CONF_LEVEL:
			s = log_level_name((int)v);
			break;
		case CONF_PORT:
			if (v == -1) {
				s = "off";
				break;
			}
			/* FALLTHROUGH */
		case CONF_INT:
			snprintf(value, sizeof value, "%lld", v);
			s = value;
			break;
		}
		if (s == NULL && k->offset == OFF(lua_path)) {
			fprintf(f, "; %s is unset: the plugins in %s if that "
			    "directory exists, else the built-in ones\n",
			    k->name, CHATD_PLUGINDIR);
			continue;
		}
		if (s == NULL) {
			/* A key without a default: its help says what
			 * leaving it unset means. */
			fprintf(f, "; %s is unset: %s\n", k->name, k->help);
			continue;
		}
		config_print_line(f, k->name, s, cfg->file,
		    cfg->line[k - config_keys]);
	}
	section = NULL;
	for (x = cfg->extra; x != NULL; x = x->next) {
		if (section == NULL || strcmp(section, x->section) != 0) {
			fprintf(f, "\n[%s]\n", x->section);
			section = x->section;
		}
		config_print_line(f, x->key, x->value, cfg->file, x->line);
	}
	if (cfg->operators != NULL)
		fprintf(f, "\n[operators]\n");
	for (x = cfg->operators; x != NULL; x = x->next)
		config_print_line(f, x->key, x->value, cfg->file, x->line);
}
