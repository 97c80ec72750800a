#!/usr/bin/env python3
"""contrib/plugins/motd.lua: the message of the day."""

import unittest

import chatdtest as ct

# Keys out of order, a gap (no text4), an empty text5, and an inline
# comment: the lines come by number, empty ones skipped.
MOTD = {"plugin.motd": {
    "text3": "Type help for the commands.",
    "text": "Welcome to the chat!",
    "text6": "Have fun.  ; not part of the line",
    "text5": "",
    "text2": "Be nice.",
    "note": "not a text key",
}}
LINES = [
    "* motd: Welcome to the chat!",
    "* motd: Be nice.",
    "* motd: Type help for the commands.",
    "* motd: Have fun.",
]


class MotdTest(unittest.TestCase):

    def start(self, sections=None):
        srv = ct.ContribServer(["motd"], sections).start()
        self.addCleanup(srv.stop)
        return srv

    def test_config_check(self):
        rc, out, err = ct.check_config(["motd"], MOTD)
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)
        rc, out, err = ct.check_config(["motd"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_sent_on_join(self):
        srv = self.start(MOTD)
        alice = srv.join("alice", greeting=LINES)
        bob = srv.join("bob", greeting=LINES)   # alice sees only the join
        srv.sync()
        self.assertEqual(alice.history.count(LINES[0]), 1)
        self.assertEqual(bob.history.count(LINES[0]), 1)

    def test_command_resends(self):
        srv = self.start(MOTD)
        alice = srv.join("alice", greeting=LINES)
        srv.join("bob", greeting=LINES)
        alice.ask("motd", *LINES)
        srv.sync()              # to alice only

    def test_single_text(self):
        srv = self.start({"plugin.motd": {"text": "Hello, world"}})
        alice = srv.join("alice", greeting=["* motd: Hello, world"])
        alice.ask("motd", "* motd: Hello, world")

    def test_unconfigured_is_quiet(self):
        srv = self.start()
        srv.wait_log(r"warn: lua: \S*/motd\.lua:\d+: no \[plugin\.motd\] "
                     r"text configured")
        alice = srv.join("alice")
        # The very next line answers the command: nothing came on join.
        alice.ask("motd", "* no message of the day")

    def test_blank_texts_are_none(self):
        srv = self.start({"plugin.motd": {"text": "", "text2": ""}})
        srv.wait_log(r"motd\.lua:\d+: no \[plugin\.motd\] text configured")
        alice = srv.join("alice")
        alice.ask("motd", "* no message of the day")

    def test_reload_applies_new_text(self):
        srv = self.start({"plugin.motd": {"text": "old news"}})
        alice = srv.join("alice", greeting=["* motd: old news"])
        srv.rewrite_config({"plugin.motd": {"text": "fresh news",
                                            "text2": "second line"}})
        self.assertTrue(srv.reload()[0], srv.log_text())
        alice.ask("motd", "* motd: fresh news", "* motd: second line")
        srv.join("bob", greeting=["* motd: fresh news",
                                  "* motd: second line"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
