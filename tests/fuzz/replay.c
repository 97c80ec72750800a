/*
 * replay.c - a main() for the fuzz targets without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz_NAME.c by the ordinary compiler, it runs
 * LLVMFuzzerTestOneInput once per file, so the seed corpus and every input
 * that once failed are checked by "make check", in the sanitizer build too.
 * A target aborts (or a sanitizer stops it) on a broken invariant; reaching
 * the end means every file passed.
 *
 * With arguments, each names a file or a directory of files.  Without,
 * the program's own name says the target, and it replays
 * $CHATD_SRCDIR/tests/fuzz/corpus/NAME/ (which must hold files) and
 * $CHATD_SRCDIR/tests/fuzz/regressions/NAME/ (which may be missing).
 */

#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	replay_path(const char *, int);

static size_t	nfiles;

/* Run one file through the target; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*data = NULL, *bigger;
	size_t		 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((bigger = realloc(data, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(data);
				fclose(f);
				return (-1);
			}
			data = bigger;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		fclose(f);
		return (-1);
	}
	fclose(f);
	/* an exactly sized copy, so the sanitizers see any overrun */
	if ((bigger = malloc(len ? len : 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		free(data);
		return (-1);
	}
	memcpy(bigger, data, len);
	free(data);
	printf("# %s (%zu bytes)\n", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(bigger, len);
	printf("ok %zu - %s\n", ++nfiles, path);
	free(bigger);
	return (0);
}

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Every regular file of dir, in name order; -1 on error. */
static int
replay_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, **more, *path;
	size_t		 n = 0, cap = 0, i, len;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((more = realloc(names, cap * sizeof *names)) ==
			    NULL) {
				rc = -1;
				break;
			}
			names = more;
		}
		len = strlen(dir) + 1 + strlen(de->d_name) + 1;
		if ((path = malloc(len)) == NULL) {
			rc = -1;
			break;
		}
		snprintf(path, len, "%s/%s", dir, de->d_name);
		names[n++] = path;
	}
	closedir(d);
	if (rc != 0)
		fprintf(stderr, "%s: out of memory\n", dir);
	else if (n > 0)
		qsort(names, n, sizeof *names, cmp_names);
	for (i = 0; i < n; i++) {
		if (rc == 0 && replay_path(names[i], 0) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return (rc);
}

/* A file or a directory; a missing one is an error unless optional. */
static int
replay_path(const char *path, int optional)
{
	struct stat	 sb;

	if (stat(path, &sb) != 0) {
		if (optional && errno == ENOENT)
			return (0);
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(sb.st_mode))
		return (replay_dir(path));
	return (replay_file(path));
}

/* tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME of the target. */
static int
replay_default(const char *argv0)
{
	const char	*srcdir, *base, *name;
	char		 path[4096];
	size_t		 before;

	if ((srcdir = getenv("CHATD_SRCDIR")) == NULL)
		srcdir = ".";
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	name = strncmp(base, "fuzz_", 5) == 0 ? base + 5 : base;

	snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s", srcdir, name);
	before = nfiles;
	if (replay_path(path, 0) != 0)
		return (-1);
	if (nfiles == before) {
		fprintf(stderr, "%s: no seed files\n", path);
		return (-1);
	}
	snprintf(path, sizeof path, "%s/tests/fuzz/regressions/%s", srcdir,
	    name);
	return (replay_path(path, 1));
}

int
main(int argc, char **argv)
{
	int	i, rc = 0;

	if (argc < 2)
		rc = replay_default(argv[0]);
	for (i = 1; i < argc && rc == 0; i++)
		rc = replay_path(argv[i], 0);
	if (rc != 0)
		return (1);
	printf("1..%zu\n", nfiles);
	return (0);
}
