/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * Input: the bytes of an INI file, written to a private temporary file and
 * read by the real config_load() (inih and all).  The loader must not
 * crash or leak, and:
 *   - on success every key holds a value of its type within the table's
 *     bounds (integers in [min, max], booleans 0 or 1, a known log level,
 *     a numeric bind address, a non-empty plugin path resolved against the
 *     file's directory, a Redis address and room and node names of their
 *     shape, node_timeout longer than heartbeat), every [plugin.NAME] key
 *     is kept once, and loading
 *     the same bytes again gives the same values;
 *   - on failure the message is "PATH:LINE: text" with LINE a line of the
 *     input;
 *   - a line longer than the documented 198 bytes, or holding a NUL byte,
 *     is an error at that line or an earlier one, never read as something
 *     else; "line too long" names a line that really is too long.
 */

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define LINE_MAX_BYTES	198	/* the documented longest config line */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	dir[4096];
static char	path[4200];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

/* A private directory and file name, made once. */
static void
setup(void)
{
	const char	*tmp;

	if (path[0] != '\0')
		return;
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof dir, "%s/chatd-fuzz-config.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/chatd.ini", dir);
	atexit(cleanup);
}

static void
write_input(const uint8_t *data, size_t size)
{
	FILE	*f;

	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
}

/* Check every key of a loaded configuration against the table. */
static void
check_values(const struct config *cfg)
{
	const struct config_key		*k;
	const struct config_extra	*x, *y;
	const char			*s;
	unsigned char			 addr[sizeof(struct in6_addr)];
	long long			 v;
	size_t				 dlen = strlen(dir);

	for (k = config_keys; k->section != NULL; k++) {
		switch (k->type) {
		case CONF_INT:
			v = config_int(cfg, k);
			if (v < k->min || v > k->max)
				abort();
			break;
		case CONF_BOOL:
			v = config_int(cfg, k);
			if (v != 0 && v != 1)
				abort();
			break;
		case CONF_LEVEL:
			v = config_int(cfg, k);
			if (v < LL_ERROR || v > LL_DEBUG)
				abort();
			break;
		case CONF_PORT:
			v = config_int(cfg, k);
			if (v != -1 && (v < k->min || v > k->max))
				abort();
			break;
		case CONF_ADDR:
			s = config_str(cfg, k);
			if (s == NULL || (inet_pton(AF_INET, s, addr) != 1 &&
			    inet_pton(AF_INET6, s, addr) != 1))
				abort();
			break;
		case CONF_REDIS:
		case CONF_WORD:
			s = config_str(cfg, k);
			if (s == NULL) {
				if (k->def != NULL)
					abort();
				break;
			}
			if (k->type == CONF_WORD ? !clmsg_is_word(s,
			    strlen(s)) : redis_parse_addr(s, NULL, NULL, NULL,
			    0) != 0)
				abort();
			break;
		case CONF_URLPATH:
			s = config_str(cfg, k);
			if (s == NULL || *s != '/' || strpbrk(s, "?# \t") != NULL)
				abort();
			break;
		case CONF_ORIGINS:
		case CONF_ADDRS:
			if (config_str(cfg, k) == NULL)
				abort();	/* a list, empty at least */
			break;
		case CONF_STRING:
		case CONF_SECRET:
		case CONF_PATH:
			s = config_str(cfg, k);
			if (s == NULL) {
				if (k->def != NULL)
					abort();	/* lost its default */
				break;
			}
			if (*s == '\0')
				abort();
			/* relative paths are resolved against the file */
			if (k->type == CONF_PATH && s[0] != '/' &&
			    !(strncmp(s, dir, dlen) == 0 && s[dlen] == '/'))
				abort();
			break;
		}
	}
	for (x = cfg->extra; x != NULL; x = x->next) {
		if (strncmp(x->section, "plugin.", 7) != 0 ||
		    x->section[7] == '\0' || x->key == NULL ||
		    x->value == NULL)
			abort();
		for (y = x->next; y != NULL; y = y->next) {
			if (strcmp(x->section, y->section) == 0 &&
			    strcmp(x->key, y->key) == 0)
				abort();	/* a duplicate kept */
		}
	}
	if (cfg->node_timeout <= cfg->heartbeat)
		abort();	/* the check between keys */
	if (cfg->file == NULL || strcmp(cfg->file, path) != 0)
		abort();
}

/* Two loads of the same bytes must agree on every key and extra. */
static void
check_same(const struct config *a, const struct config *b)
{
	const struct config_key		*k;
	const struct config_extra	*x, *y;

	for (k = config_keys; k->section != NULL; k++) {
		if (config_changed(a, b, k))
			abort();
	}
	for (x = a->extra, y = b->extra; x != NULL && y != NULL;
	    x = x->next, y = y->next) {
		if (strcmp(x->section, y->section) != 0 ||
		    strcmp(x->key, y->key) != 0 ||
		    strcmp(x->value, y->value) != 0)
			abort();
	}
	if (x != NULL || y != NULL)
		abort();
}

/*
 * The first line (1-based) that is longer than the limit or holds a NUL
 * byte, 0 if none; *nlines gets the number of lines.
 */
static size_t
first_bad_line(const uint8_t *data, size_t size, size_t *nlines)
{
	size_t	i, start = 0, line = 1, bad = 0;
	int	nul = 0;

	*nlines = 0;
	for (i = 0; i <= size; i++) {
		if (i < size && data[i] == '\0')
			nul = 1;
		if (i == size || data[i] == '\n') {
			if (i == size && i == start)
				break;	/* no bytes after the last LF */
			if (bad == 0 && (nul || i - start > LINE_MAX_BYTES))
				bad = line;
			*nlines = line;
			line++;
			start = i + 1;
			nul = 0;
		}
	}
	return (bad);
}

/* Length of line n (1-based) of data, LF excluded. */
static size_t
line_length(const uint8_t *data, size_t size, size_t n)
{
	size_t	i, start = 0, line = 1;

	for (i = 0; i < size; i++) {
		if (data[i] == '\n') {
			if (line == n)
				return (i - start);
			line++;
			start = i + 1;
		}
	}
	return (line == n ? size - start : 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg, again;
	char		 err[512], err2[512];
	size_t		 plen, nlines, bad, errline;
	const char	*p;
	char		*end;
	int		 rc;

	setup();
	write_input(data, size);
	bad = first_bad_line(data, size, &nlines);

	config_init(&cfg);
	err[0] = '\0';
	rc = config_load(&cfg, path, err, sizeof err);
	if (rc == 0) {
		if (bad != 0)
			abort();	/* a bad line was read as something */
		check_values(&cfg);
		config_init(&again);
		if (config_load(&again, path, err2, sizeof err2) != 0)
			abort();
		check_same(&cfg, &again);
		config_free(&again);
	} else {
		if (rc != -1)
			abort();
		/* "PATH:LINE: message" */
		plen = strlen(path);
		if (strncmp(err, path, plen) != 0 || err[plen] != ':')
			abort();
		p = err + plen + 1;
		if (*p < '1' || *p > '9')
			abort();
		errline = strtoul(p, &end, 10);
		if (end[0] != ':' || end[1] != ' ' || end[2] == '\0')
			abort();
		if (errline < 1 || errline > nlines)
			abort();
		if (bad != 0 && errline > bad)
			abort();	/* the bad line went unnoticed */
		if (strncmp(end + 2, "line too long", 13) == 0 &&
		    line_length(data, size, errline) <= LINE_MAX_BYTES)
			abort();
	}
	config_free(&cfg);
	return (0);
}
