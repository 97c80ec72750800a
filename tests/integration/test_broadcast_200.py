#!/usr/bin/env python3
"""A 200-client room: every join is announced to everyone already there,
and one chat line reaches all 200.  [room] is set so that 200 is a small
room (every name in the online line, every join told, who unpaged): the
room below gather_above behaves as rooms always did; test_bigroom.py has
the big one."""

import sys
import time
import unittest

import chatdtest as ct

N = 200


class Broadcast200Test(unittest.TestCase):

    def test_200_clients(self):
        cfg = {"room": {"online_names": N, "gather_above": N,
                        "who_page": N}}
        with ct.Server(cfg) as srv:
            clients = []
            pending = {}  # client -> "joined" lines still to read
            t0 = time.monotonic()
            for i in range(N):
                c = srv.client()  # reads welcome + online
                self.assertEqual(len(c.online), i + 1)
                self.assertEqual(c.online[:-1], [x.name for x in clients])
                for o in clients:
                    pending[o].append("* %s joined" % c.name)
                clients.append(c)
                pending[c] = []
                # drain as we go, in order
                if i % 10 == 9:
                    for o in clients:
                        for want in pending[o]:
                            o.expect(want)
                        pending[o] = []
            for o in clients:
                for want in pending[o]:
                    o.expect(want)
            t_join = time.monotonic() - t0

            first = clients[0]
            first.sendline("hello, all %d" % N)
            want = "[%s]: hello, all %d" % (first.name, N)
            t1 = time.monotonic()
            for c in clients:
                c.expect(want)
            t_bcast = time.monotonic() - t1

            # and one from the last
            last = clients[-1]
            last.sendline("rename|last_one")
            last.expect("* you are now last_one")
            for c in clients[:-1]:
                c.expect("* %s is now last_one" % last.name)
            last.sendline("bye from the last")
            for c in clients:
                c.expect("[last_one]: bye from the last")

            last.sendline("who")
            last.expect("* online (%d):" % N)
            for c in clients[:-1]:
                last.expect("*   %s %s" % (c.name, c.name))
            last.expect("*   last_one %s" % last.name)

            sys.stderr.write("joins %.2fs, broadcast %.3fs\n"
                             % (t_join, t_bcast))
            # everyone leaves; the server stays up and shuts down cleanly
            for c in clients[1:]:
                c.close()
            first.read_until("* last_one left", timeout=10)
            self.assertTrue(srv.alive())
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
