#!/usr/bin/env python3
"""Limits: max_clients (server full), max_per_ip, input rate."""

import time
import unittest

import chatdtest as ct


def connect_retry(srv, timeout=3.0, **kw):
    """A slot freed by a leave may be released a moment after the notice;
    retry a refused connection for a bounded time."""
    deadline = time.monotonic() + timeout
    while True:
        c = ct.Client(srv.port, **kw)
        first = c.line()
        if first.startswith("* welcome "):
            c.welcome = first
            m = c.expect_match(r"\* online \((\d+)\): (.*)")
            c.online = m.group(2).split(", ")
            return c
        c.close()
        if time.monotonic() > deadline:
            raise AssertionError("still refused after %.1fs: %r"
                                 % (timeout, first))
        time.sleep(0.05)


class ServerFullTest(unittest.TestCase):

    def test_server_full(self):
        with ct.Server({"server": {"max_clients": 2}}) as srv:
            a, b = srv.room(2)
            for _ in range(3):
                c = ct.Client(srv.port)
                c.expect("! server full")
                self.assertEqual(c.expect_closed(), [])
                c.close()
            # nobody saw the refused ones
            a.sendline("still two")
            a.expect("[%s]: still two" % a.name)
            b.expect("[%s]: still two" % a.name)
            a.sendline("who")
            a.expect("* online (2):")
            a.expect("*   %s %s" % (a.name, a.name))
            a.expect("*   %s %s" % (b.name, b.name))
            # a slot frees when someone leaves
            b.sendline("exit")
            b.expect("* bye")
            b.expect_closed()
            a.expect("* %s left" % b.name)
            d = connect_retry(srv)
            self.assertEqual(d.online, [a.name, d.name])
            a.expect("* %s joined" % d.name)
            c = ct.Client(srv.port)
            c.expect("! server full")
            c.expect_closed()
            self.assertTrue(srv.alive())
            self.assertEqual(srv.stop(), 0)

    def test_one_client(self):
        with ct.Server({"server": {"max_clients": 1}}) as srv:
            a = srv.client()
            c = ct.Client(srv.port)
            c.expect("! server full")
            c.expect_closed()
            a.close()
            d = connect_retry(srv)
            self.assertEqual(d.online, [d.name])


class MaxPerIpTest(unittest.TestCase):

    def test_max_per_ip(self):
        with ct.Server({"limits": {"max_per_ip": 2}}) as srv:
            a, b = srv.room(2)
            c = ct.Client(srv.port)
            c.expect("! too many connections from your address")
            self.assertEqual(c.expect_closed(), [])
            # another loopback address is another address
            d = ct.Client(srv.port, source="127.0.0.2")
            self.assertTrue(d.name.startswith("127.0.0.2:"), d.name)
            d.join()
            a.expect("* %s joined" % d.name)
            b.expect("* %s joined" % d.name)
            e = srv.client(source="127.0.0.2")
            for x in (a, b, d):
                x.expect("* %s joined" % e.name)
            f = ct.Client(srv.port, source="127.0.0.2")
            f.expect("! too many connections from your address")
            f.expect_closed()
            # the refused never joined
            a.sendline("check")
            for x in (a, b, d, e):
                x.expect("[%s]: check" % a.name)
            # leaving frees a place for that address
            a.sendline("exit")
            a.expect("* bye")
            a.expect_closed()
            for x in (b, d, e):
                x.expect("* %s left" % a.name)
            g = connect_retry(srv)
            self.assertEqual(g.online, [b.name, d.name, e.name, g.name])
            # and a closed (not exited) connection too
            b.close()
            g.expect("* %s left" % b.name)
            h = connect_retry(srv)
            self.assertEqual(h.online, [d.name, e.name, g.name, h.name])
            self.assertEqual(srv.stop(), 0)

    def test_unlimited_by_default(self):
        with ct.Server() as srv:
            cs = srv.room(12)
            cs[0].sendline("many")
            for c in cs:
                c.expect("[%s]: many" % cs[0].name)


class RateTest(unittest.TestCase):

    def test_excess_is_delayed_not_dropped(self):
        cfg = {"limits": {"lines_per_second": 5, "burst": 5}}
        with ct.Server(cfg) as srv:
            a, b = srv.room(2)
            lines = ["rate %02d" % i for i in range(20)]
            t0 = time.monotonic()
            a.send("".join(l + "\n" for l in lines).encode())
            times = []
            for l in lines:
                a.expect("[%s]: %s" % (a.name, l), timeout=10)
                times.append(time.monotonic() - t0)
            # another client is not slowed down meanwhile
            for l in lines:
                b.expect("[%s]: %s" % (a.name, l), timeout=10)
            total = times[-1]
            self.assertLess(times[0], 1.0, times)
            self.assertGreater(total, 2.0, times)
            self.assertLess(total, 6.0, times)
            # the burst goes through at once, the rest is spread
            self.assertLess(times[4], 1.0, times)
            self.assertGreater(times[12] - times[5], 0.8, times)

    def test_other_clients_not_delayed(self):
        cfg = {"limits": {"lines_per_second": 5, "burst": 5}}
        with ct.Server(cfg) as srv:
            a, b = srv.room(2)
            a.send("".join("flood %02d\n" % i for i in range(20)).encode())
            a.expect("[%s]: flood 00" % a.name)
            t0 = time.monotonic()
            b.sendline("quick")
            got = b.read_until("[%s]: quick" % b.name, timeout=3)
            self.assertLess(time.monotonic() - t0, 1.0)
            flood = [l for l in got if l.startswith("[%s]: " % a.name)]
            self.assertLess(len(flood), 20, "b was delayed behind a: %r"
                            % got)
            # a's lines all still arrive, in order
            rest = a.read_until("[%s]: flood 19" % a.name, timeout=8)
            got_a = [l for l in ["[%s]: flood 00" % a.name] + rest
                     if l.startswith("[%s]: flood" % a.name)]
            self.assertEqual(got_a, ["[%s]: flood %02d" % (a.name, i)
                                     for i in range(20)])

    def test_default_rate(self):
        # Defaults: 20 lines/s, burst 40.  60 lines: about 1 s.
        with ct.Server({"limits": {"lines_per_second": None}}) as srv:
            a = srv.client()
            t0 = time.monotonic()
            a.send("".join("d%02d\n" % i for i in range(60)).encode())
            for i in range(60):
                a.expect("[%s]: d%02d" % (a.name, i), timeout=10)
                if i == 39:
                    t_burst = time.monotonic() - t0
            total = time.monotonic() - t0
            self.assertLess(t_burst, 1.0)
            self.assertGreater(total, 0.5)
            self.assertLess(total, 4.0)

    def test_unlimited(self):
        with ct.Server({"limits": {"lines_per_second": 0, "burst": 1}}) as srv:
            a = srv.client()
            t0 = time.monotonic()
            a.send("".join("u%03d\n" % i for i in range(300)).encode())
            for i in range(300):
                a.expect("[%s]: u%03d" % (a.name, i))
            self.assertLess(time.monotonic() - t0, 2.0)


if __name__ == "__main__":
    unittest.main()
