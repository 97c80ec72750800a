#!/usr/bin/env python3
"""GET /metrics on the nodes of a room: chatd_users counts each node's
own users (so that a sum over the nodes counts everyone once), the room
as a whole is chatd_room_users, and the link shows in chatd_cluster_up,
chatd_cluster_servers and the counters of link downs, dropped messages
and gaps, the heartbeat's round trip, joins and reconnection attempts;
the scrape passes promtool.  A server alone shows no cluster
figures (tests/integration/test_metrics.py)."""

import time
import unittest

import chatdtest as ct

DOWN = "* lost the link to the other servers; you see only the users of " \
    "this server"
UP = r"\* connected to the other servers: (\d+) online"
CLUSTER = ["chatd_cluster_up", "chatd_cluster_servers", "chatd_room_users",
           "chatd_cluster_link_downs_total",
           "chatd_cluster_dropped_messages_total", "chatd_cluster_gaps_total",
           "chatd_cluster_heartbeat_rtt_seconds", "chatd_cluster_joins_total",
           "chatd_redis_reconnects_total"]


def figures(node):
    m = node.metrics()
    return {k: m[(k, "")] for k in ["chatd_users"] + CLUSTER}


def wait_for(node, pred, what, timeout=8.0):
    """Scrape until pred(figures) holds; the last figures."""
    deadline = time.monotonic() + timeout
    while True:
        f = figures(node)
        if pred(f):
            return f
        if time.monotonic() > deadline:
            raise AssertionError("%s: not so after %.0f s: %r"
                                 % (what, timeout, f))
        time.sleep(0.1)


class ClusterMetrics(unittest.TestCase):

    def test_users_room_and_link(self):
        with ct.Cluster(2, config={"metrics": {"port": 0}}) as cl:
            cl.join(0, "alice")
            cl.join(0, "carol")
            b = cl.join(1, "bob")
            rc, out = ct.promtool_check(cl.nodes[0].scrape())
            self.assertEqual(rc, 0, out)
            f1, f2 = figures(cl.nodes[0]), figures(cl.nodes[1])
            self.assertEqual((f1["chatd_users"], f2["chatd_users"]), (2, 1))
            self.assertEqual((f1["chatd_room_users"],
                              f2["chatd_room_users"]), (3, 3))
            for f in (f1, f2):
                self.assertEqual(f["chatd_cluster_up"], 1)
                self.assertEqual(f["chatd_cluster_servers"], 1)
                self.assertEqual(f["chatd_cluster_link_downs_total"], 0)
                self.assertEqual(f["chatd_cluster_dropped_messages_total"],
                                 0)
            # Garbage on the channel is counted where it is dropped.
            cl.redis.command("PUBLISH", "chatd:{chatd}", "not a message")
            b.sendline("after the garbage")
            for u in cl.users:
                u.expect("[bob]: after the garbage")
            self.assertEqual(figures(cl.nodes[0])[
                "chatd_cluster_dropped_messages_total"], 1)
            # A gap: a publisher whose sequence numbers skip (as when
            # Redis cut a subscriber off), here a node of no users.
            inc = "00000000000000aa"
            cl.redis.command("PUBLISH", "chatd:{chatd}",
                             "chatd1 Z n9 %s 1" % inc)
            cl.redis.command("PUBLISH", "chatd:{chatd}",
                             "chatd1 Z n9 %s 5" % inc)
            cl.nodes[0].wait_log(r"3 messages from node n9 lost")
            self.assertEqual(figures(cl.nodes[0])["chatd_cluster_gaps_total"],
                             1)
            # The link down, then up again.
            cl.redis.stop()
            for u in cl.users:
                u.expect(DOWN, timeout=5)
            f1 = figures(cl.nodes[0])
            self.assertEqual(f1["chatd_cluster_up"], 0)
            self.assertEqual(f1["chatd_cluster_servers"], 0)
            self.assertEqual((f1["chatd_users"], f1["chatd_room_users"]),
                             (2, 2))
            self.assertEqual(f1["chatd_cluster_link_downs_total"], 1)
            marks = [n.mark() for n in cl.nodes]
            cl.redis.restart()
            for i, n in enumerate(cl.nodes):
                n.wait_up(after=marks[i])
            for u in cl.users:
                u.expect_match(UP, timeout=5)
            cl.nodes[0].wait_log(r"cluster: bob of node n2 is here",
                                 after=marks[0])
            f1 = figures(cl.nodes[0])
            self.assertEqual((f1["chatd_cluster_up"],
                              f1["chatd_room_users"],
                              f1["chatd_cluster_link_downs_total"]),
                             (1, 3, 1))

    def test_heartbeat_joins_and_reconnects(self):
        with ct.Cluster(2, config={"metrics": {"port": 0}}) as cl:
            n = cl.nodes[0]
            f = wait_for(n, lambda f: f["chatd_cluster_heartbeat_rtt_seconds"]
                         > 0, "a heartbeat back")
            # On loopback a round trip through Redis is well under the
            # heartbeat interval of a second.
            self.assertLess(f["chatd_cluster_heartbeat_rtt_seconds"], 1)
            self.assertEqual((f["chatd_cluster_joins_total"],
                              f["chatd_redis_reconnects_total"]), (1, 0))
            mark = n.mark()
            cl.redis.stop()
            # Retrying with a back-off: at least one attempt soon.
            wait_for(n, lambda f: f["chatd_redis_reconnects_total"] >= 1,
                     "a reconnection attempt")
            cl.redis.restart()
            n.wait_up(after=mark)
            f = figures(n)
            self.assertEqual(f["chatd_cluster_joins_total"], 2)
            self.assertGreaterEqual(f["chatd_redis_reconnects_total"], 1)

    def test_none_alone(self):
        with ct.Server(config={"metrics": {"port": 0}}) as srv:
            srv.client()
            m = srv.metrics()
            self.assertEqual(m[("chatd_users", "")], 1)
            for k in CLUSTER:
                self.assertNotIn((k, ""), m)


if __name__ == "__main__":
    ct.main()
