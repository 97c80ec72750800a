#!/usr/bin/env python3
"""contrib/plugins/backlog.lua: a newcomer is shown the last lines said,
in the welcome; the lines survive a reload and, with [lua] state_file, a
restart."""

import os
import unittest

import chatdtest as ct


def backlog(lines):
    n = len(lines)
    return ["* backlog (%d line%s):" % (n, "" if n == 1 else "s")] + \
        ["*   " + line for line in lines]


class BacklogTest(unittest.TestCase):

    def start(self, sections=None):
        srv = ct.ContribServer(["backlog"], sections).start()
        self.addCleanup(srv.stop)
        return srv

    def test_config_check(self):
        rc, out, err = ct.check_config(["backlog"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)
        rc, out, err = ct.check_config(["backlog"],
                                       {"plugin.backlog": {"lines": "0"}})
        self.assertNotEqual(rc, 0)
        self.assertIn("[plugin.backlog] lines must be a whole number from 1 "
                      "to 200, not '0'", err)

    def test_last_lines_for_newcomers(self):
        srv = self.start({"plugin.backlog": {"lines": 3}})
        alice = srv.join("alice")        # nothing said yet: no backlog
        alice.sendline("who")            # a command is not kept
        alice.expect("* online (1):")
        alice.expect_match(r"\*   alice .*")
        said = []
        for i in range(4):
            alice.sendline("line %d" % i)
            alice.expect("[alice]: line %d" % i)
            said.append("[alice]: line %d" % i)
        bob = srv.join("bob", greeting=backlog(said[-3:]))
        bob.sendline("hi")
        for c in (alice, bob):
            c.expect("[bob]: hi")
        said.append("[bob]: hi")
        srv.join("carol", greeting=backlog(said[-3:]))
        srv.sync()

    def test_survives_reload_and_restart(self):
        path = os.path.join(ct.mkdtemp(), "state")
        srv = self.start({"lua": {"state_file": path}})
        alice = srv.join("alice")
        alice.sendline("before reload")
        alice.expect("[alice]: before reload")
        ok, line = srv.reload()
        self.assertTrue(ok, line)
        srv.join("bob", greeting=backlog(["[alice]: before reload"]))
        srv.stop()
        srv = self.start({"lua": {"state_file": path}})
        srv.join("carol", greeting=backlog(["[alice]: before reload"]))
        srv.sync()


if __name__ == "__main__":
    ct.main()
