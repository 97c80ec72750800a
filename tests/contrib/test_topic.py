#!/usr/bin/env python3
"""contrib/plugins/topic.lua on one server: show, set, told on joining,
kept across a reload and (with [lua] state_file) a restart, and the
operators' lock.  Across the servers of a cluster:
tests/cluster/test_plugins.py."""

import os
import unittest

import chatdtest as ct

PASSWORD = "topic-test-password"


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


class KeptTopicTest(unittest.TestCase):

    def start(self, state):
        srv = ct.ContribServer(["topic"], {
            "lua": {"state_file": state},
            "operators": {"root": ct.operator_hash(PASSWORD)}}).start()
        self.addCleanup(srv.stop)
        return srv

    def test_kept_across_reload_and_restart(self):
        state = os.path.join(ct.mkdtemp(), "state")
        srv = self.start(state)
        alice = srv.join("alice")
        alice.sendline("topic|kept")
        alice.expect("* alice set the topic: kept")
        ok, line = srv.reload()
        self.assertTrue(ok, line)
        alice.ask("topic", "* topic: kept")
        srv.stop()
        srv = self.start(state)
        srv.join("bob", greeting=["* topic: kept"])

    def test_operator_lock(self):
        srv = self.start(os.path.join(ct.mkdtemp(), "state"))
        root = srv.join("root")
        bob = srv.join("bob")
        bob.ask("topiclock|on",
                "! topiclock: for operators only (oper|<name>|<password> "
                "first)")
        root.ask("oper|root|" + PASSWORD, "* you are now operator root")
        root.sendline("topiclock|on")
        for c in (root, bob):
            c.expect("* root locked the topic")
        bob.ask("topic|mine", "! the topic is locked (operators only)")
        root.sendline("topic|ours")
        for c in (root, bob):
            c.expect("* root set the topic: ours")
        ok, line = srv.reload()      # the lock is kept too
        self.assertTrue(ok, line)
        bob.ask("topic|mine", "! the topic is locked (operators only)")
        root.ask("topiclock|maybe", "! usage: topiclock|on|off")
        root.sendline("topiclock|off")
        for c in (root, bob):
            c.expect("* root unlocked the topic")
        bob.sendline("topic|mine")
        for c in (root, bob):
            c.expect("* bob set the topic: mine")
        srv.sync()


if __name__ == "__main__":
    ct.main()
