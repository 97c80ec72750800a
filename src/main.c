/*
 * chatd: command line, configuration, and the loop.
 */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatd.h"

/* Print how to call chatd. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: chatd [-htV] [-c file] [-u pid]\n"
	    "       chatd --hash-password\n"
	    "       chatd --plugin-test file...\n"
	    "  -c, --config file  read this configuration\n"
	    "                     (default: %s if present,\n"
	    "                     else built-in defaults)\n"
	    "  -t, --test         check the configuration and plugins, print\n"
	    "                     the effective configuration and ok, exit\n"
	    "  -u, --upgrade pid  check as -t, then have the chatd running as\n"
	    "                     pid hand its room over to this binary, and\n"
	    "                     wait until it has\n"
	    "  --plugin-test file...  run these plugin tests (in Lua, with\n"
	    "                     simulated users; see chatd-lua(7))\n"
	    "  --hash-password    read a password from stdin and print its\n"
	    "                     crypt(3) hash, for [operators]\n"
	    "  -h, --help         print this help and exit\n"
	    "  -V, --version      print the version and exit\n",
	    CHATD_CONFFILE);
}

/*
 * chatd -t: the effective configuration (every key, its value and where
 * it came from), then "ok" once every plugin has loaded; or nothing on
 * stdout and the error on stderr.  Returns the exit status.
 */
static int
check_config(struct config *cfg, char *err, size_t errlen)
{
	char	*report = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&report, &len)) == NULL)
		fatal("open_memstream: out of memory");
	config_print(cfg, f);
	if (fclose(f) != 0)
		fatal("open_memstream: out of memory");
	/* Plugin errors are the report here, not log noise. */
	if (cfg->log_level > LL_WARN)
		cfg->log_level = LL_WARN;
	if (server_check(cfg, err, errlen) != 0) {
		fprintf(stderr, "%s\n", err);
		free(report);
		return (1);
	}
	fwrite(report, 1, len, stdout);
	printf("ok\n");
	free(report);
	return (0);
}

/* Whether process pid is gone (a zombie counts as gone). */
static int
pid_gone(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	size_t	n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (1);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last parenthesis. */
	return ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
	    p[2] == 'Z');
}

/* Whether process pid has a child: 1, 0, or -1 if that cannot be told. */
static int
pid_has_child(pid_t pid)
{
	char	path[64];
	FILE	*f;
	int	c;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	c = fgetc(f);
	fclose(f);
	return (c != EOF);
}

/*
 * chatd -u pid: check this binary's configuration and plugins, then send
 * SIGUSR2 to the running chatd and wait until it has handed over and
 * exited.  Returns the exit status.
 */
static int
upgrade_running(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	char		*end;
	long		 pid;
	double		 waited, limit = (double)cfg->upgrade_timeout + 5.;
	int		 seen = 0, child;

	pid = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || pid <= 1) {
		fprintf(stderr, "chatd: -u %s: not a process id\n", arg);
		return (2);
	}
	if (cfg->log_level > LL_WARN)
		cfg->log_level = LL_WARN;
	if (server_check(cfg, err, errlen) != 0) {
		fprintf(stderr, "chatd: not upgrading: %s\n", err);
		return (1);
	}
	if (kill((pid_t)pid, SIGUSR2) == -1) {
		fprintf(stderr, "chatd: pid %ld: %s\n", pid, strerror(errno));
		return (1);
	}
	/* Success is pid gone.  Failure shows sooner where /proc lists
	 * children: the new process it started is gone and it is not; it
	 * is checked again a little later, as pid may be exiting after a
	 * hand-over (its child is then no longer its own). */
	for (waited = 0; waited < limit; waited += 0.05) {
		if (pid_gone((pid_t)pid)) {
			printf("chatd: pid %ld handed over and exited\n", pid);
			return (0);
		}
		child = pid_has_child((pid_t)pid);
		if (child == 1)
			seen = 1;
		else if (child == 0 && seen) {
			usleep(500000);
			if (pid_gone((pid_t)pid))
				continue;
			fprintf(stderr, "chatd: pid %ld still serving: the new "
			    "process it started is gone; the upgrade failed "
			    "(its log says why)\n", pid);
			return (1);
		}
		usleep(50000);
	}
	fprintf(stderr, "chatd: pid %ld still serving after %.0f s: the "
	    "upgrade failed (its log says why)\n", pid, limit);
	return (1);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "upgrade", required_argument, NULL, 'u' },
		{ "hash-password", no_argument, NULL, 'H' },
		{ "plugin-test", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct server	 srv;
	struct config	 cfg;
	const char	*path = NULL, *upgrade_pid = NULL;
	char		 err[1024];
	int		 ch, check = 0, upgraded, plugin_test = 0;

	while ((ch = getopt_long(argc, argv, "c:htu:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'u':
			upgrade_pid = optarg;
			break;
		case 'V':
			printf("chatd %s\n", PACKAGE_VERSION);
			return (0);
		case 'T':
			plugin_test = 1;
			break;
		case 'H':
			if (optind != argc) {
				usage(stderr);
				return (2);
			}
			return (oper_hash_password());
		default:
			usage(stderr);
			return (2);
		}
	}
	if (plugin_test) {
		if (optind == argc) {
			fprintf(stderr, "chatd: --plugin-test: no test file\n");
			return (2);
		}
		return (luatest_main("warn", argc - optind, argv + optind));
	}
	if (optind != argc) {
		fprintf(stderr, "chatd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return (2);
	}

	if (path == NULL && access(CHATD_CONFFILE, F_OK) == 0)
		path = CHATD_CONFFILE;
	/* Started by an upgrade: the old process waits to hear how it goes. */
	(void)upgrade_child();
	config_init(&cfg);
	if (path != NULL && config_load(&cfg, path, err, sizeof err) != 0) {
		if (check)
			fprintf(stderr, "%s\n", err);
		else
			log_error("%s", err);
		upgrade_refuse(err);
		config_free(&cfg);
		return (1);
	}
	log_set_level(cfg.log_level);

	if (check)
		return (check_config(&cfg, err, sizeof err));
	if (upgrade_pid != NULL)
		return (upgrade_running(&cfg, upgrade_pid, err, sizeof err));
	upgrade_init(argc, argv);

	/* A peer that goes away must cost a write error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/* From here on the log goes where the configuration says; until
	 * chatd listens, an error is shown on stderr as well. */
	log_set_tee_errors(1);
	log_set_syslog(cfg.log_syslog);
	if (systemd_init(err, sizeof err) != 0) {
		log_error("%s", err);
		upgrade_refuse(err);
		config_free(&cfg);
		systemd_free();
		upgrade_free();
		return (1);
	}
	if (path == NULL)
		log_info("no configuration file (%s); running on built-in "
		    "defaults", CHATD_CONFFILE);
	else
		log_info("configuration read from %s", path);
	if (server_init(&srv, &cfg, path) != 0) {
		server_free(&srv);
		systemd_free();
		metrics_free();
		upgrade_free();
		return (1);
	}
	log_set_tee_errors(0);
	server_run(&srv);
	upgraded = srv.upgraded;
	server_free(&srv);
	systemd_free();
	metrics_free();
	upgrade_free();
	log_info(upgraded ? "stopped: the new process serves" : "stopped");
	return (0);
}
