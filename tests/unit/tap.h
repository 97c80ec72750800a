/*
 * tap.h - a tiny TAP producer for the chatd unit tests.
 *
 *	ok(cond, fmt, ...)			pass if cond
 *	is_int(got, want, fmt, ...)		compare two integers
 *	is_str(got, want, fmt, ...)		compare two C strings (NULL ok)
 *	is_mem(got, gotlen, want, wantlen, fmt, ...)	compare byte ranges
 *	diag(fmt, ...)				print a "# " comment
 *	return done_testing();			print "1..N", exit status
 *
 * Each check prints "ok N - name" or "not ok N - name" followed by the
 * got/expected values as "# " comments.  The plan is printed at the end,
 * and done_testing() returns 0 only if every check passed: the automake
 * harness reads the exit status, a human or prove(1) reads the output.
 * Every check evaluates to its own result (1 pass, 0 fail) so a test can
 * stop early after a failure that would make the following checks crash.
 */

#ifndef CHATD_TAP_H
#define CHATD_TAP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TAP_UNUSED	__attribute__((unused))
#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TAP_UNUSED
#define TAP_PRINTF(f, a)
#endif

static int tap_run TAP_UNUSED;
static int tap_failed TAP_UNUSED;

TAP_PRINTF(4, 0) static void
tap_vresult(int pass, const char *file, int line, const char *fmt,
    va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	putchar('\n');
	if (!pass)
		printf("#   Failed test at %s line %d.\n", file, line);
	fflush(stdout);
}

TAP_UNUSED TAP_PRINTF(4, 5) static int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

TAP_UNUSED TAP_PRINTF(1, 2) static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

TAP_UNUSED TAP_PRINTF(5, 6) static int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#          got: %lld\n", got);
		printf("#     expected: %lld\n", want);
	}
	return pass;
}

/* Print bytes as a C string literal, escaping anything unprintable. */
static void
tap_print_mem(const char *label, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i, shown = len > 512 ? 512 : len;

	printf("# %12s: ", label);
	if (p == NULL) {
		printf("NULL\n");
		return;
	}
	putchar('"');
	for (i = 0; i < shown; i++) {
		if (s[i] == '"' || s[i] == '\\')
			printf("\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else
			printf("\\x%02X", s[i]);
	}
	putchar('"');
	if (shown < len)
		printf("... (%zu bytes)", len);
	else
		printf(" (%zu bytes)", len);
	putchar('\n');
}

TAP_UNUSED TAP_PRINTF(5, 6) static int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int pass;

	if (got == NULL || want == NULL)
		pass = got == want;
	else
		pass = strcmp(got, want) == 0;
	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_print_mem("got", got, got ? strlen(got) : 0);
		tap_print_mem("expected", want, want ? strlen(want) : 0);
	}
	return pass;
}

TAP_UNUSED TAP_PRINTF(7, 8) static int
tap_is_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int pass;

	if (got == NULL && gotlen != 0)
		pass = 0;
	else
		pass = gotlen == wantlen &&
		    (wantlen == 0 || memcmp(got, want, wantlen) == 0);
	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_print_mem("got", got, gotlen);
		tap_print_mem("expected", want, wantlen);
	}
	return pass;
}

TAP_UNUSED static int
done_testing(void)
{
	printf("1..%d\n", tap_run);
	if (tap_failed)
		printf("# Looks like you failed %d test%s of %d.\n",
		    tap_failed, tap_failed == 1 ? "" : "s", tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#define ok(cond, ...) \
	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, \
	    __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(got, gotlen, want, wantlen, ...) \
	tap_is_mem((got), (gotlen), (want), (wantlen), __FILE__, __LINE__, \
	    __VA_ARGS__)
#define pass(...)	tap_ok(1, __FILE__, __LINE__, __VA_ARGS__)
#define fail(...)	tap_ok(0, __FILE__, __LINE__, __VA_ARGS__)

#endif /* CHATD_TAP_H */
