#!/usr/bin/env python3
"""Upgrading one node of a cluster (SIGUSR2): the node keeps its node id,
its incarnation and its sequence numbers, so the other nodes see no
change at all: no leave and no join of its users, no lost node, the names
its users hold stay taken.  Users of both nodes talk throughout, and
every line owed arrives once and in order both ways, those the other
node sends while the node is being handed over included."""

import re
import threading
import time
import unittest

import chatdtest as ct

LINES = 60		# lines each talker sends, about 5 ms apart
NOTICE = re.compile(r"\* server upgraded to chatd \S+")


class ClusterUpgrade(unittest.TestCase):

    def talker(self, c, tag, stop_after=LINES):
        """A thread that has c say tag-0 .. tag-(n-1), 5 ms apart."""
        def run():
            for i in range(stop_after):
                c.sendline("%s-%d" % (tag, i))
                time.sleep(0.005)
        t = threading.Thread(target=run)
        t.start()
        return t

    def said(self, c, tag, n=LINES):
        return ["[%s]: %s-%d" % (c.name, tag, i) for i in range(n)]

    def upgrade_node(self, cl, node_index):
        """Upgrade node node_index while one user of every node talks;
        return the users, the talkers' lines each read, and the marks of
        the other nodes' logs from before the upgrade."""
        a, b = cl.nodes[node_index], cl.nodes[1 - node_index]
        a1, a2 = cl.join(node_index, "alice"), cl.join(node_index)
        b1, b2 = cl.join(1 - node_index, "bob"), cl.join(1 - node_index)
        users = [a1, a2, b1, b2]
        who_before = {u.name: self.who(u, 4) for u in users}
        mark_b = b.mark()
        old = a.pid
        # a1 and b1 talk before, during and after the hand-over
        talkers = [self.talker(a1, "a"), self.talker(b1, "b")]
        ok, line = a.upgrade()
        self.assertTrue(ok, line)
        for t in talkers:
            t.join()
        self.assertNotEqual(a.pid, old, "the pid did not change")
        got = {}
        for u in users:
            want = {self.said(a1, "a")[-1], self.said(b1, "b")[-1]}
            got[u] = u.read_until(lambda l: want.discard(l) is None and
                                  not want, timeout=30)
        return users, got, who_before, mark_b

    def who(self, c, n):
        c.sendline("who")
        return [c.line() for _ in range(n + 1)]

    def test_node_upgraded_in_room(self):
        with ct.Cluster(2) as cl:
            a, b = cl.nodes
            users, got, who_before, mark_b = self.upgrade_node(cl, 0)
            a1, a2, b1, b2 = users
            for u in users:
                lines = [l for l in got[u] if l.startswith("[")]
                # senders read their own lines back, too
                self.assertEqual([l for l in lines if
                                  l.startswith("[alice]")],
                                 self.said(a1, "a"),
                                 "%s: alice's lines" % u.name)
                self.assertEqual([l for l in lines if
                                  l.startswith("[bob]")],
                                 self.said(b1, "b"),
                                 "%s: bob's lines" % u.name)
                rest = [l for l in got[u] if not l.startswith("[")]
                if u in (a1, a2):
                    # one notice on the upgraded node, and nothing else
                    # (no "connected to the other servers" either)
                    self.assertEqual(len(rest), 1, rest)
                    self.assertRegex(rest[0], NOTICE)
                else:
                    self.assertEqual(rest, [], "%s saw a change" % u.name)
            # the other node saw no leave, join, loss, gap or reset of
            # presence of node n1's users
            log = b.log_text()[mark_b:]
            for what in (r"of node n1 left", r"of node n1 is here",
                         r"node n1 (was )?lost", r"node n1 left the room",
                         r"messages from node n1 lost",
                         r"another process has this server's node id"):
                self.assertNotRegex(log, what)
            # the same member of the room, the same names
            a.wait_log(r"cluster: node n1 \(incarnation [0-9a-f]{16}\) "
                       r"goes on from message \d+, 1 other servers known")
            a.wait_up(after=0)
            self.assertNotRegex(a.log_text(), r"node id n1 is in use")
            b2.ask("rename|alice", "! name is taken")
            b2.ask("rename|Alice", "! name is taken")
            a2.ask("rename|bob", "! name is taken")
            for u in users:
                self.assertEqual(self.who(u, 4), who_before[u.name],
                                 "who of %s" % u.name)
            # and the room goes on both ways
            for c, extra in zip(users, cl.sync(users)):
                self.assertEqual(extra, [], "%s: more than the markers"
                                 % c.name)
            # a second upgrade, of the new process, works as well
            ok, line = a.upgrade()
            self.assertTrue(ok, line)
            for c, extra in zip(users, cl.sync(users)):
                self.assertEqual([l for l in extra if not NOTICE.fullmatch(l)],
                                 [], "%s after the second upgrade" % c.name)
            self.assertNotRegex(b.log_text()[mark_b:], r"of node n1 left")

    def test_default_node_id_kept(self):
        """A node id chatd chose (host name and pid) is the old pid's
        after the upgrade, not one made of the new pid."""
        with ct.RedisServer() as redis:
            a = ct.ClusterNode(redis, None)
            b = ct.ClusterNode(redis, "other")
            with a, b:
                m = a.wait_log(r"cluster: in room \S+ as node (\S+):")
                node = m.group(1)
                self.assertTrue(node.endswith("-%d" % a.pid), node)
                c = a.client()
                b.wait_log(r"cluster: %s of node %s is here"
                           % (re.escape(c.name), re.escape(node)))
                d = b.client()
                c.expect("* %s joined" % d.name)
                mark_b = b.mark()
                mark_a = a.mark()
                ok, line = a.upgrade()
                self.assertTrue(ok, line)
                a.wait_log(r"cluster: in room \S+ as node %s:"
                           % re.escape(node), after=mark_a)
                c.expect_match(NOTICE.pattern)
                c.sendline("still here")
                for u in (c, d):
                    u.expect("[%s]: still here" % c.name)
                d.sendline("hello")
                for u in (c, d):
                    u.expect("[%s]: hello" % d.name)
                self.assertNotRegex(b.log_text()[mark_b:],
                                    r"left the room|was lost| left\n")

    def test_rollback_in_cluster(self):
        """A new binary that exits at once: the old node goes on in the
        room as before, its users chatting with the other node's."""
        binary = ct.os.path.join(ct.mkdtemp(), "chatd")
        ct.shutil.copy(ct.CHATD, binary)
        with ct.Cluster(0) as cl:
            a = cl.add_node(binary=binary)
            b = cl.add_node()
            c, d = cl.join(0), cl.join(1)
            mark_b = b.mark()
            old = a.pid
            script = ct.os.path.join(ct.mkdtemp(), "exits")
            ct.write_file(script, "#!/bin/sh\nexit 3\n")
            ct.os.chmod(script, 0o755)
            a.install_binary(script)
            ok, line = a.upgrade()
            self.assertFalse(ok, line)
            self.assertIn("exited with status 3", line)
            self.assertEqual(a.pid, old)
            a.install_binary(ct.CHATD)
            for u, extra in zip([c, d], cl.sync([c, d])):
                self.assertEqual(extra, [], u.name)
            self.assertNotRegex(b.log_text()[mark_b:], r"of node n1 ")

if __name__ == "__main__":
    unittest.main()
