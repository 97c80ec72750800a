#!/usr/bin/env python3
"""contrib/plugins/ban.lua: operators ban names and addresses; a banned
address is refused before the room is told anything (no "joined", no
"left"), a banned name cannot be taken, and the bans survive a reload and,
with [lua] state_file, a restart."""

import os
import unittest

import chatdtest as ct

PASSWORD = "ban-test-password"
HASH = ct.operator_hash(PASSWORD)
ONLY_OPS = "! %s: for operators only (oper|<name>|<password> first)"


class BanTest(unittest.TestCase):

    def setUp(self):
        self.state = os.path.join(ct.mkdtemp(), "state")
        self.srv = self.start()
        self.root = self.srv.join("root")
        self.root.ask("oper|root|" + PASSWORD, "* you are now operator root")
        self.bob = self.srv.join("bob")

    def start(self):
        srv = ct.ContribServer(["ban"], {"operators": {"root": HASH},
                                         "lua": {"state_file": self.state}})
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def assert_refused(self, srv):
        c = srv.client(join=False)
        c.expect("* you are banned from this room: go away")
        c.expect_closed()
        srv.wait_log(r"ban: refused 127\.0\.0\.1:\d+ \(address 127\.0\.0\.1\)")
        srv.wait_log(r"client \d+ \(127\.0\.0\.1:\d+\) left: refused")

    def test_config_check(self):
        rc, out, err = ct.check_config(["ban"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_only_operators(self):
        for line in ("ban|root", "unban|root", "bans"):
            self.bob.ask(line, ONLY_OPS % line.split("|")[0])
        self.srv.sync()

    def test_address_ban_refuses_before_the_join_is_told(self):
        self.root.ask("ban|127.0.0.1|go away", "* banned address 127.0.0.1")
        # bob (no operator) is sent out; the room sees him leave
        self.bob.expect("* you are banned from this room: go away")
        self.bob.expect_closed()
        self.srv.joined.remove(self.bob)
        self.root.expect("* bob left")
        self.assert_refused(self.srv)
        # root heard nothing of the refused join: the next line is its own
        self.root.sendline("still here")
        self.root.expect("[root]: still here")
        self.root.ask("bans", "* bans (1):")
        self.root.expect("*   address 127.0.0.1 by root: go away")
        self.root.ask("unban|127.0.0.1", "* unbanned 127.0.0.1")
        self.root.ask("unban|127.0.0.1", "! no ban on 127.0.0.1")
        self.srv.join("carol")

    def test_name_ban(self):
        self.root.ask("ban|Bob", "* banned name Bob")
        self.bob.expect("* you are banned from this room")
        self.bob.expect_closed()
        self.srv.joined.remove(self.bob)
        self.root.expect("* bob left")
        c = self.srv.join("carol")
        c.ask("rename|BOB", "! the name BOB is banned")
        c.ask("rename|bobby", "* you are now bobby")
        self.srv.wait_log(r"ban: root \(operator root\) banned name Bob")

    def test_bans_survive_reload_and_restart(self):
        self.root.ask("ban|127.0.0.1|go away", "* banned address 127.0.0.1")
        self.bob.expect_closed()
        self.srv.joined.remove(self.bob)
        ok, line = self.srv.reload()
        self.assertTrue(ok, line)
        self.assert_refused(self.srv)
        self.srv.stop()
        self.assert_refused(self.start())


if __name__ == "__main__":
    ct.main()
