#!/usr/bin/env python3
"""contrib/plugins/roll.lua: dice everyone sees, a per-user cooldown that
survives a reload, and the errors."""

import time
import unittest

import chatdtest as ct


class RollTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["roll"],
                                    {"plugin.roll": {"cooldown": 2}}).start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")

    def roll(self, c, spec, n, m):
        c.sendline("roll" + ("|" + spec if spec else ""))
        line = None
        for u in (self.alice, self.bob):
            got = u.expect_match(r"\* %s rolls %dd%d: (.*)$" % (c.name, n, m))
            self.assertEqual(line or got.group(0), got.group(0))
            line = got.group(0)
        dice = got.group(1).split(" = ")[0].split(" + ")
        self.assertEqual(len(dice), n)
        for d in dice:
            self.assertTrue(1 <= int(d) <= m, line)
        if n > 1:
            self.assertEqual(int(got.group(1).split(" = ")[1]),
                             sum(int(d) for d in dice))

    def test_config_check(self):
        rc, out, err = ct.check_config(["roll"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)
        rc, out, err = ct.check_config(["roll"],
                                       {"plugin.roll": {"cooldown": "-1"}})
        self.assertIn("[plugin.roll] cooldown must be a number", err)

    def test_rolls_and_cooldown(self):
        self.roll(self.alice, "", 1, 6)
        self.roll(self.bob, "3d20", 3, 20)      # each user's own cooldown
        self.alice.sendline("roll|2d6")
        self.alice.expect_match(r"! roll: wait [12] s$")
        self.srv.sync()                          # bob saw nothing of it
        time.sleep(2.1)
        self.roll(self.alice, "2D6", 2, 6)

    def test_cooldown_survives_reload(self):
        self.roll(self.alice, "", 1, 6)
        ok, line = self.srv.reload()
        self.assertTrue(ok, line)
        self.alice.sendline("roll")
        self.alice.expect_match(r"! roll: wait [12] s$")

    def test_bad_dice(self):
        for spec in ("0d6", "11d6", "1d1", "1d1001", "d6", "two"):
            self.alice.ask("roll|" + spec,
                           "! roll: <N>d<M>, N from 1 to 10, M from 2 to 1000")
        self.srv.sync()


if __name__ == "__main__":
    ct.main()
