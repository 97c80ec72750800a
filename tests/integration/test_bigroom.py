#!/usr/bin/env python3
"""Big rooms ([room] in chatd.ini(5)): the newcomer's online line bounded
by online_names, who paged by who_page and filtered by prefix, joins and
leaves gathered above gather_above (and told one by one below it), the
seat of a user who left free at once for max_clients and max_per_ip,
and lingering connections that cannot run chatd out of descriptors.

The sizes are scaled down by the keys, so a room of five is "big"."""

import os
import re
import resource
import time
import unittest

import chatdtest as ct

NOFILE = resource.RLIMIT_NOFILE


def room_cfg(**keys):
    return {"server": {"idle_timeout": 0}, "room": keys}


def join_quietly(srv, n, **kw):
    """n clients, each welcomed; the notices about them are not read."""
    return [srv.client(**kw) for _ in range(n)]


class OnlineLineTest(unittest.TestCase):

    def test_bounded_with_a_count(self):
        with ct.Server(room_cfg(online_names=3, gather_above=0)) as srv:
            cs = join_quietly(srv, 5)
            last = cs[-1]
            self.assertEqual(last.online_count, 5)
            self.assertEqual(last.online, [c.name for c in cs[:3]])
            self.assertEqual(last.history[1], "* online (5): %s and 2 more; "
                             "type who to list them"
                             % ", ".join(c.name for c in cs[:3]))

    def test_a_small_room_lists_everyone(self):
        with ct.Server(room_cfg(online_names=3)) as srv:
            cs = srv.room(3)
            self.assertEqual(cs[-1].online, [c.name for c in cs])
            self.assertEqual(cs[-1].history[1], "* online (3): " +
                             ", ".join(c.name for c in cs))

    def test_no_names_only_the_count(self):
        with ct.Server(room_cfg(online_names=0)) as srv:
            a = srv.client()
            self.assertEqual(a.history[1],
                             "* online (1): 1 more; type who to list them")


class WhoTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.Server(room_cfg(who_page=2, gather_above=0))
        self.srv.__enter__()
        self.cs = join_quietly(self.srv, 5)
        for c, name in zip(self.cs, ("ada", "Adele", "bob", "cy", "Ädam")):
            c.sendline("rename|" + name)
            c.read_until("* you are now " + name)
            c.name = name
        for c in self.cs:   # every rename told to everyone: all in
            c.sendline("sync")
            for o in self.cs:
                o.read_until("[%s]: sync" % c.name)
        self.me = self.cs[0]
        self.me.drain()

    def tearDown(self):
        self.srv.__exit__(None, None, None)

    def rows(self, n):
        return [self.me.line() for _ in range(n)]

    def test_pages_by_name(self):
        addr = {c.name: ct.sockname(c.sock) for c in self.cs}
        self.me.sendline("who")
        self.me.expect("* online (5): page 1 of 3 by name; who||2 for the "
                       "next")
        # names by their keys in byte order (chatd(8): the folded
        # skeleton, where Ä is an a and a combining diaeresis, after
        # every "ad"): ada, adele, ädam, bob, cy
        self.assertEqual(self.rows(2), ["*   ada " + addr["ada"],
                                        "*   Adele " + addr["Adele"]])
        self.me.sendline("who||2")
        self.me.expect("* online (5): page 2 of 3 by name; who||3 for the "
                       "next")
        self.assertEqual(self.rows(2), ["*   Ädam " + addr["Ädam"],
                                        "*   bob " + addr["bob"]])
        self.me.sendline("who||3")
        self.me.expect("* online (5): page 3 of 3 by name; who||1 for the "
                       "first")
        self.assertEqual(self.rows(1), ["*   cy " + addr["cy"]])
        self.me.no_line(0.3)

    def test_prefix_folded_and_paged(self):
        self.me.sendline("who|AD")
        self.me.expect('* online (5): 2 start with "AD"; page 1 of 1 by name')
        self.assertEqual([r.split()[1] for r in self.rows(2)],
                         ["ada", "Adele"])
        self.me.sendline("who|ä")
        self.me.expect('* online (5): 1 start with "ä"; page 1 of 1 by name')
        self.assertEqual(self.rows(1)[0].split()[1], "Ädam")
        self.me.sendline("who|zz")
        self.me.expect('* online (5): 0 start with "zz"; page 1 of 1 by '
                       'name')
        self.me.no_line(0.3)

    def test_bad_pages(self):
        self.me.sendline("who||4")
        self.me.expect("! there are 3 pages")
        self.me.sendline("who|ad|2")
        self.me.expect("! there is 1 page")
        for bad in ("who||0", "who||x", "who||1.5", "who||-1"):
            self.me.sendline(bad)
            self.me.expect("! the page is a number from 1")
        # nobody else heard anything of it
        for c in self.cs[1:]:
            c.drain()
            c.no_line(0.2)

    def test_no_row_longer_than_a_line(self):
        self.me.sendline("who")
        lines = [self.me.line() for _ in range(3)]
        self.assertTrue(all(len(l) < 200 for l in lines), lines)


class GatherTest(unittest.TestCase):

    def test_exact_notices_at_and_below_the_threshold(self):
        with ct.Server(room_cfg(gather_above=3)) as srv:
            a, b, c = srv.room(3)   # each join told one by one
            c.sendline("quit")
            a.expect("* %s left" % c.name)
            b.expect("* %s left" % c.name)
            a.no_line(1.5)

    def test_joins_and_leaves_gathered_above(self):
        with ct.Server(room_cfg(gather_above=3, online_names=2,
                                gather_interval=1)) as srv:
            a, b, c = srv.room(3)
            t0 = time.monotonic()
            new = join_quietly(srv, 3)      # the room is 4, 5, 6: big
            line = a.expect_match(r"\* 3 joined: .*", timeout=5)
            self.assertGreater(time.monotonic() - t0, 0.5)
            self.assertEqual(line.group(0), "* 3 joined: %s, %s and 1 more"
                             % (new[0].name, new[1].name))
            b.expect(line.group(0))
            # the newcomers hear it too, and nothing one by one
            new[2].expect(line.group(0))
            # a rename is still told at once, alone
            new[0].sendline("rename|zed")
            a.expect("* %s is now zed" % new[0].name)
            new[1].sendline("quit")
            new[2].close()
            left = a.expect_match(r"\* 2 left: (.*)", timeout=5)
            self.assertEqual(sorted(left.group(1).split(", ")),
                             sorted([new[1].name, new[2].name]))
            a.no_line(1.5)

    def test_each_kind_its_own_line(self):
        with ct.Server(room_cfg(gather_above=0)) as srv:
            a = srv.client()
            a.expect("* 1 joined: %s" % a.name, timeout=5)
            b = srv.client()
            a.expect("* 1 joined: %s" % b.name, timeout=5)
            c = srv.client()
            a.expect("* 1 joined: %s" % c.name, timeout=5)
            b.sendline("quit")
            a.expect("* 1 left: %s" % b.name, timeout=5)


class SeatTest(unittest.TestCase):
    """A user who left holds no seat, though its connection lingers (the
    test clients never close theirs, so each lingers its full 5 s)."""

    def quit_and_linger(self, c):
        c.sendline("quit")
        c.expect("* bye")

    def test_max_clients_freed_at_quit(self):
        with ct.Server({"server": {"max_clients": 2}}) as srv:
            a, b = srv.room(2)
            self.quit_and_linger(b)
            a.expect("* %s left" % b.name)
            c = srv.client()        # at once, not after the linger
            self.assertEqual(c.online, [a.name, c.name])
            d = ct.Client(srv.port)
            d.expect("! server full")

    def test_max_per_ip_freed_at_quit(self):
        with ct.Server({"limits": {"max_per_ip": 2}}) as srv:
            a, b = srv.room(2)
            self.quit_and_linger(a)
            b.expect("* %s left" % a.name)
            c = srv.client()
            self.assertEqual(c.online, [b.name, c.name])
            d = ct.Client(srv.port)
            d.expect("! too many connections from your address")

    def test_freed_at_a_drop(self):
        cfg = {"server": {"max_clients": 2}, "limits": {"max_per_ip": 2}}
        with ct.Server(cfg) as srv:
            a, b = srv.room(2)
            b.abort()       # a reset: the server sees the connection fail
            a.expect("* %s left" % b.name)
            c = srv.client()
            self.assertEqual(c.online, [a.name, c.name])

    def test_freed_at_an_idle_timeout(self):
        """Dropped by chatd (idle): the goodbye lingers, the seat does
        not, for either limit."""
        cfg = {"server": {"max_clients": 2, "idle_timeout": 3},
               "limits": {"max_per_ip": 2}}
        with ct.Server(cfg) as srv:
            a, b = srv.room(2)
            deadline = time.monotonic() + 10
            while True:
                a.sendline("awake")     # a talks, so only b is idle
                try:
                    b.read_until("* idle timeout, bye", timeout=0.5)
                    break
                except AssertionError:
                    self.assertLess(time.monotonic(), deadline)
            a.read_until("* %s timed out" % b.name)
            c = srv.client()        # b's socket is still open
            self.assertEqual(c.online, [a.name, c.name])
            ct.Client(srv.port).expect("! server full")


class LingerFloodTest(unittest.TestCase):

    def test_lingering_connections_cannot_exhaust_descriptors(self):
        # 64 descriptors fit about 40 clients; 120 users quit one after the
        # other and leave their connections open, so without a bound each
        # would hold a descriptor for 5 s.
        cfg = {"server": {"max_clients": 1000, "idle_timeout": 0},
               "log": {"level": "debug"}}
        with ct.Server(cfg, rlimits={NOFILE: (64, 64)}) as srv:
            m = srv.wait_log(r"serving at most (\d+) clients")
            cap = int(m.group(1))
            stay = srv.client()
            fds = []
            for i in range(120):
                c = srv.client()        # never refused, never paused
                c.sendline("quit")
                c.expect("* bye")
                fds.append(len(os.listdir("/proc/%d/fd" % srv.pid)))
            self.assertLessEqual(max(fds), 64)
            log = srv.log_text()
            self.assertNotIn("Too many open files", log)
            self.assertNotIn("server full", log)
            self.assertIn("closed before its linger time is over, for a "
                          "newcomer's descriptor", log)
            self.assertTrue(srv.alive())
            # the room goes on
            stay.sendline("still here")
            stay.read_until("[%s]: still here" % stay.name)
            self.assertGreater(cap, 10)


if __name__ == "__main__":
    ct.main()
