#!/usr/bin/env python3
"""The cluster's figures on GET /metrics: whether this server is in the
room, how many others it knows, its heartbeat's round trip, and counters
of joins, losses of the link and reconnection attempts, moving as Redis
stops and comes back.  A server without [cluster] redis shows none of
them."""

import time
import unittest

import chatdtest as ct

CLUSTER_SERIES = ("chatd_cluster_up", "chatd_cluster_servers",
                  "chatd_cluster_heartbeat_rtt_seconds",
                  "chatd_cluster_joins_total",
                  "chatd_cluster_link_losses_total",
                  "chatd_redis_reconnects_total")


def metrics_of(node):
    """The scrape function of a node with [metrics] port = 0."""
    m = node.wait_log(ct.METRICS_RE)
    host, port = m.group(1), int(m.group(2))
    return lambda: ct.parse_metrics(ct.scrape_metrics(host, port))


def wait_for(scrape, pred, what, timeout=8.0):
    """Scrape until pred(metrics) holds; the last metrics."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape()
        if pred(m):
            return m
        if time.monotonic() > deadline:
            raise AssertionError("%s: not so after %.0f s: %r"
                                 % (what, timeout,
                                    {k: v for k, v in m.items()
                                     if k[0] in CLUSTER_SERIES}))
        time.sleep(0.1)


def g(m, name):
    return m[(name, "")]


class ClusterMetrics(unittest.TestCase):

    def test_figures_follow_the_link(self):
        with ct.Cluster(2, config={"metrics": {"port": 0}}) as cl:
            scrape = metrics_of(cl.nodes[0])
            host, port = cl.nodes[0].wait_log(ct.METRICS_RE).group(1, 2)
            self.assertEqual(ct.promtool_check(
                ct.scrape_metrics(host, int(port))), (0, ""))
            m = wait_for(scrape, lambda m: g(m, "chatd_cluster_servers") == 1
                         and g(m, "chatd_cluster_heartbeat_rtt_seconds") > 0,
                         "both in the room, a heartbeat back")
            self.assertEqual(g(m, "chatd_cluster_up"), 1)
            self.assertEqual(g(m, "chatd_cluster_joins_total"), 1)
            self.assertEqual(g(m, "chatd_cluster_link_losses_total"), 0)
            self.assertEqual(g(m, "chatd_redis_reconnects_total"), 0)
            # On loopback a round trip through Redis is well under the
            # heartbeat interval of a second.
            self.assertLess(g(m, "chatd_cluster_heartbeat_rtt_seconds"), 1)

            mark = cl.nodes[0].mark()
            cl.redis.stop()
            m = wait_for(scrape, lambda m: g(m, "chatd_cluster_up") == 0,
                         "the link down")
            self.assertEqual(g(m, "chatd_cluster_link_losses_total"), 1)
            self.assertEqual(g(m, "chatd_cluster_servers"), 0)
            self.assertEqual(g(m, "chatd_cluster_joins_total"), 1)
            # Retrying with a back-off: at least one attempt in a second.
            wait_for(scrape, lambda m:
                     g(m, "chatd_redis_reconnects_total") >= 1,
                     "a reconnection attempt")

            cl.redis.restart()
            cl.nodes[0].wait_up(after=mark)
            m = wait_for(scrape, lambda m: g(m, "chatd_cluster_up") == 1
                         and g(m, "chatd_cluster_servers") == 1,
                         "back in the room")
            self.assertEqual(g(m, "chatd_cluster_joins_total"), 2)
            self.assertEqual(g(m, "chatd_cluster_link_losses_total"), 1)
            self.assertGreaterEqual(g(m, "chatd_redis_reconnects_total"), 1)

    def test_none_without_a_cluster(self):
        with ct.Server({"metrics": {"port": 0}}) as srv:
            names = {name for name, _ in metrics_of(srv)()}
            self.assertIn("chatd_users", names)
            for name in CLUSTER_SERIES:
                self.assertNotIn(name, names)


if __name__ == "__main__":
    ct.main()
