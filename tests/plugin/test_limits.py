#!/usr/bin/env python3
"""[lua] max_instructions stops runaway plugins, even ones that catch the
error; [lua] memory_limit stops memory bombs.  The server lives on."""

import unittest
import time

import chatdtest as ct

RUNAWAY = r"""
chat.command("spin", "", function(user)
    user:send("spinning")
    while true do end
end)

chat.command("spincatch", "", function(user)
    user:send("spinning with pcall")
    while true do pcall(function() while true do end end) end
end)

chat.command("spinco", "", function(user)
    user:send("spinning in coroutines")
    while true do
        local co = coroutine.create(function() while true do end end)
        coroutine.resume(co)
    end
end)

chat.command("spinwrap", "", function(user)
    user:send("spinning in a wrapped coroutine")
    local f = coroutine.wrap(function()
        while true do pcall(function() while true do end end) end
    end)
    pcall(f)
    while true do end
end)

chat.command("count", "", function(user, n)
    local s = 0
    for i = 1, tonumber(n) do s = s + i end
    user:send("count " .. s)
end)

chat.on("line", function(user, text)
    if text == "spinhook" then while true do end end
end)

local spins = 0
chat.command("spintimer", "", function(user)
    chat.timer(0.05, function()
        spins = spins + 1
        while true do end
    end)
    user:send("timer armed")
end)
chat.command("spins", "", function(user) user:send("spins " .. spins) end)

chat.on("chat", function(user, text)
    chat.broadcast("[" .. user.name .. "] " .. text)
end)
""" + ct.SYNC_PLUGIN

# The message may lack a "FILE:LINE: " prefix (the error is raised from
# the count hook); the traceback names the plugin.
LIMIT_RE = (r"error: lua: (\S*50-runaway\.lua:\d+: )?instruction limit "
            r"exceeded \(max_instructions = 100000\)\\nstack traceback:"
            r"\\n\\t\S*50-runaway\.lua:\d+:")


class RunawayTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-runaway.lua": RUNAWAY}, room=False)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client(join=False)
        self.b = self.srv.client(join=False)

    def stopped(self, command, first=None, timeout=5, b_first=None):
        m = self.srv.mark()
        t0 = time.monotonic()
        self.a.sendline(command)
        if first is not None:
            self.a.expect(first, timeout)
        self.a.expect("! internal error", timeout)
        self.assertLess(time.monotonic() - t0, timeout)
        self.srv.wait_log(LIMIT_RE, after=m)
        self.assertTrue(self.srv.alive())
        # the others chat on, and so does a
        if b_first is not None:
            self.b.expect(b_first)
        self.b.sendline("still here")
        self.a.expect("[%s] still here" % self.b.name)
        self.b.expect("[%s] still here" % self.b.name)
        self.a.sendline("me too")
        self.a.expect("[%s] me too" % self.a.name)
        self.b.expect("[%s] me too" % self.a.name)

    def test_plain_loop(self):
        self.stopped("spin", "spinning")

    def test_loop_catching_the_error_with_pcall(self):
        self.stopped("spincatch", "spinning with pcall")

    def test_loop_in_fresh_coroutines(self):
        self.stopped("spinco", "spinning in coroutines")

    def test_loop_in_wrapped_coroutine(self):
        self.stopped("spinwrap", "spinning in a wrapped coroutine")

    def test_loop_in_line_hook(self):
        # Each hook has a budget of its own: the chat hook after the
        # line hook that spun still broadcasts the line, to all.
        said = "[%s] spinhook" % self.a.name
        self.stopped("spinhook", said, b_first=said)

    def test_loop_in_timer(self):
        m = self.srv.mark()
        self.assertEqual(self.a.ask("spintimer"), "timer armed")
        self.srv.wait_log(LIMIT_RE, after=m)
        self.assertEqual(self.a.ask("spins"), "spins 1")
        self.assertEqual(self.b.sync("b"), ["_sync b"])

    def test_budget_is_per_call(self):
        # 40000 loop iterations (~4 instructions each) stay under 100000 ...
        self.assertEqual(self.a.ask("count|20000"), "count 200010000")
        # ... the budget starts afresh after a runaway call ...
        self.stopped("spin", "spinning")
        self.assertEqual(self.a.ask("count|20000"), "count 200010000")
        # ... and a call that needs more is stopped
        self.assertEqual(self.a.ask("count|1000000"), "! internal error")

    def test_repeated_runaways(self):
        for _ in range(10):
            self.a.sendline("spincatch")
        got = [l for l in self.a.read_until(
            lambda l: self.a.history.count("! internal error") == 10,
            timeout=20) if l == "! internal error"]
        self.assertEqual(len(got), 10)
        self.assertEqual(self.b.sync("b"), ["_sync b"])


MEMORY = r"""
chat.command("bomb", "", function(user)
    user:send("bombing")
    local t = {} while true do t[#t+1] = string.rep("x", 1e6) .. #t end
end)

chat.command("bombcatch", "", function(user)
    local t = {}
    local ok, err = pcall(function()
        while true do t[#t+1] = string.rep("x", 1e6) .. #t end
    end)
    local n = #t
    t = nil
    user:send("bombcatch " .. tostring(ok) .. " " .. tostring(err))
end)

chat.command("bigrep", "", function(user)
    local s = string.rep("x", 1e9)
    user:send("bigrep " .. #s)
end)

chat.command("keep", "", function(user)
    -- keep about 10 MB alive in a global, then bomb on top of it
    hoard = {}
    for i = 1, 10 do hoard[i] = string.rep("k", 1e6) .. i end
    user:send("kept " .. #hoard)
end)

chat.command("drop", "", function(user)
    hoard = nil
    user:send("dropped")
end)

chat.command("small", "", function(user)
    local t = {}
    for i = 1, 1000 do t[i] = ("y"):rep(100) .. i end
    user:send("small " .. #t)
end)

chat.on("chat", function(user, text)
    chat.broadcast("[" .. user.name .. "] " .. text)
end)
""" + ct.SYNC_PLUGIN

MEMORY_LIMIT = 16777216


class MemoryTests(unittest.TestCase):

    def setUp(self):
        # (max_time: filling the heap takes longer than a call may)
        self.srv = ct.PluginServer(plugins={"50-memory.lua": MEMORY}, room=False,
                          config={"lua": {"memory_limit": MEMORY_LIMIT,
                                          "max_time": 10000}})
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client(join=False)
        self.b = self.srv.client(join=False)
        # 200 MB, or under ASan (shadow memory, quarantine) its baseline
        # plus as much again, plus the quarantine (256 MiB by default):
        # each bomb's garbage is collected and freed, and ASan keeps what
        # is freed for a while
        self.rss_cap = 200 * 1024
        if ct.is_sanitized():
            self.rss_cap += self.srv.rss_kb() + 256 * 1024

    def check_alive(self):
        self.assertTrue(self.srv.alive())
        self.assertLess(self.srv.rss_kb(), self.rss_cap)
        self.b.sendline("after")
        self.a.expect("[%s] after" % self.b.name)
        self.b.expect("[%s] after" % self.b.name)

    def test_memory_bomb(self):
        m = self.srv.mark()
        self.a.sendline("bomb")
        self.a.expect("bombing")
        self.a.expect("! internal error", timeout=10)
        self.srv.wait_log(r"error: lua: not enough memory", after=m)
        self.check_alive()

    def test_memory_bomb_repeated(self):
        for i in range(5):
            self.a.sendline("bomb")
            self.a.expect("bombing")
            self.a.expect("! internal error", timeout=10)
            self.assertLess(self.srv.rss_kb(), self.rss_cap)
        self.check_alive()
        # the state recovered its memory: ordinary work goes on
        self.assertEqual(self.a.ask("small"), "small 1000")

    def test_memory_bomb_caught_by_pcall(self):
        line = self.a.ask("bombcatch", timeout=10)
        self.assertEqual(line, "bombcatch false not enough memory")
        self.check_alive()

    def test_single_huge_allocation(self):
        self.assertEqual(self.a.ask("bigrep", timeout=10), "! internal error")
        self.check_alive()

    def test_bomb_on_top_of_kept_memory(self):
        self.assertEqual(self.a.ask("keep"), "kept 10")
        self.a.sendline("bomb")
        self.a.expect("bombing")
        self.a.expect("! internal error", timeout=10)
        # with 10 of 16 MB held, even small work may fail; drop it
        self.assertEqual(self.a.ask("drop"), "dropped")
        self.assertEqual(self.a.ask("small"), "small 1000")
        self.check_alive()


if __name__ == "__main__":
    ct.main()
