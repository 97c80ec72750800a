/*
 * chatd: command line, configuration, and the loop.
 */

#include "config.h"

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
	    "usage: chatd [-htV] [-c file]\n"
	    "  -c, --config file  read this configuration\n"
	    "                     (default: %s if present,\n"
	    "                     else built-in defaults)\n"
	    "  -t, --test         check the configuration and plugins, print\n"
	    "                     the effective configuration and ok, exit\n"
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct server	 srv;
	struct config	 cfg;
	const char	*path = NULL;
	char		 err[1024];
	int		 ch, check = 0;

	while ((ch = getopt_long(argc, argv, "c:htV", longopts, NULL)) != -1) {
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
		case 'V':
			printf("chatd %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "chatd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return (2);
	}

	if (path == NULL && access(CHATD_CONFFILE, F_OK) == 0)
		path = CHATD_CONFFILE;
	config_init(&cfg);
	if (path != NULL && config_load(&cfg, path, err, sizeof err) != 0) {
		if (check)
			fprintf(stderr, "%s\n", err);
		else
			log_error("%s", err);
		config_free(&cfg);
		return (1);
	}
	log_set_level(cfg.log_level);

	if (check)
		return (check_config(&cfg, err, sizeof err));

	/* A peer that goes away must cost a write error, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/* From here on the log goes where the configuration says; until
	 * chatd listens, an error is shown on stderr as well. */
	log_set_tee_errors(1);
	log_set_syslog(cfg.log_syslog);
	if (systemd_init(err, sizeof err) != 0) {
		log_error("%s", err);
		config_free(&cfg);
		systemd_free();
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
		return (1);
	}
	log_set_tee_errors(0);
	server_run(&srv);
	server_free(&srv);
	systemd_free();
	metrics_free();
	log_info("stopped");
	return (0);
}
