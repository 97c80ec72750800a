/*
 * Unit tests for log.c: levels and the escaping that keeps network text
 * from putting control characters or fake lines into the log.
 */

#include "config.h"

#include <string.h>

#include "chatd.h"
#include "tap.h"

/* Escape a C string into a static buffer of size sz. */
static const char *
esc(const char *in, size_t sz)
{
	static char	out[256];

	log_escape(out, sz, in, strlen(in));
	return (out);
}

int
main(void)
{
	is_str(esc("plain text", 256), "plain text", "printable ASCII kept");
	is_str(esc("a\nb\r\tc", 256), "a\\nb\\r\\tc", "LF, CR, TAB named");
	is_str(esc("back\\slash", 256), "back\\\\slash", "backslash doubled");
	is_str(esc("\x01\x1b[2J\x7f", 256), "\\x01\\x1b[2J\\x7f",
	    "C0 and DEL as \\xNN");
	is_str(esc("x\xc2\x85y\xc2\x9f", 256), "x\\xc2\\x85y\\xc2\\x9f",
	    "C1 controls (UTF-8 C2 80..9F) as their two bytes");
	is_str(esc("caf\xc3\xa9 \xe6\x9d\x9c \xc2\xa0", 256),
	    "caf\xc3\xa9 \xe6\x9d\x9c \xc2\xa0", "other UTF-8 kept");
	is_str(esc("\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf", 256),
	    "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf",
	    "4-byte UTF-8, U+10FFFF and U+D7FF kept");
	is_str(esc("a\xff" "b\x80", 256), "a\\xffb\\x80",
	    "stray bytes as \\xNN");
	is_str(esc("\xe2\x82x", 256), "\\xe2\\x82x",
	    "truncated sequence: each byte as \\xNN");
	is_str(esc("\xc0\xaf\xe0\x80\xaf", 256),
	    "\\xc0\\xaf\\xe0\\x80\\xaf", "overlong forms as \\xNN");
	is_str(esc("\xed\xa0\x80", 256), "\\xed\\xa0\\x80",
	    "surrogates as \\xNN");
	is_str(esc("\xf4\x90\x80\x80\xf5", 256),
	    "\\xf4\\x90\\x80\\x80\\xf5", "past U+10FFFF as \\xNN");
	is_str(esc("\xe6\x9d", 256), "\\xe6\\x9d",
	    "sequence cut by the end of the text as \\xNN");
	is_str(esc("\xc2", 256), "\\xc2", "lone lead byte at the end");
	is_str(esc("abc\n", 5), "abc", "truncation never splits an escape");
	is_str(esc("ab\xe6\x9d\x9c", 5), "ab",
	    "truncation never splits a character");
	is_str(esc("abcdef", 4), "abc", "always NUL-terminated");

	is_int(log_level_parse("debug"), LL_DEBUG, "level names parse");
	is_int(log_level_parse("loud"), -1, "unknown level refused");
	is_str(log_level_name(LL_WARN), "warn", "level names print");
	return (done_testing());
}
