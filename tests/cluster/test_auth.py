#!/usr/bin/env python3
"""A Redis that asks for a password: [cluster] password (requirepass) and
username (an ACL user) log both of a node's connections in; a refused
login is logged in Redis's words, the node serves its own users
meanwhile and keeps retrying; chatd -t never prints the password."""

import re
import unittest

import chatdtest as ct

SECRET = "s3cret-Pa55 with spaces"


class RedisAuth(unittest.TestCase):

    def chat_across(self, cl):
        a = cl.join(0, "alice")
        b = cl.join(1, "bob")
        a.sendline("hello over a locked Redis")
        a.expect("[alice]: hello over a locked Redis")
        b.expect("[alice]: hello over a locked Redis")
        b.ask("who", "* online (2):")
        self.assertEqual(sorted(b.line().split()[1] for _ in range(2)),
                         ["alice", "bob"])
        a.ask("rename|ada", "* you are now ada")
        b.expect("* alice is now ada")
        for n in cl.nodes:
            self.assertNotRegex(n.log_text(), r"Redis said|NOPERM|cluster: "
                                r"Redis at \S+: ")

    def test_requirepass(self):
        with ct.Cluster(2, cluster={"password": SECRET},
                        redis_config=['requirepass "%s"' % SECRET]) as cl:
            self.chat_across(cl)
            # Nobody gets in without it: the lock is real.
            r = ct.Redis(cl.redis.port)
            with self.assertRaises(ct.RespError) as e:
                r.command("PING")
            self.assertIn("NOAUTH", str(e.exception))
            r.close()

    def test_acl_user(self):
        with ct.Cluster(2, cluster={"username": "chatd", "password": SECRET},
                        redis_config=[
                            "user default off",
                            # doc/cluster.md's: the room's keys and
                            # channel only, nothing dangerous
                            'user chatd on ">%s" ~chatd:{chatd}:* '
                            '&chatd:{chatd} +@all -@dangerous' % SECRET
                        ]) as cl:
            self.chat_across(cl)

    def test_a_wrong_password_is_logged_and_retried(self):
        with ct.Cluster(0, redis_config=['requirepass "%s"' % SECRET]) as cl:
            node = ct.ClusterNode(cl.redis, "n1", wait_up=False,
                                  cluster={"password": "not it"})
            try:
                node.start()
                node.wait_log(r"warn: cluster: Redis at 127\.0\.0\.1:%d: "
                              r".*Redis said '(WRONGPASS|ERR invalid "
                              r"password)[^']*'; retrying in [0-9.]+ s "
                              r"\(serving this server's users only "
                              r"meanwhile\)" % cl.redis.port)
                self.assertNotIn("not it", node.log_text())
                # Alone, but serving.
                a = node.client()
                a.sendline("anyone?")
                a.expect("[%s]: anyone?" % a.name)
                mark = node.mark()
                # Still trying: put the password right in Redis, and the
                # next attempt gets in.
                admin = ct.Redis(cl.redis.port)
                admin.command("AUTH", SECRET)
                admin.command("CONFIG", "SET", "requirepass", "not it")
                admin.close()
                node.wait_up(after=mark)
            finally:
                node.stop()

    def test_no_password_against_a_locked_redis(self):
        with ct.Cluster(0, redis_config=['requirepass "%s"' % SECRET]) as cl:
            node = ct.ClusterNode(cl.redis, "n1", wait_up=False)
            try:
                node.start()
                node.wait_log(r"warn: cluster: Redis at \S+: .*Redis said "
                              r"'NOAUTH")
            finally:
                node.stop()

    def test_check_hides_the_password(self):
        r, _ = ct.run_check([], config={"cluster": {
            "redis": "127.0.0.1:6379", "password": SECRET}})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertNotIn(SECRET, out)
        self.assertNotIn("s3cret", out)
        self.assertRegex(out, r"(?m)^; password is set \(\S+:\d+\); "
                              r"not shown$")
        self.assertRegex(out, r"(?m)^; username is unset: ")
        r, _ = ct.run_check([], config={"cluster": {
            "redis": "127.0.0.1:6379", "username": "chatd"}})
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr,
                         r"chatd\.ini:\d+: \[cluster\] username is set but "
                         r"password is not")


if __name__ == "__main__":
    unittest.main()
