#!/usr/bin/env python3
"""A node killed with SIGKILL: within node_timeout + heartbeat, everyone
on the surviving nodes sees each of its users leave, exactly once, with
the room script's "(server lost)", and their names are free again; an
orderly stop (SIGTERM) says goodbye instead, and nobody is reaped."""

import re
import time
import unittest

import chatdtest as ct

# heartbeat 1 s, node_timeout 2 s (ClusterNode's defaults): a node is
# reaped at most node_timeout + heartbeat after its last heartbeat, and
# another heartbeat's reply later its leaves are out.
BOUND = 2 + 1 + 1.5


class Lost(unittest.TestCase):

    def test_kill9(self):
        with ct.Cluster(3) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            c = cl.join(1, "carol")
            d = cl.join(2, "dave")
            cl.nodes[1].kill9()
            cl.forget(b)
            cl.forget(c)
            t0 = time.monotonic()
            for u in (a, d):
                got = sorted(u.line(timeout=BOUND + 2) for _ in range(2))
                self.assertEqual(got, ["* bob left (server lost)",
                                       "* carol left (server lost)"],
                                 "the notices %s got" % u.name)
            self.assertLess(time.monotonic() - t0, BOUND,
                            "leave notices later than the bound")
            # exactly once: nothing more, on either survivor
            for u, extra in zip((a, d), cl.sync([a, d])):
                self.assertEqual(extra, [], "%s: more notices" % u.name)
            for u in (a, d):
                u.ask("who", "* online (2):")
                self.assertEqual(sorted([u.line(), u.line()]), sorted(
                    ["*   alice " + ct.sockname(a.sock),
                     "*   dave " + ct.sockname(d.sock)]))
            # the names are free, on any node
            a.ask("rename|bob", "* you are now bob")
            d.expect("* alice is now bob")
            d.ask("rename|Carol", "* you are now Carol")
            a.expect("* dave is now Carol")
            # exactly one survivor reaped the lost node
            reapers = [n.node for n in (cl.nodes[0], cl.nodes[2])
                       if "cluster: node n2 lost" in n.log_text()]
            self.assertEqual(len(reapers), 1, "reapers: %r" % reapers)
            # and Redis holds nothing of it any more
            r = cl.redis.client()
            self.assertIsNone(r.command("ZSCORE", "chatd:{chatd}:nodes",
                                        "n2"))
            self.assertEqual(r.command("EXISTS", "chatd:{chatd}:users:n2"),
                             0)
            owners = r.command("HVALS", "chatd:{chatd}:names")
            self.assertFalse([o for o in owners if o.startswith(b"n2 ")],
                             "names still held by n2: %r" % owners)
            r.close()

    def test_kill9_with_the_defaults(self):
        """With the default heartbeat (1 s) and node_timeout (5 s) the
        survivors hear of the loss within 6 s, and a beat."""
        with ct.Cluster(2, cluster={"heartbeat": 1,
                                    "node_timeout": 5}) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            cl.nodes[1].kill9()
            cl.forget(b)
            t0 = time.monotonic()
            a.expect("* bob left (server lost)", timeout=12)
            took = time.monotonic() - t0
            print("  lost after %.1f s" % took)
            self.assertLess(took, 5 + 1 + 1.5)
            a.ask("rename|bob", "* you are now bob")

    def test_restart_with_the_same_node_id(self):
        """A node that comes back under its id after a crash waits for
        its old heartbeat to go stale, then reaps its predecessor (its
        users are announced lost once) and joins."""
        with ct.Cluster(2) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            cl.nodes[1].kill9()
            cl.forget(b)
            n2 = ct.ClusterNode(cl.redis, "n2", wait_up=False)
            n2.start()
            try:
                n2.wait_log(r"node id n2 is in use", timeout=5)
                a.expect("* bob left (server lost)", timeout=BOUND + 2)
                n2.wait_up(timeout=BOUND + 2)
                e = n2.client()
                a.expect("* %s joined" % e.name)
                e.ask("rename|bob", "* you are now bob")
                a.expect("* %s is now bob" % e.name)
                e.name = "bob"
                for u, extra in zip((a, e), ct.sync_all([a, e])):
                    self.assertEqual(extra, [], "%s: more" % u.name)
            finally:
                n2.stop(check=True)
                n2.kill()

    def test_sigterm_says_goodbye(self):
        with ct.Cluster(2) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            mark = cl.nodes[0].mark()
            cl.nodes[1].signal(15)
            b.expect("* server shutting down")
            b.expect_closed()
            cl.forget(b)
            a.expect("* bob left (server shutting down)")
            self.assertEqual(cl.nodes[1].wait_exit(10), 0)
            cl.nodes[0].wait_log(r"cluster: node n2 left the room",
                                 after=mark)
            # Nobody reaps a node that said goodbye.
            a.ask("who", "* online (1):")
            a.line()
            t = time.monotonic()
            a.no_line(3.5)
            self.assertNotIn("cluster: node n2 lost", cl.nodes[0].log_text())
            self.assertGreater(time.monotonic() - t, 3)


if __name__ == "__main__":
    ct.main()
