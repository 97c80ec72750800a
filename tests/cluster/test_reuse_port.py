#!/usr/bin/env python3
"""[server] reuse_port: two nodes of one room on one port; the kernel
spreads the connections over them, and the users are in one room.  A
server without reuse_port cannot take that port."""

import re
import unittest

import chatdtest as ct

USERS = 16


class ReusePort(unittest.TestCase):

    def test_two_nodes_one_port(self):
        port = ct.free_port()
        shared = {"server": {"port": port, "reuse_port": True}}
        with ct.Cluster(2, config=shared) as cl:
            self.assertEqual([n.port for n in cl.nodes], [port, port])
            users, where = [], []
            for _ in range(USERS):
                marks = [n.mark() for n in cl.nodes]
                c = ct.Client(port)
                rx = r"client \d+ connected from %s\n" % re.escape(c.name)
                i = [k for k, n in enumerate(cl.nodes)
                     if re.search(rx, n.log_text()[marks[k]:])]
                if not i:	# not logged yet: wait on both
                    i = [wait_either(cl.nodes, rx, marks)]
                where.append(i[0])
                c.join()
                cl.others_know(i[0], marks, r"cluster: %s of node n%d is "
                               r"here" % (re.escape(c.name), i[0] + 1))
                for o in users:
                    o.expect("* %s joined" % c.name)
                users.append(c)
            self.assertEqual(sorted(set(where)), [0, 1],
                             "every connection went to one node: %r" % where)
            names = sorted(u.name for u in users)
            for u in (users[where.index(0)], users[where.index(1)]):
                self.assertEqual(u.ask("who"), "* online (%d):" % USERS)
                self.assertEqual(sorted(u.line().split()[1]
                                        for _ in range(USERS)), names)
            # Without reuse_port, the port is refused.
            r = ct.Server(config={"server": {"port": port}}, ready=None)
            r.start()
            self.assertEqual(r.wait_exit(10), 1)
            self.assertRegex(r.log_text(), r"listen on 127\.0\.0\.1 port "
                             r"%d: Address already in use" % port)
            r.kill()


def wait_either(nodes, rx, marks):
    """The index of the node whose log matches rx first."""
    import time
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for k, n in enumerate(nodes):
            if re.search(rx, n.log_text()[marks[k]:]):
                return k
        time.sleep(0.02)
    raise AssertionError("no node logged %r" % rx)


if __name__ == "__main__":
    ct.main()
