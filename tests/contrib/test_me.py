#!/usr/bin/env python3
"""contrib/plugins/me.lua: me|<action> actions."""

import unittest

import chatdtest as ct

USAGE = "! usage: me|<action>"


class MeTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["me"]).start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")

    def test_config_check(self):
        rc, out, err = ct.check_config(["me"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_action_to_everyone(self):
        self.alice.sendline("me|waves")
        self.alice.expect("* [alice] waves")
        self.bob.expect("* [alice] waves")

    def test_action_text(self):
        # Outer blanks go, inner ones and further bars stay.
        self.bob.sendline("me|  shrugs  a|b  ")
        self.alice.expect("* [bob] shrugs  a|b")
        self.bob.expect("* [bob] shrugs  a|b")

    def test_action_is_no_notice(self):
        """me|joined cannot pass for the server's join notice."""
        self.alice.sendline("me|joined")
        self.bob.expect("* [alice] joined")
        self.alice.expect("* [alice] joined")

    def test_usage(self):
        for line in ("me", "me|", "me|   ", "me|\u200b\u2800"):
            with self.subTest(line=line):
                self.alice.ask(line, USAGE)
        self.srv.sync()          # bob got nothing before the marker

    def test_uses_current_name(self):
        self.alice.ask("rename|ally", "* you are now ally")
        self.bob.expect("* alice is now ally")
        self.alice.sendline("me|is back")
        self.alice.expect("* [ally] is back")
        self.bob.expect("* [ally] is back")


if __name__ == "__main__":
    unittest.main(verbosity=2)
