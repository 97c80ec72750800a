#!/usr/bin/env python3
"""Per-address limits at their defaults: one address cannot take every
seat (max_per_ip = 16), nor connect and reconnect without end
(connects_per_second = 2 after a burst of 16); IPv6 counts by /64 (unit
test test_ipkey).  Refused connections get the reason and are counted."""

import time
import unittest

import chatdtest as ct

# The harness turns these off for other tests: back to the defaults.
DEFAULT_LIMITS = {"limits": {"max_per_ip": None, "connects_per_second": None}}


class PerIpTest(unittest.TestCase):

    def test_default_max_per_ip(self):
        with ct.Server(DEFAULT_LIMITS) as srv:
            clients = [srv.client() for _ in range(16)]
            for c in clients[1:]:
                clients[0].expect("* %s joined" % c.name)
            extra = ct.Client(srv.port)
            extra.expect("! too many connections from your address")
            extra.expect_closed()
            srv.wait_log(r"refused 127\.0\.0\.1:\d+: too many connections")
            clients[0].sendline("exit")
            clients[0].expect("* bye")
            clients[0].expect_closed()
            clients[-1].expect("* %s left" % clients[0].name)
            time.sleep(0.6)         # the burst is spent: wait for a token
            again = srv.client()    # and the seat is free again
            again.sendline("hi")
            again.expect("[%s]: hi" % again.name)
            self.assertEqual(srv.stop(), 0)

    def test_connect_rate(self):
        cfg = {"limits": {"max_per_ip": 0, "connects_per_second": 2,
                          "connect_burst": 4}}
        with ct.Server(cfg) as srv:
            for _ in range(4):
                c = srv.client()
                c.close()
            late = ct.Client(srv.port)
            late.expect("! connecting too often from your address")
            late.expect_closed()
            time.sleep(0.6)       # one token back at 2 per second
            again = srv.client()
            again.sendline("hi")
            again.expect("[%s]: hi" % again.name)
            self.assertEqual(srv.stop(), 0)

    def test_churn_is_bounded(self):
        """Connect and close as fast as possible for a second: at the
        defaults one address gets its burst and the rate, no more."""
        with ct.Server(DEFAULT_LIMITS) as srv:
            admitted = refused = 0
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                c = ct.Client(srv.port)
                first = c.line()
                if first.startswith("* welcome"):
                    admitted += 1
                else:
                    self.assertEqual(
                        first, "! connecting too often from your address")
                    refused += 1
                c.abort()
            self.assertGreater(refused, 0)
            self.assertLessEqual(admitted, 16 + 2 * 2)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
