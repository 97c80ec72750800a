/*
 * Operators: the [operators] section names them, each with a crypt(3)
 * hash of a password, as /etc/shadow keeps them (yescrypt by default,
 * through libxcrypt).  A user who gives a name and its password
 * (user:oper(), which the default room's "oper" command calls) is an
 * operator until they leave, or until a reload drops or changes that
 * name.  Commands whose entry says op = true are refused to others
 * (command.c).
 *
 * Every attempt is logged, never its password, and each address gets a
 * few attempts at once and then one every OPER_REFILL seconds: a hash
 * costs a few milliseconds of the loop by design, so guessing is slow
 * for the guesser and cannot be used to stall the room.
 */

#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chatd.h"

#define OPER_BURST	3	/* attempts an address may make at once */
#define OPER_REFILL	20.	/* seconds for each further attempt */

/* The attempt bucket of one address (ipkey). */
struct oper_rate {
	double		tokens;
	ev_tstamp	at;
};

/*
 * Whether an [operators] entry can be used: a name as a user could
 * give it (not empty, no '|' or control character) and a hash that
 * libcrypt takes as one of a method it still trusts.  0 or -1 with err.
 */
int
oper_check_entry(const char *name, const char *hash, char *err,
    size_t errlen)
{
	const char	*p;

	if (*name == '\0' || strchr(name, '|') != NULL) {
		snprintf(err, errlen, "'%s': an operator's name is not empty "
		    "and has no '|'", name);
		return (-1);
	}
	for (p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "'%s': control character in an "
			    "operator's name", name);
			return (-1);
		}
	}
	/* A whole hash: "$id$[params$]salt$hash", the hash not empty. */
	p = strrchr(hash, '$');
	if (hash[0] != '$' || p == NULL || p[1] == '\0' || p == hash) {
		snprintf(err, errlen, "%s: '%s' is not a crypt(3) hash (make "
		    "one with chatd --hash-password)", name, hash);
		return (-1);
	}
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
		return (0);
	case CRYPT_SALT_METHOD_LEGACY:
		snprintf(err, errlen, "%s: the hash is of a method too weak to "
		    "trust (make a new one with chatd --hash-password)", name);
		return (-1);
	default:
		snprintf(err, errlen, "%s: '%s' is not a crypt(3) hash this "
		    "libcrypt can check (make one with chatd --hash-password)",
		    name, hash);
		return (-1);
	}
}

/* The hash of operator name in cfg, or NULL. */
static const char *
oper_hash(const struct config *cfg, const char *name)
{
	const struct config_extra	*x;

	for (x = cfg->operators; x != NULL; x = x->next) {
		if (strcmp(x->key, name) == 0)
			return (x->value);
	}
	return (NULL);
}

/* Refill a bucket to now. */
static void
oper_refill(struct oper_rate *r, ev_tstamp now)
{
	r->tokens += (now - r->at) / OPER_REFILL;
	if (r->tokens > OPER_BURST)
		r->tokens = OPER_BURST;
	r->at = now;
}

/* Whether a bucket is full again (then it is freed). */
static int
oper_rate_full(void *v, void *arg)
{
	struct oper_rate	*r = v;
	struct server		*srv = arg;

	oper_refill(r, ev_now(srv->loop));
	if (r->tokens < OPER_BURST)
		return (0);
	free(r);
	return (1);
}

/* Take an attempt from c's address; 0 and the wait if it has none. */
static int
oper_take(struct client *c, double *wait)
{
	struct server		*srv = c->srv;
	struct oper_rate	*r;
	ev_tstamp		 now = ev_now(srv->loop);

	if ((r = map_get(&srv->oper_tries, c->ipkey, c->ipkeylen)) == NULL) {
		/* Full buckets change nothing: forget them once there are
		 * many, so the map holds the addresses of the last
		 * minute or so. */
		if (srv->oper_tries.count >= CHATD_RATE_SWEEP)
			map_sweep(&srv->oper_tries, oper_rate_full, srv);
		r = xmalloc(sizeof *r);
		r->tokens = OPER_BURST;
		r->at = now;
		map_put(&srv->oper_tries, c->ipkey, c->ipkeylen, r);
	}
	oper_refill(r, now);
	if (r->tokens < 1.) {
		*wait = (1. - r->tokens) * OPER_REFILL;
		return (0);
	}
	r->tokens -= 1.;
	return (1);
}

/* Whether password is the one hash was made from, in constant time. */
static int
oper_verify(const char *password, const char *hash)
{
	struct crypt_data	*cd;
	const char		*out;
	size_t			 len = strlen(hash);
	int			 ok;

	cd = xcalloc(1, sizeof *cd);
	out = crypt_rn(password, hash, cd, sizeof *cd);
	ok = out != NULL && strlen(out) == len &&
	    CRYPTO_memcmp(out, hash, len) == 0;
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return (ok);
}

/*
 * c asks to be operator name with password.  0: it is; else -1 with why
 * (a sentence for the user): no such operator or a wrong password (told
 * apart only in the log), or too many attempts from its address.
 */
int
oper_try(struct client *c, const char *name, size_t namelen,
    const char *password, size_t pwlen, char *why, size_t whylen)
{
	/* A hash of no password, so that an unknown name costs as much
	 * as a known one and timing does not tell names apart. */
	static const char dummy[] =
	    "$y$j9T$2tzJxkJ6Yh5yl8wOPL6Gf1$"
	    "PaTLSKWUZbwjvn0qtd87kjfIdnLtA3cJlYAL8hhsUjB";
	const char	*hash;
	double		 wait;
	int		 ok;

	if (!oper_take(c, &wait)) {
		log_warn("oper: client %llu (%s) as '%.*s': refused, too many "
		    "attempts from its address", (unsigned long long)c->id,
		    c->addr, (int)namelen, name);
		snprintf(why, whylen, "too many attempts; try again in %.0f s",
		    wait + 0.5);
		return (-1);
	}
	if (strlen(name) != namelen || strlen(password) != pwlen)
		hash = NULL;		/* a NUL byte: no such operator */
	else
		hash = oper_hash(&c->srv->cfg, name);
	ok = oper_verify(password, hash != NULL ? hash : dummy) &&
	    hash != NULL;
	if (!ok) {
		log_warn("oper: client %llu (%s) as '%.*s': refused, %s",
		    (unsigned long long)c->id, c->addr, (int)namelen, name,
		    hash == NULL ? "no such operator" : "wrong password");
		snprintf(why, whylen, "wrong name or password");
		return (-1);
	}
	log_info("oper: client %llu (%s) '%s' is now operator '%s'",
	    (unsigned long long)c->id, c->addr, c->name, name);
	free(c->oper);
	c->oper = xstrdup(name);
	return (0);
}

/*
 * After a reload: an operator whose name is gone from [operators], or
 * whose hash changed (a new password), is an operator no more.
 */
void
oper_reload(struct server *srv, const struct config *old)
{
	struct client	*c;
	const char	*was, *now;

	TAILQ_FOREACH(c, &srv->reg.all, entry) {
		if (c->oper == NULL)
			continue;
		was = oper_hash(old, c->oper);
		now = oper_hash(&srv->cfg, c->oper);
		if (now != NULL && was != NULL && strcmp(was, now) == 0)
			continue;
		log_info("oper: client %llu (%s) is operator '%s' no more: "
		    "%s", (unsigned long long)c->id, c->addr, c->oper,
		    now == NULL ? "gone from [operators]" : "its hash changed");
		free(c->oper);
		c->oper = NULL;
	}
}

/* Forget the attempt buckets (at exit). */
static int
oper_rate_free(void *v, __unused void *arg)
{
	free(v);
	return (1);
}

void
oper_free(struct server *srv)
{
	map_sweep(&srv->oper_tries, oper_rate_free, NULL);
	map_free(&srv->oper_tries);
}

/* Read one line from f into buf, without its newline; -1 at EOF. */
static int
oper_read_line(FILE *f, char *buf, size_t size)
{
	size_t	len;

	if (fgets(buf, (int)size, f) == NULL)
		return (-1);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	return (0);
}

/*
 * Read a password from f, with a prompt and no echo if it is a terminal
 * (asked twice there, as passwd(1) does).  Returns 0 or -1 with err.
 */
static int
oper_read_password(FILE *f, char *pw, size_t size, char *err, size_t errlen)
{
	struct termios	 saved, quiet;
	char		 again[1024];
	int		 tty = isatty(fileno(f)), rc = 0;

	if (tty) {
		if (tcgetattr(fileno(f), &saved) != 0) {
			snprintf(err, errlen, "tcgetattr: %s", strerror(errno));
			return (-1);
		}
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		(void)tcsetattr(fileno(f), TCSAFLUSH, &quiet);
		fprintf(stderr, "Password: ");
		fflush(stderr);
	}
	if (oper_read_line(f, pw, size) != 0) {
		snprintf(err, errlen, "no password given");
		rc = -1;
	} else if (tty) {
		fprintf(stderr, "Again: ");
		fflush(stderr);
		if (oper_read_line(f, again, sizeof again) != 0 ||
		    strcmp(pw, again) != 0) {
			snprintf(err, errlen, "the passwords differ");
			rc = -1;
		}
		OPENSSL_cleanse(again, sizeof again);
	}
	if (tty)
		(void)tcsetattr(fileno(f), TCSAFLUSH, &saved);
	if (rc == 0 && pw[0] == '\0') {
		snprintf(err, errlen, "the password is empty");
		rc = -1;
	}
	return (rc);
}

/*
 * chatd --hash-password: read a password from stdin and print its
 * yescrypt hash, for an [operators] line.  Returns the exit status.
 */
int
oper_hash_password(void)
{
	struct crypt_data	*cd;
	char			 pw[1024], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char			 err[256];
	const char		*out;
	int			 rc = 0;

	if (oper_read_password(stdin, pw, sizeof pw, err, sizeof err) != 0) {
		fprintf(stderr, "chatd: %s\n", err);
		return (1);
	}
	/* "$y$": yescrypt at libcrypt's default cost, with a salt from
	 * the system's random source. */
	cd = xcalloc(1, sizeof *cd);
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    (int)sizeof setting) == NULL ||
	    (out = crypt_rn(pw, setting, cd, sizeof *cd)) == NULL) {
		fprintf(stderr, "chatd: crypt: %s\n", strerror(errno));
		rc = 1;
	} else
		printf("%s\n", out);
	OPENSSL_cleanse(pw, sizeof pw);
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return (rc);
}
