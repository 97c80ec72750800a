#!/usr/bin/env python3
"""Errors in plugins: the user who triggered one gets "! internal error",
the log gets "lua: FILE:LINE: message" and a traceback, nobody else is
affected."""

import unittest

import chatdtest as ct

# Line numbers matter: "boom" is raised on line 4 of this file.
BROKEN = r"""
local function deep(x)
    local t = nil
    return t.field .. x
end

chat.command("boom", "", function(user)
    user:send("about to fail")
    deep("y")
    user:send("not reached")
end)

chat.command("raise", "", function(user)
    error("custom failure")
end)

chat.command("raisetable", "", function(user)
    error({code = 42})
end)

chat.command("raisemeta", "", function(user)
    error(setmetatable({}, {__tostring = function() return "meta error" end}))
end)

chat.command("caught", "", function(user)
    local ok, err = pcall(error, "inside pcall")
    user:send("caught " .. tostring(ok) .. " " .. tostring(err))
end)

chat.on("chat", function(user, text)
    if text == "explode" then error("chat hook exploded") end
    chat.broadcast("[" .. user.name .. "] " .. text)
end)
""" + ct.SYNC_PLUGIN

# A join hook that fails for one user; another plugin's join hook (and the
# leave hooks) still run.
JOIN_FAIL = r"""
local n = 0
chat.on("join", function(user)
    n = n + 1
    if n == 2 then error("join hook failed for " .. user.name) end
end)
chat.on("leave", function(user, reason)
    if reason == "quit" then error("leave hook failed") end
end)
"""
JOIN_LATER = r"""
chat.on("join", function(user) user:send("later join hook ran") end)
chat.command{name = "quit", replaces = true,
             run = function(user) user:close("quit") end}
"""


class CommandErrorTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-broken.lua": BROKEN}, room=False)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client(join=False)
        self.b = self.srv.client(join=False)

    def test_runtime_error_in_command(self):
        m = self.srv.mark()
        self.a.sendline("boom")
        self.a.expect("about to fail")
        self.a.expect("! internal error")
        log = self.srv.wait_log(r"error: lua: (\S*50-broken\.lua):4: attempt "
                                r"to index a nil value \(local 't'\)"
                                r"(.*)\n", after=m)
        self.assertEqual(log.group(1), self.srv.plugin_path("50-broken.lua"))
        # the traceback, escaped onto the same log line
        self.assertIn("\\nstack traceback:", log.group(2))
        self.assertRegex(log.group(2), r"50-broken\.lua:9: in function")
        # only the sender was told; both go on
        self.assertEqual(self.b.sync("b"), ["_sync b"])
        self.a.sendline("hello")
        self.a.expect("[%s] hello" % self.a.name)
        self.b.expect("[%s] hello" % self.a.name)

    def test_error_with_string_message(self):
        m = self.srv.mark()
        self.assertEqual(self.a.ask("raise"), "! internal error")
        self.srv.wait_log(r"error: lua: \S*50-broken\.lua:14: custom failure"
                          r"\\nstack traceback:", after=m)

    def test_error_with_non_string_values(self):
        m = self.srv.mark()
        self.assertEqual(self.a.ask("raisetable"), "! internal error")
        self.srv.wait_log(r"error: lua: \(error object is a table value\)",
                          after=m)
        self.assertEqual(self.a.ask("raisemeta"), "! internal error")
        self.srv.wait_log(r"error: lua: meta error", after=m)

    def test_pcall_inside_plugin_catches(self):
        m = self.srv.mark()
        self.assertEqual(self.a.ask("caught"), "caught false inside pcall")
        self.assertEqual(self.a.sync("c"), ["_sync c"])
        self.assertNotIn("error: lua:", self.srv.log_text()[m:])

    def test_error_in_chat_hook(self):
        m = self.srv.mark()
        self.assertEqual(self.a.ask("explode"), "! internal error")
        self.srv.wait_log(r"error: lua: \S*50-broken\.lua:\d+: chat hook "
                          r"exploded", after=m)
        self.assertEqual(self.b.sync("b"), ["_sync b"])
        self.b.sendline("fine")
        self.a.expect("[%s] fine" % self.b.name)
        self.b.expect("[%s] fine" % self.b.name)

    def test_many_errors_do_not_hurt(self):
        for i in range(50):
            self.a.sendline("raise")
        for i in range(50):
            self.a.expect("! internal error")
        self.assertEqual(self.b.ask("caught"), "caught false inside pcall")


class HookErrorTests(unittest.TestCase):

    def test_error_in_join_hook(self):
        with ct.PluginServer(plugins={"05-joinfail.lua": JOIN_FAIL,
                             "60-later.lua": JOIN_LATER}, room=True) as srv:
            a = srv.client()
            a.expect("later join hook ran")
            m = srv.mark()
            b = srv.client()          # the room's welcome still came
            # the later plugin's hook ran, then b alone is told
            b.expect("later join hook ran")
            b.expect("! internal error")
            srv.wait_log(r"error: lua: \S*05-joinfail\.lua:5: join hook "
                         r"failed for %s\\nstack traceback:"
                         % b.name.replace(".", r"\."), after=m)
            a.expect("* %s joined" % b.name)
            # b is a normal user
            b.sendline("hi")
            a.expect("[%s]: hi" % b.name)
            b.expect("[%s]: hi" % b.name)
            a.no_line(0.2)

    def test_error_in_leave_hook(self):
        with ct.PluginServer(plugins={"05-joinfail.lua": JOIN_FAIL,
                             "60-later.lua": JOIN_LATER}, room=True) as srv:
            a = srv.client()
            a.expect("later join hook ran")
            srv.client().read_until("! internal error")  # the second join fails
            c = srv.client()
            c.expect("later join hook ran")
            a.read_until("* %s joined" % c.name)
            m = srv.mark()
            c.sendline("quit")
            c.expect_closed()
            srv.wait_log(r"error: lua: \S*05-joinfail\.lua:8: leave hook "
                         r"failed", after=m)
            # the room's leave hook (10) ran after the failed one (05)
            a.expect("* %s left" % c.name)
            srv.wait_log(r"client \d+ \(%s\) left: quit"
                         % c.name.replace(".", r"\."), after=m)


if __name__ == "__main__":
    ct.main()
