#!/usr/bin/env python3
"""contrib/plugins/topic.lua on one server: show, set, told on joining.
Across the servers of a cluster: tests/cluster/test_plugins.py."""

import unittest

import chatdtest as ct


class TopicTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["topic"]).start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")

    def test_config_check(self):
        rc, out, err = ct.check_config(["topic"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_show_set_and_join(self):
        self.alice.ask("topic", "* no topic")
        self.alice.sendline("topic|  chatd 1.0 is out  ")
        self.alice.expect("* alice set the topic: chatd 1.0 is out")
        self.bob.expect("* alice set the topic: chatd 1.0 is out")
        self.bob.ask("topic", "* topic: chatd 1.0 is out")
        self.bob.ask("topic|   ", "* topic: chatd 1.0 is out")
        carol = self.srv.join("carol", greeting=[
            "* topic: chatd 1.0 is out"])
        self.bob.sendline("topic|a | bar")
        for u in (self.alice, self.bob, carol):
            u.expect("* bob set the topic: a | bar")
        self.srv.sync()


if __name__ == "__main__":
    ct.main()
