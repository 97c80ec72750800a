#!/usr/bin/env python3
"""The output memory budget: a client whose queue stays over
output_soft_limit for output_soft_seconds is dropped as too slow, though
under output_limit; when all queues together pass output_budget, the
largest go first.  Readers that keep up are never dropped."""

import unittest

import chatdtest as ct

PAD = "z" * 990


def flood(talker, readers, lines, start=0):
    for i in range(start, start + lines, 50):
        talker.send("".join("b%05d %s\n" % (j, PAD)
                            for j in range(i, i + 50)))
        last = "[%s]: b%05d %s" % (talker.name, i + 49, PAD)
        for r in readers:
            r.read_until(last, timeout=10)


class OutputBudgetTest(unittest.TestCase):

    def test_soft_limit_held(self):
        cfg = {"buffers": {"output_limit": 1 << 20,
                           "output_soft_limit": 16384,
                           "output_soft_seconds": 1}}
        with ct.Server(cfg) as srv:
            talker = srv.client()
            slow = srv.client(rcvbuf=4096)
            talker.expect("* %s joined" % slow.name)
            flood(talker, [talker], 200)     # 200 KB: under output_limit
            talker.expect("* %s dropped (too slow)" % slow.name, timeout=5)
            srv.wait_log(r"over output_soft_limit for output_soft_seconds")
            self.assertEqual(srv.stop(), 0)

    def test_budget_drops_the_largest(self):
        cfg = {"buffers": {"output_limit": 1 << 20,
                           "output_soft_limit": 16384,
                           "output_soft_seconds": 3600,
                           "output_budget": 300000}}
        with ct.Server(cfg) as srv:
            talker = srv.client()
            slow = [srv.client(rcvbuf=4096) for _ in range(3)]
            for s in slow:
                talker.expect("* %s joined" % s.name)
            flood(talker, [talker], 200)
            # The queues (about 160 KB each, 480 KB in all) pass the
            # budget: the largest go until the rest fits.
            got = talker.read_until(
                lambda l: l.endswith(" dropped (too slow)"), timeout=5)
            self.assertIn(got[-1], ["* %s dropped (too slow)" % s.name
                                    for s in slow])
            srv.wait_log(r"the largest queue over output_budget")
            # the talker, who reads, goes on
            talker.sendline("after")
            talker.read_until("[%s]: after" % talker.name)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
