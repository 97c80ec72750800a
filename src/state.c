/*
 * What the plugins keep (chat.keep, keep.c), held in C between two Lua
 * states and, with [lua] state_file, between two runs of chatd.
 *
 * On SIGHUP the running state's kept values are taken as bytes into the
 * store before the new state loads, and each plugin of the new state
 * that calls chat.keep gets its own back (and its user.data for the
 * users online).  The bytes are C's: no Lua code is written or run to
 * carry them, and keep.c reads them back with the same checks as a file.
 *
 * The file holds the plugins' own values (not user.data: after a restart
 * no user is the one it was).  It is written whole to a temporary file
 * beside it, fsync'd and renamed over it, so a crash leaves the old file
 * or the new one, never half of one:
 *   - when chatd stops (not after an upgrade's hand-over: the new
 *     process owns the file then), and when an upgrade begins, so the
 *     new process reads what the old one had;
 *   - every STATE_EVERY seconds, if what would be written differs from
 *     what was written last.
 * A file that cannot be read, is not chatd's, is truncated or damaged
 * (its checksum), or holds a value keep.c refuses, is reported and left
 * aside as FILE.bad; the plugins start afresh.
 *
 *   file   = "chatd-state" u32:version u32:count record* u64:fnv1a
 *   record = str:plugin-file u64:0 str:value        (value: keep.c)
 */

#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

#define STATE_MAGIC	"chatd-state"
#define STATE_VERSION	1
#define STATE_EVERY	60.0		/* seconds between checks */
#define STATE_FILE_MAX	(1u << 30)	/* bytes read at most */
#define STATE_NAME_MAX	255		/* a plugin's file name */

struct kept {
	struct kept_rec	*v;
	size_t		 n;
	ev_timer	 timer;
	uint64_t	 written;	/* checksum of the file last written */
	int		 have_written;
};

/* FNV-1a, 64 bits: enough to tell a damaged file from a whole one. */
static uint64_t
state_fnv(const char *p, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return (h);
}

static void
state_clear(struct kept *k)
{
	size_t	i;

	for (i = 0; i < k->n; i++) {
		free(k->v[i].plugin);
		free(k->v[i].data);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

/* The record of plugin file (its user's, or its own for user 0). */
const struct kept_rec *
state_find(const struct server *srv, const char *plugin, uint64_t user)
{
	size_t	i;

	if (srv == NULL || srv->kept == NULL)
		return (NULL);
	for (i = 0; i < srv->kept->n; i++) {
		if (srv->kept->v[i].user == user &&
		    strcmp(srv->kept->v[i].plugin, plugin) == 0)
			return (&srv->kept->v[i]);
	}
	return (NULL);
}

/* Every record, for keep.c to hand back the users' ones. */
size_t
state_records(const struct server *srv, const struct kept_rec **v)
{
	if (srv == NULL || srv->kept == NULL) {
		*v = NULL;
		return (0);
	}
	*v = srv->kept->v;
	return (srv->kept->n);
}

/*
 * Take what the running plugins keep into the store, in place of what
 * was there.  A plugin whose state cannot be taken (keep.c logs why)
 * loses it: keeping the previous bytes would hand back stale values as
 * if they were current.
 */
void
state_take(struct server *srv)
{
	struct kept_rec	*v;
	size_t		 n;

	if (srv->kept == NULL || srv->script == NULL)
		return;
	if (keep_take(srv->script, &v, &n) != 0)
		return;		/* the Lua state failed: keep the store */
	state_clear(srv->kept);
	srv->kept->v = v;
	srv->kept->n = n;
}

/* The file's bytes for what the store holds (the plugins' own values). */
static void
state_encode(const struct kept *k, struct clbuf *b)
{
	size_t		i, count = 0;
	uint64_t	h;

	for (i = 0; i < k->n; i++)
		count += k->v[i].user == 0;
	clbuf_append(b, STATE_MAGIC, sizeof STATE_MAGIC - 1);
	ustate_put_u32(b, STATE_VERSION);
	ustate_put_u32(b, (uint32_t)count);
	for (i = 0; i < k->n; i++) {
		if (k->v[i].user != 0)
			continue;
		ustate_put_str(b, k->v[i].plugin, strlen(k->v[i].plugin));
		ustate_put_u64(b, 0);
		ustate_put_str(b, k->v[i].data, k->v[i].len);
	}
	h = state_fnv(b->data, b->len);
	ustate_put_u64(b, h);
}

/* path with suffix after it, allocated. */
static char *
state_path(const char *path, const char *suffix)
{
	size_t	 len = strlen(path) + strlen(suffix) + 1;
	char	*p = xmalloc(len);

	snprintf(p, len, "%s%s", path, suffix);
	return (p);
}

/* The directory part of path, for its fsync. */
static int
state_open_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 fd;

	if (slash == NULL)
		return (open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (slash == path)
		return (open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return (fd);
}

/* Write b to path atomically: temporary file, fsync, rename, fsync dir. */
static int
state_write_file(const char *path, const struct clbuf *b)
{
	char	*tmp;
	size_t	 off = 0;
	ssize_t	 w;
	int	 fd, dfd, saved;

	tmp = state_path(path, ".XXXXXX");
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	while (off < b->len) {
		if ((w = write(fd, b->data + off, b->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail_fd;
	if (close(fd) == -1) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		goto fail_fd;
	}
	if ((dfd = state_open_dir(path)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(tmp);
	return (0);
fail_fd:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	log_error("state_file %s: cannot write: %s; the previous file stays",
	    path, strerror(errno));
	free(tmp);
	return (-1);
}

/* Write the file if there is one to write and it would change. */
static void
state_save(struct server *srv, int force)
{
	struct clbuf	b = { NULL, 0, 0 };
	uint64_t	h;

	if (srv->kept == NULL || srv->cfg.state_file == NULL)
		return;
	state_encode(srv->kept, &b);
	h = state_fnv(b.data, b.len);
	if (force || !srv->kept->have_written || h != srv->kept->written) {
		if (state_write_file(srv->cfg.state_file, &b) == 0) {
			srv->kept->written = h;
			srv->kept->have_written = 1;
			log_debug("state_file %s: written (%zu bytes)",
			    srv->cfg.state_file, b.len);
		}
	}
	clbuf_free(&b);
}

/* Take the plugins' state and write the file now (an upgrade begins). */
void
state_write(struct server *srv)
{
	state_take(srv);
	state_save(srv, 0);
}

/* Parse a file's bytes into k; NULL, or what is wrong with them. */
static const char *
state_parse(const char *data, size_t len, struct kept *k)
{
	struct ustate_in	 in;
	const char		*name, *value, *why;
	size_t			 nlen, vlen, body;
	uint64_t		 count, i, user, sum;

	if (len < sizeof STATE_MAGIC - 1 ||
	    memcmp(data, STATE_MAGIC, sizeof STATE_MAGIC - 1) != 0)
		return ("not a chatd state file");
	in.p = (const unsigned char *)data + sizeof STATE_MAGIC - 1;
	in.left = len - (sizeof STATE_MAGIC - 1);
	in.err = NULL;
	if ((i = ustate_get_uint(&in, 4)) != STATE_VERSION && in.err == NULL)
		return ("a state file of another version of chatd");
	count = ustate_get_uint(&in, 4);
	if (in.err == NULL && count > in.left / 13)
		return ("truncated");	/* 13: the smallest record */
	for (i = 0; i < count && in.err == NULL; i++) {
		name = ustate_get_str(&in, STATE_NAME_MAX, &nlen,
		    "a plugin name too long");
		user = ustate_get_uint(&in, 8);
		value = ustate_get_str(&in, STATE_FILE_MAX, &vlen, "truncated");
		if (in.err != NULL)
			break;
		if (user != 0 || nlen == 0 || memchr(name, '/', nlen) != NULL ||
		    memchr(name, '\0', nlen) != NULL)
			return ("a record that is not a plugin's");
		if ((why = keep_check(value, vlen)) != NULL)
			return (why);
		k->v = xrealloc(k->v, (k->n + 1) * sizeof *k->v);
		k->v[k->n].plugin = xstrndup(name, nlen);
		k->v[k->n].user = 0;
		k->v[k->n].data = xmalloc(vlen > 0 ? vlen : 1);
		memcpy(k->v[k->n].data, value, vlen);
		k->v[k->n].len = vlen;
		k->n++;
	}
	body = len - in.left;
	sum = ustate_get_uint(&in, 8);
	if (in.err != NULL)
		return (in.err);
	if (in.left != 0)
		return ("bytes after its end");
	if (sum != state_fnv(data, body))
		return ("damaged (its checksum does not match)");
	return (NULL);
}

/* Read the whole of path into *data; -1 with errno set. */
static int
state_read_file(const char *path, char **data, size_t *len)
{
	struct stat	 st;
	ssize_t		 r;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > STATE_FILE_MAX) {
		if (errno == 0 || !S_ISREG(st.st_mode) ||
		    (uintmax_t)st.st_size > STATE_FILE_MAX)
			errno = EFBIG;
		close(fd);
		return (-1);
	}
	*data = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		if ((r = read(fd, *data + off, (size_t)st.st_size - off)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			if (r == 0)
				break;		/* it shrank: parse what is */
			free(*data);
			close(fd);
			return (-1);
		}
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return (0);
}

/* Read [lua] state_file into the store, or report why not. */
static void
state_load(struct server *srv)
{
	const char	*path = srv->cfg.state_file, *why;
	char		*data, *bad;
	size_t		 len;

	if (path == NULL)
		return;
	if (state_read_file(path, &data, &len) != 0) {
		if (errno == ENOENT)
			log_info("state_file %s: none yet; the plugins start "
			    "afresh", path);
		else
			log_warn("state_file %s: cannot read: %s; ignored, the "
			    "plugins start afresh", path, strerror(errno));
		return;
	}
	if ((why = state_parse(data, len, srv->kept)) != NULL) {
		state_clear(srv->kept);
		bad = state_path(path, ".bad");
		if (rename(path, bad) == 0)
			log_warn("state_file %s: %s; ignored (kept as %s), the "
			    "plugins start afresh", path, why, bad);
		else
			log_warn("state_file %s: %s; ignored, the plugins start "
			    "afresh", path, why);
		free(bad);
	} else
		log_info("state_file %s: read (%zu plugins)", path,
		    srv->kept->n);
	free(data);
}

static void
state_timer_cb(struct ev_loop *loop, ev_timer *w, __unused int revents)
{
	struct server	*srv = ev_userdata(loop);

	(void)w;
	state_take(srv);
	state_save(srv, 0);
}

/* Before the plugins first load: make the store and read the file. */
void
state_init(struct server *srv)
{
	srv->kept = xcalloc(1, sizeof *srv->kept);
	state_load(srv);
	ev_timer_init(&srv->kept->timer, state_timer_cb, STATE_EVERY,
	    STATE_EVERY);
	ev_timer_start(srv->loop, &srv->kept->timer);
}

/*
 * chatd stops: take the plugins' state and write the file, unless the
 * process has handed its users to a new one (that one writes it now).
 */
void
state_stop(struct server *srv)
{
	if (srv->kept == NULL)
		return;
	ev_timer_stop(srv->loop, &srv->kept->timer);
	if (!srv->upgraded) {
		state_take(srv);
		state_save(srv, 1);
	}
	state_clear(srv->kept);
	free(srv->kept);
	srv->kept = NULL;
}
