#!/usr/bin/env python3
"""contrib/plugins/away.lua: away and back; who marks away users through a
"who" hook, beside the room's own rows; the mark survives a reload."""

import unittest

import chatdtest as ct


class AwayTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["away"]).start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")

    def who(self, c):
        c.sendline("who")
        c.expect("* online (2):")
        return [c.expect_match(r"\*   (\S+) 127\.0\.0\.1:\d+(.*)").groups()
                for _ in range(2)]

    def test_config_check(self):
        rc, out, err = ct.check_config(["away"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_away_marks_who(self):
        self.assertEqual(self.who(self.bob), [("alice", ""), ("bob", "")])
        self.alice.ask("away|lunch", "* you are away: lunch")
        self.bob.ask("away", "* you are away")
        self.assertEqual(self.who(self.bob),
                         [("alice", " (away: lunch)"), ("bob", " (away)")])
        self.bob.ask("back", "* you are back")
        self.bob.ask("back", "* you were not away")
        self.assertEqual(self.who(self.alice),
                         [("alice", " (away: lunch)"), ("bob", "")])
        self.srv.sync(self.bob)

    def test_talking_brings_you_back(self):
        self.alice.ask("away|lunch", "* you are away: lunch")
        self.alice.sendline("I'm here")
        self.alice.expect("* you are back")
        self.alice.expect("[alice]: I'm here")
        self.bob.expect("[alice]: I'm here")
        self.assertEqual(self.who(self.bob), [("alice", ""), ("bob", "")])

    def test_survives_reload(self):
        self.alice.ask("away|lunch", "* you are away: lunch")
        ok, line = self.srv.reload()
        self.assertTrue(ok, line)
        self.assertEqual(self.who(self.bob),
                         [("alice", " (away: lunch)"), ("bob", "")])


if __name__ == "__main__":
    ct.main()
