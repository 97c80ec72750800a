#!/usr/bin/env python3
"""chat.keep: a plugin's kept table and its users' user.data survive a
reload; with [lua] state_file the kept table survives a restart too.  What
cannot be kept (a function, too many bytes) is logged and the plugin
starts afresh; a truncated, damaged or foreign state file is logged, set
aside as FILE.bad and ignored."""

import os
import unittest

import chatdtest as ct

KEEPER = r"""
local kept = chat.keep { count = 0, words = {} }
kept.loads = (kept.loads or 0) + 1

chat.command("bump", "", function(user, word)
    kept.count = kept.count + 1
    kept.words[#kept.words + 1] = word
    user:send("count " .. kept.count)
end)

chat.command("show", "", function(user)
    user:send("count " .. kept.count .. " loads " .. kept.loads ..
        " words " .. table.concat(kept.words, ","))
end)

chat.command("put", "", function(user, v)
    user.data.v = v
    user:send("put " .. v)
end)

chat.command("get", "", function(user)
    user:send("get " .. tostring(user.data.v))
end)

chat.command("bad", "", function(user)
    kept.f = function() end
    user:send("bad")
end)

chat.command("big", "", function(user, n)
    kept.big = string.rep("x", tonumber(n))
    user:send("big")
end)
"""

# Keeps nothing: its user.data goes on a reload, as before chat.keep.
FORGETFUL = r"""
chat.command("put2", "", function(user, v)
    user.data.v = v
    user:send("put2 " .. v)
end)
chat.command("get2", "", function(user)
    user:send("get2 " .. tostring(user.data.v))
end)
"""


def server(state_file=None, limit=None):
    lua = {}
    if state_file is not None:
        lua["state_file"] = state_file
    if limit is not None:
        lua["state_limit"] = limit
    return ct.PluginServer(plugins={"50-keeper.lua": KEEPER,
                                    "60-forgetful.lua": FORGETFUL},
                           config={"lua": lua})


class ReloadTests(unittest.TestCase):

    def setUp(self):
        self.srv = server(limit=4096).start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client()

    def reload(self):
        ok, line = self.srv.reload()
        self.assertTrue(ok, line)

    def test_kept_table_and_user_data_survive_a_reload(self):
        self.assertEqual(self.a.ask("bump|one"), "count 1")
        self.assertEqual(self.a.ask("bump|two"), "count 2")
        self.assertEqual(self.a.ask("put|here"), "put here")
        self.assertEqual(self.a.ask("put2|gone"), "put2 gone")
        self.reload()
        self.assertEqual(self.a.ask("show"), "count 2 loads 2 words one,two")
        self.assertEqual(self.a.ask("get"), "get here")
        self.assertEqual(self.a.ask("get2"), "get2 nil")
        self.reload()
        self.assertEqual(self.a.ask("show"), "count 2 loads 3 words one,two")

    def test_a_user_who_left_takes_its_data_along(self):
        b = self.srv.client()
        self.a.expect("* %s joined" % b.name)
        self.assertEqual(b.ask("put|b's"), "put b's")
        b.close()
        self.a.expect_match(r"\* \S+ left")
        self.reload()
        c = self.srv.client()
        self.assertEqual(c.ask("get"), "get nil")

    def test_a_function_is_not_kept(self):
        self.assertEqual(self.a.ask("bump|one"), "count 1")
        self.assertEqual(self.a.ask("bad"), "bad")
        m0 = self.srv.mark()
        self.reload()
        self.srv.wait_log(r"lua: \S+50-keeper\.lua: its kept state is not "
                          r"handed on: a function \(only strings, numbers, "
                          r"booleans and tables of those are kept\); it "
                          r"starts afresh", after=m0)
        self.assertEqual(self.a.ask("show"), "count 0 loads 1 words ")

    def test_state_limit_bounds_what_is_kept(self):
        self.assertEqual(self.a.ask("big|3000"), "big")
        self.reload()
        self.assertEqual(self.a.ask("show"), "count 0 loads 2 words ")
        self.assertEqual(self.a.ask("big|5000"), "big")
        m0 = self.srv.mark()
        self.reload()
        self.srv.wait_log(r"50-keeper\.lua: its kept state is not handed "
                          r"on: (more than state_limit bytes|a string over "
                          r"state_limit)", after=m0)
        self.assertEqual(self.a.ask("show"), "count 0 loads 1 words ")


class RestartTests(unittest.TestCase):

    def setUp(self):
        self.dir = ct.mkdtemp()
        self.path = os.path.join(self.dir, "state")

    def run_once(self, *lines):
        """Start chatd on the state file, ask each (line, answer), stop."""
        srv = server(self.path).start()
        try:
            c = srv.client()
            for line, want in lines:
                self.assertEqual(c.ask(line), want)
        finally:
            srv.stop()
        return srv

    def test_kept_table_survives_a_restart(self):
        srv = self.run_once(("bump|one", "count 1"), ("put|x", "put x"))
        self.assertRegex(srv.log_text(), r"state_file \S+: none yet")
        self.assertTrue(os.path.exists(self.path))
        self.assertEqual([f for f in os.listdir(self.dir)], ["state"])
        srv = self.run_once(("show", "count 1 loads 2 words one"),
                            ("get", "get nil"))   # no user is who it was
        self.assertRegex(srv.log_text(), r"state_file \S+: read \(1 plugins\)")

    def broken(self, damage, why):
        self.run_once(("bump|one", "count 1"), ("bump|two", "count 2"))
        with open(self.path, "rb") as f:
            data = f.read()
        with open(self.path, "wb") as f:
            f.write(damage(data))
        srv = self.run_once(("show", "count 0 loads 1 words "))
        self.assertRegex(srv.log_text(), r"state_file %s: %s; ignored \(kept "
                         r"as %s\.bad\), the plugins start afresh"
                         % (self.path, why, self.path))
        with open(self.path + ".bad", "rb") as f:
            self.assertEqual(f.read(), damage(data))
        # and the file written at that stop is whole again
        self.run_once(("show", "count 0 loads 2 words "))

    def test_truncated_file(self):
        self.broken(lambda d: d[:len(d) - 5], "truncated")

    def test_truncated_to_the_magic(self):
        self.broken(lambda d: d[:13], "truncated")

    def test_garbage(self):
        junk = os.urandom(200)
        self.broken(lambda d: junk, "not a chatd state file")

    def test_another_version(self):
        self.broken(lambda d: d[:11] + b"\x07" + d[12:],
                    "a state file of another version of chatd")

    def test_a_flipped_byte(self):
        def flip(d):
            i = d.index(b"one")
            return d[:i] + b"onf" + d[i + 3:]
        self.broken(flip, r"damaged \(its checksum does not match\)")

    def test_kept_table_survives_an_upgrade(self):
        srv = server(self.path).start()
        try:
            c = srv.client()
            self.assertEqual(c.ask("bump|one"), "count 1")
            ok, line = srv.upgrade()
            self.assertTrue(ok, line)
            c.expect_match(r"\* server upgraded to chatd \S+")
            self.assertEqual(c.ask("show"), "count 1 loads 2 words one")
        finally:
            srv.stop()

    def test_config_check_knows_the_keys(self):
        r, _ = ct.run_check({"50-keeper.lua": KEEPER},
                            config=ct.merge_config(ct.PluginServer.DEFAULTS, {
                                "lua": {"state_file": self.path,
                                        "state_limit": 10}}))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("state_limit", r.stderr + r.stdout)


if __name__ == "__main__":
    ct.main()
