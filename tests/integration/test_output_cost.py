#!/usr/bin/env python3
"""A line's answer is charged to its sender ([limits] output_per_line):
"who" in a big room is one cheap line for the client and kilobytes for
the server, so each output_per_line bytes of answer past the first costs
one more token of the line rate.  Whatever the commands, one client can
make chatd send it about lines_per_second * output_per_line bytes a
second; nothing is dropped, later lines wait."""

import time
import unittest

import chatdtest as ct

ROOM = 100
RATE = 4


class OutputCostTest(unittest.TestCase):

    def test_who_costs_its_size(self):
        # who_page: every row in one answer, the expensive request.
        cfg = {"limits": {"lines_per_second": RATE, "burst": RATE,
                          "output_per_line": 1024},
               "room": {"who_page": 1000}}
        with ct.Server(cfg) as srv:
            clients = srv.room(ROOM)
            asker = clients[-1]
            t0 = time.monotonic()
            asker.send("who\n" * 4)
            got = 0
            for _ in range(4):
                lines = asker.read_until(
                    lambda l: l.startswith("* online (%d):" % ROOM),
                    timeout=15)
                got += 1
                for _ in range(ROOM):
                    asker.line(timeout=5)
            elapsed = time.monotonic() - t0
            # Each answer is about 3.8 KB: 2.7 tokens past the first KB.
            # Four of them need about 15 tokens; the burst has 4, the rest
            # come at 4 a second.
            self.assertEqual(got, 4)
            self.assertGreater(elapsed, 1.5, "4 whos of %d answered in "
                               "%.2f s: not charged" % (ROOM, elapsed))
            # A chat line is cheap as ever.
            asker.sendline("hello")
            clients[0].read_until("[%s]: hello" % asker.name, timeout=10)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
