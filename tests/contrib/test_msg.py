#!/usr/bin/env python3
"""contrib/plugins/msg.lua: msg|<name>|<text> private messages."""

import os
import unittest

import chatdtest as ct

USAGE = "! usage: msg|<name>|<text>"


class MsgTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["msg"]).start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")
        self.carol = self.srv.join("carol")

    def test_config_check(self):
        rc, out, err = ct.check_config(["msg"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_private_message(self):
        self.alice.sendline("msg|bob|hello there")
        self.bob.expect("* [alice -> you]: hello there")
        self.alice.expect("* [you -> bob]: hello there")
        self.srv.sync()          # carol got nothing before the marker

    def test_text_keeps_bars_loses_outer_blanks(self):
        self.bob.sendline("msg| carol |  a | b|c  ")
        self.carol.expect("* [bob -> you]: a | b|c")
        self.bob.expect("* [you -> carol]: a | b|c")
        self.srv.sync()

    def test_usage(self):
        for line in ("msg", "msg|", "msg|bob", "msg|bob|", "msg|bob|   ",
                     "msg||hi", "msg|  |hi"):
            with self.subTest(line=line):
                self.alice.ask(line, USAGE)
        self.srv.sync()

    def test_no_such_user(self):
        self.alice.ask("msg|dave|hi", "! no such user: dave")
        # Names are the same name whatever their case or width.
        self.alice.ask("msg|BOB|hi", "* [you -> bob]: hi")
        self.bob.expect("* [alice -> you]: hi")
        self.alice.ask("msg|\uff42\uff4f\uff42|yo", "* [you -> bob]: yo")
        self.bob.expect("* [alice -> you]: yo")
        self.srv.sync()

    def test_self_refused(self):
        self.alice.ask("msg|alice|note to self",
                       "! you cannot message yourself")
        self.srv.sync()

    def test_follows_renames(self):
        self.bob.ask("rename|robert", "* you are now robert")
        self.alice.expect("* bob is now robert")
        self.carol.expect("* bob is now robert")
        self.bob.name = "robert"
        self.alice.ask("msg|bob|hi", "! no such user: bob")
        self.alice.sendline("msg|robert|hi")
        self.bob.expect("* [alice -> you]: hi")
        self.alice.expect("* [you -> robert]: hi")
        self.alice.ask("rename|al", "* you are now al")
        self.bob.expect("* alice is now al")
        self.carol.expect("* alice is now al")
        self.alice.name = "al"
        self.bob.sendline("msg|al|back")
        self.alice.expect("* [robert -> you]: back")
        self.bob.expect("* [you -> al]: back")
        self.srv.sync()

    def test_help_lists_it(self):
        self.alice.sendline("help")
        self.alice.sendline("done")
        lines = self.alice.lines_until("[alice]: done")
        self.assertEqual(lines[0], "* commands:")
        self.assertIn("*   msg|<name>|<text>: send a private message",
                      lines)


class EnableTest(unittest.TestCase):

    def test_symlink_and_sighup(self):
        # The operator's way: link the file into the plugin directory of a
        # running server and send SIGHUP.
        srv = ct.ContribServer([]).start()
        self.addCleanup(srv.stop)
        alice = srv.join("alice")
        bob = srv.join("bob")
        alice.sendline("msg|bob|hi")            # not a command yet: chat
        alice.expect("[alice]: msg|bob|hi")
        bob.expect("[alice]: msg|bob|hi")
        os.symlink(os.path.join(ct.CONTRIB, "msg.lua"),
                   os.path.join(srv.dir, "plugins", "msg.lua"))
        self.assertTrue(srv.reload()[0], srv.log_text())
        alice.sendline("msg|bob|hi")
        bob.expect("* [alice -> you]: hi")
        alice.expect("* [you -> bob]: hi")


if __name__ == "__main__":
    unittest.main(verbosity=2)
