#!/usr/bin/env python3
"""Presence under churn: users join, rename (racing for a few names) and
leave on three nodes at once, without waiting for each other; once it is
over, every node lists exactly the same users under the same names, the
ones the users themselves were told, and Redis holds exactly their
names."""

import random
import re
import unittest

import chatdtest as ct

ROUNDS = 25
POOL = ["ann", "ben", "cat", "dan", "eve", "fay"]


class Churn(unittest.TestCase):

    def test_churn_converges(self):
        rnd = random.Random(16)
        with ct.Cluster(3) as cl:
            live = []		# [client, node index, name, renames pending]
            gone = []		# (node index, name) of users who left
            for _ in range(ROUNDS):
                for i in range(3):
                    # Not join(): two nodes may see one peer address (the
                    # kernel reuses a source port towards another port),
                    # and the newcomer's default name then gets a "#N".
                    c = cl.nodes[i].client(join=False)
                    c.name = c.expect_match(r"\* welcome (\S+)").group(1)
                    c.expect_match(r"\* online \(\d+\): .*")
                    live.append([c, i, c.name, []])
                for u in rnd.sample(live, 2):
                    want = rnd.choice(POOL)
                    u[0].sendline("rename|" + want)
                    u[3].append(want)
                quiet = [u for u in live if not u[3]]
                if quiet:
                    u = rnd.choice(quiet)
                    live.remove(u)
                    gone.append((u[1], u[2]))
                    u[0].close()
            # every rename's answer, in order, as its user got it
            for u in live:
                for want in u[3]:
                    got = u[0].read_until(lambda l: l in (
                        "* you are now " + want, "! name is taken"))
                    if got[-1] != "! name is taken":
                        u[2] = want
                u[0].name = u[2]
            # every leave done on its node
            for i, name in gone:
                cl.nodes[i].wait_log(r"client \d+ \(%s\) left"
                                     % re.escape(name))
            ct.sync_all([u[0] for u in live])
            want = sorted(u[2] for u in live)
            self.assertEqual(len(set(want)), len(want), "a name twice")
            for i in range(3):
                c = next(u[0] for u in live if u[1] == i)
                first = c.ask("who")
                self.assertEqual(first, "* online (%d):" % len(want),
                                 "node %d" % (i + 1))
                got = sorted(c.line().split()[1] for _ in want)
                self.assertEqual(got, want, "who on node %d" % (i + 1))
            names = cl.redis.command("HKEYS", "chatd:{chatd}:names")
            self.assertEqual(len(names), len(want), names)
            users = sum(cl.redis.command("HLEN", "chatd:{chatd}:users:n%d"
                                         % k) for k in (1, 2, 3))
            self.assertEqual(users, len(want))


if __name__ == "__main__":
    ct.main()
