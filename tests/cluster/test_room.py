#!/usr/bin/env python3
"""One room on three chatd nodes and a real redis-server: joins, chat,
who, the online list, renames and leaves reach every user of every node,
once each."""

import re
import unittest

import chatdtest as ct


class SharedRoom(unittest.TestCase):

    def setUp(self):
        self.cl = ct.Cluster(3)
        self.cl.start()

    def tearDown(self):
        self.cl.stop(check=not self._outcome_failed())

    def _outcome_failed(self):
        result = getattr(self._outcome, "result", None)
        errors = getattr(result, "errors", []) + getattr(result,
                                                         "failures", [])
        return any(t is self for t, _ in errors)

    def test_joins_and_online_lists(self):
        """Each newcomer's online list holds every user of every node, in
        the order they joined; every user sees every join once."""
        joined = []
        for i in [0, 1, 2, 1, 0, 2]:
            c = self.cl.join(i)
            self.assertEqual(c.online, joined + [c.name],
                             "online list of a user of node %d" % (i + 1))
            joined.append(c.name)
        # nothing more: no join was told twice
        for c, extra in zip(self.cl.users, self.cl.sync()):
            self.assertEqual(extra, [], "%s got more than the joins" % c.name)

    def test_who_everywhere(self):
        users = [self.cl.join(i % 3) for i in range(6)]
        want = ["*   %s %s" % (u.name, u.name) for u in users]
        for u in users:
            got = u.ask("who")
            self.assertEqual(got, "* online (6):")
            lines = [u.line() for _ in range(6)]
            self.assertEqual(lines, want, "who on the node of %s" % u.name)

    def test_chat_reaches_everyone_once(self):
        users = [self.cl.join(i) for i in range(3)]
        for u in users:
            u.sendline("hello from %s" % u.name)
        for v in users:
            got = sorted(v.line() for _ in range(3))
            self.assertEqual(got, sorted("[%s]: hello from %s"
                                         % (u.name, u.name) for u in users))
        for c, extra in zip(users, self.cl.sync()):
            self.assertEqual(extra, [], "%s: a line twice" % c.name)

    def test_renames_across_nodes(self):
        a = self.cl.join(0, "alice")
        b = self.cl.join(1, "bob")
        c = self.cl.join(2)
        # the same name in another case, or folded, is taken on any node
        for who, name in [(b, "Alice"), (c, "ALICE"), (c, "\uff21lice")]:
            who.ask("rename|" + name, "! name is taken")
        # a new form of one's own name is fine, and everyone hears of it
        a.ask("rename|Alice", "* you are now Alice")
        b.expect("* alice is now Alice")
        c.expect("* alice is now Alice")
        a.name = "Alice"
        for u, extra in zip(self.cl.users, self.cl.sync()):
            self.assertEqual(extra, [], "%s: unexpected lines" % u.name)
        # the old name, once free, can be taken on another node
        a.ask("rename|ada", "* you are now ada")
        b.expect("* Alice is now ada")
        c.expect("* Alice is now ada")
        c.ask("rename|alice", "* you are now alice")
        a.expect("* %s is now alice" % c.name)
        b.expect("* %s is now alice" % c.name)

    def test_leaves(self):
        a = self.cl.join(0, "alice")
        b = self.cl.join(1, "bob")
        c = self.cl.join(2, "carol")
        b.ask("quit", "* bye")
        b.expect_closed()
        self.cl.forget(b)
        a.expect("* bob left")
        c.expect("* bob left")
        c.close()
        self.cl.forget(c)
        a.expect("* carol left")
        a.ask("who", "* online (1):", "*   alice " + ct.sockname(a.sock))
        # bob's name is free again, for a user of any node
        d = self.cl.join(2)
        d.ask("rename|bob", "* you are now bob")
        a.expect("* %s is now bob" % d.name)



class Alone(unittest.TestCase):

    def test_no_redis_connection_without_cluster(self):
        """Without [cluster], chatd opens no connection at all."""
        with ct.Server() as srv:
            c = srv.client()
            c.ask("who", "* online (1):")
            c.line()
            self.assertNotIn("cluster:", srv.log_text())
            socks = tcp_sockets(srv.pid)
            # the listener and the one client: nothing else
            self.assertEqual(sorted(socks), ["connected", "listening"],
                             "chatd's sockets: %r" % socks)


class Check(unittest.TestCase):
    """chatd -t checks every [cluster] key, and connects to nothing."""

    def check(self, sections):
        d = ct.mkdtemp()
        path = ct.write_file(d + "/chatd.ini", ct.format_ini(sections))
        return path, ct.run_chatd(["-t", "-c", path])

    def test_good_cluster_needs_no_redis(self):
        port = ct.free_port()	# nothing listens there
        path, r = self.check({"server": {"reuse_port": True},
                              "cluster": {"redis": "127.0.0.1:%d" % port,
                                          "room": "lobby", "node": "web-1",
                                          "heartbeat": 2,
                                          "node_timeout": 9}})
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1:]), (0, ["ok"]),
                         r.stderr)
        self.assertNotIn("cluster:", r.stderr)

    def test_bad_cluster_keys(self):
        for key, value, why in [
                ("redis", "localhost:6379", "host names are not looked up"),
                ("redis", "unix:redis.sock", "absolute path"),
                ("room", "two words", "letters, digits"),
                ("node", "n{1}", "letters, digits"),
                ("heartbeat", "0", "from 1 to 60"),
                ("node_timeout", "1", "from 2 to 3600")]:
            path, r = self.check({"cluster": {key: value}})
            self.assertEqual(r.returncode, 1, (key, value))
            self.assertRegex(r.stderr, r"^%s:2: invalid value '%s' for %s"
                             % (re.escape(path), re.escape(value), key))
            self.assertIn(why, r.stderr)
        path, r = self.check({"cluster": {"heartbeat": 5,
                                          "node_timeout": 5}})
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "%s:3: [cluster] node_timeout (5) must "
                         "be longer than heartbeat (5)\n" % path)


def tcp_sockets(pid):
    """The states of a process's TCP sockets, from /proc."""
    import os
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    states = []
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    states.append("listening" if fields[3] == "0A"
                                  else "connected")
    return states


if __name__ == "__main__":
    ct.main()
