/*
 * test_ipkey.c - the key connections are counted by (client_ipkey): an
 * IPv4 address whole, a v4-mapped one as its IPv4 address, an IPv6 one by
 * its first ipv6_prefix bits; and map_sweep(), which forgets the connect
 * buckets of quiet addresses.
 */

#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatd.h"
#include "tap.h"

/* The key of an IPv6 address at prefix bits. */
static size_t
key6(const char *addr, int prefix, unsigned char *key)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) != 1)
		abort();
	return (client_ipkey((struct sockaddr *)&sin6, key, prefix));
}

/* Whether two IPv6 addresses count as one at prefix bits. */
static int
same6(const char *a, const char *b, int prefix)
{
	unsigned char	ka[17], kb[17];
	size_t		la = key6(a, prefix, ka), lb = key6(b, prefix, kb);

	return (la == lb && memcmp(ka, kb, la) == 0);
}

static int
drop_odd(void *v, void *arg)
{
	(*(int *)arg)++;
	return ((uintptr_t)v % 2 == 1);
}

int
main(void)
{
	struct sockaddr_in	sin;
	unsigned char		k[17], k2[17];
	struct map		m;
	uintptr_t		i;
	int			calls = 0;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	is_int((long long)client_ipkey((struct sockaddr *)&sin, k, 64), 5,
	    "IPv4: family and four bytes");
	is_int((long long)key6("::ffff:192.0.2.7", 64, k2), 5,
	    "v4-mapped: as IPv4");
	ok(memcmp(k, k2, 5) == 0, "v4-mapped: the same key as IPv4");

	ok(same6("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 64),
	    "/64: one network");
	ok(!same6("2001:db8:1:2::1", "2001:db8:1:3::1", 64),
	    "/64: the next network is another");
	ok(!same6("2001:db8:1:2::1", "2001:db8:1:2::2", 128),
	    "/128: every address its own");
	ok(same6("2001:db8:1:2::1", "2001:db8:1:ff::1", 48),
	    "/48: one site");
	ok(same6("2001:db8:1:2::1", "2001:db9::", 31) &&
	    !same6("2001:db8:1:2::1", "2001:db9::", 32),
	    "/31 and /32: a prefix inside a byte");
	ok(same6("::1", "ffff::", 0 + 1) == 0 && same6("::1", "7fff::", 1),
	    "/1: the first bit");

	map_init(&m);
	for (i = 1; i <= 1000; i++)
		map_put(&m, &i, sizeof i, (void *)i);
	map_sweep(&m, drop_odd, &calls);
	is_int(calls, 1000, "sweep: every entry seen once");
	is_int((long long)m.count, 500, "sweep: the odd ones dropped");
	i = 2;
	ok(map_get(&m, &i, sizeof i) == (void *)2, "sweep: even ones kept");
	i = 3;
	ok(map_get(&m, &i, sizeof i) == NULL, "sweep: odd ones gone");
	map_free(&m);
	return (done_testing());
}
