#!/usr/bin/env python3
"""Redis failing under the room: down when the nodes start, stopped and
restarted under a live room, cutting off a node that falls behind.  Each
node goes on as a room of its own, tells its users once when the link
goes and once when it is back, refuses renames meanwhile, retries with
a back-off (never spinning), and afterwards every node's `who` is right
again."""

import re
import signal
import time
import unittest

import chatdtest as ct

DOWN = "* lost the link to the other servers; you see only the users of " \
    "this server"
UP = r"\* connected to the other servers: (\d+) online"
NO_RENAME = "! names cannot change while this server is cut off from the " \
    "others"


def who(c):
    """The names `who` lists for c."""
    first = c.ask("who")
    n = int(re.fullmatch(r"\* online \((\d+)\):", first).group(1))
    return sorted(c.line().split()[1] for _ in range(n))


class RedisFailures(unittest.TestCase):

    def test_restart_under_a_live_room(self):
        with ct.Cluster(2) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            c = cl.join(0, "carol")
            marks = [n.mark() for n in cl.nodes]
            cl.redis.stop()
            for u in (a, b, c):
                u.expect(DOWN, timeout=5)
            # A room of its own: alice reaches carol, not bob.
            a.sendline("only here")
            a.expect("[alice]: only here")
            c.expect("[alice]: only here")
            self.assertEqual(who(b), ["bob"])
            self.assertEqual(who(a), ["alice", "carol"])
            a.ask("rename|ada", NO_RENAME)
            # A newcomer meanwhile keeps its default name.
            d = cl.nodes[1].client()
            self.assertEqual(d.online, ["bob", d.name])
            b.expect("* %s joined" % d.name)
            b.no_line(0.3)
            cl.redis.restart()
            for i, n in enumerate(cl.nodes):
                n.wait_up(after=marks[i])
            for u in (a, b, c, d):
                u.expect_match(UP, timeout=5)
            # Every node knows every user again (the later node's
            # resync reaches the earlier one too).
            cl.nodes[0].wait_log(r"cluster: %s of node n2 is here"
                                 % re.escape(d.name), after=marks[0])
            cl.nodes[1].wait_log(r"cluster: carol of node n1 is here",
                                 after=marks[1])
            everyone = sorted(["alice", "bob", "carol", d.name])
            for u in (a, b, c, d):
                self.assertEqual(who(u), everyone, "who for %s" % u.name)
            # Names are claimed again: taken across nodes, free to change.
            d.ask("rename|Alice", "! name is taken")
            a.ask("rename|ada", "* you are now ada")
            for u in (b, c, d):
                u.expect("* alice is now ada")
            a.name = "ada"
            cl.users.append(d)
            # Told once each way: nothing more on anyone.
            for u, extra in zip(cl.users, cl.sync()):
                self.assertEqual(extra, [], "%s: more lines" % u.name)

    def test_redis_down_at_startup(self):
        redis = ct.RedisServer()
        redis.port = ct.free_port()
        nodes = [ct.ClusterNode(redis, "n%d" % i, wait_up=False,
                                config={"log": {"level": "debug"}})
                 for i in (1, 2)]
        try:
            for n in nodes:
                n.start()
                n.wait_log(r"warn: cluster: Redis at 127\.0\.0\.1:%d: cannot "
                           r"connect: .*serving this server's users only"
                           % redis.port)
            a = nodes[0].client()
            a.ask("rename|alice", NO_RENAME)
            b = nodes[1].client()
            a.sendline("alone")
            a.expect("[%s]: alone" % a.name)
            t0 = time.monotonic()
            time.sleep(3)		# a measure, not a synchronisation
            # Never spinning: the back-off caps the attempts (0.1 s
            # doubling to 1 s for node_timeout 2).
            for n in nodes:
                tries = len(re.findall(r"cluster: Redis at \S+: cannot "
                                       r"connect", n.log_text()))
                self.assertLess(tries, 15, "%s tried %d times in %.0f s"
                                % (n.node, tries, time.monotonic() - t0))
            marks = [n.mark() for n in nodes]
            redis.restart()
            for i, n in enumerate(nodes):
                n.wait_up(after=marks[i])
            a.expect_match(UP, timeout=5)
            b.expect_match(UP, timeout=5)
            nodes[0].wait_log(r"cluster: %s of node n2 is here"
                              % re.escape(b.name), after=marks[0])
            nodes[1].wait_log(r"cluster: %s of node n1 is here"
                              % re.escape(a.name), after=marks[1])
            self.assertEqual(who(a), sorted([a.name, b.name]))
            self.assertEqual(who(b), sorted([a.name, b.name]))
            a.ask("rename|alice", "* you are now alice")
            b.expect("* %s is now alice" % a.name)
        finally:
            for n in nodes:
                n.stop()
                n.kill()
            redis.stop()

    def test_redis_stalls(self):
        """Redis stops answering (SIGSTOP: a stall, a swapped-out host).
        A stall shorter than node_timeout goes unnoticed and loses
        nothing; a longer one is detected by the command deadline, each
        node goes on alone and tries again without spinning, and once
        Redis answers again the room is whole, with nobody reaped (every
        heartbeat score is stale after a stall, and none is trusted)."""
        with ct.Cluster(2, cluster={"node_timeout": 3}) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            # Short: well under node_timeout (a measure, not a wait).
            cl.redis.signal(signal.SIGSTOP)
            try:
                a.sendline("said during a short stall")
                a.expect("[alice]: said during a short stall")
                time.sleep(1)
            finally:
                cl.redis.signal(signal.SIGCONT)
            b.expect("[alice]: said during a short stall")
            for u, extra in zip((a, b), cl.sync()):
                self.assertEqual(extra, [], "%s: more lines" % u.name)
            # Long: past node_timeout, so each node notices on its own.
            marks = [n.mark() for n in cl.nodes]
            cl.redis.signal(signal.SIGSTOP)
            t0 = time.monotonic()
            try:
                for u in (a, b):
                    u.expect(DOWN, timeout=3 + 1 + 3)
                for i, n in enumerate(cl.nodes):
                    # the command's deadline, or its own heartbeat not
                    # echoed, whichever comes first
                    n.wait_log(r"warn: cluster: Redis at \S+: (no answer "
                               r"within 3 s|this server's heartbeat did "
                               r"not come back)", after=marks[i])
                # Alone meanwhile; renames refused.
                a.sendline("alone")
                a.expect("[alice]: alone")
                b.ask("rename|bobby", NO_RENAME)
                stalled = time.monotonic() - t0
            finally:
                cl.redis.signal(signal.SIGCONT)
            for i, n in enumerate(cl.nodes):
                n.wait_up(after=marks[i])
            for u in (a, b):
                u.expect_match(UP, timeout=5)
            cl.nodes[0].wait_log(r"cluster: bob of node n2 is here",
                                 after=marks[0])
            cl.nodes[1].wait_log(r"cluster: alice of node n1 is here",
                                 after=marks[1])
            self.assertEqual(who(a), ["alice", "bob"])
            self.assertEqual(who(b), ["alice", "bob"])
            # The connection attempts while Redis was stopped were paced
            # by the back-off and the deadline: a few, not a spin.
            for i, n in enumerate(cl.nodes):
                tries = n.log_text()[marks[i]:].count("cluster: Redis at ")
                self.assertLess(tries, 10, "%s: %d failures in %.1f s"
                                % (n.node, tries, stalled))
            # The room works both ways, and nobody was reaped: past two
            # more heartbeat rounds, no "(server lost)" anywhere.
            a.sendline("whole again")
            for u in (a, b):
                u.expect("[alice]: whole again")
            b.sendline("yes")
            for u in (b, a):
                u.expect("[bob]: yes")
            for u, extra in zip((a, b), cl.sync()):
                self.assertEqual(extra, [], "%s: more lines" % u.name)
            a.no_line(2.5)
            for n in cl.nodes:
                self.assertNotIn(" lost (no heartbeat within",
                                 n.log_text())
                self.assertTrue(n.alive())

    def test_a_node_that_falls_behind(self):
        """Redis cuts off a subscriber whose output passes its limit; the
        node sees it, tells its users, and resynchronises."""
        limit = ["client-output-buffer-limit pubsub 256kb 0 0"]
        with ct.Cluster(2, cluster={"node_timeout": 10},
                        redis_config=limit,
                        config={"buffers": {"max_line": 4096,
                                            "output_limit": 1 << 30}}) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            mark = cl.nodes[1].mark()
            cl.nodes[1].signal(signal.SIGSTOP)
            try:
                # More than the kernel's socket buffers hold for the
                # stopped node, so that Redis's own output grows.
                for k in range(40):
                    a.send("".join("%05d %s\n" % (k * 500 + i, "x" * 1000)
                                   for i in range(500)))
                    for i in range(500):
                        a.expect_match(r"\[alice\]: %05d x+"
                                       % (k * 500 + i), timeout=10)
                    if "output buffer limits" in cl.redis.log_text():
                        break
                self.assertIn("output buffer limits", cl.redis.log_text())
            finally:
                cl.nodes[1].signal(signal.SIGCONT)
            # bob may get some of the flood, then the notices, once each
            lines = b.read_until(lambda l: re.fullmatch(UP, l), timeout=10)
            self.assertEqual(lines.count(DOWN), 1, lines[-5:])
            self.assertLess(lines.index(DOWN), len(lines) - 1)
            cl.nodes[1].wait_up(after=mark)
            self.assertRegex(cl.nodes[1].log_text()[mark:],
                             r"cluster: Redis at \S+: the subscriber "
                             r"connection closed")
            # and the room works again, both ways
            b.sendline("back")
            a.expect("[bob]: back")
            b.expect("[bob]: back")
            a.sendline("welcome back")
            b.expect("[alice]: welcome back")
            a.expect("[alice]: welcome back")
            self.assertEqual(who(a), ["alice", "bob"])
            self.assertEqual(who(b), ["alice", "bob"])


if __name__ == "__main__":
    ct.main()
