#!/usr/bin/env python3
"""Plugins written to hurt the room, as an operator trying chatd's promise
would write them: each hostile case must fail in the plugin alone, while
the room keeps answering a bystander within 100 ms (chatd-lua(7),
"What is protected")."""

import time
import unittest

import chatdtest as ct

BYSTANDER_MS = 100


class Hostile(unittest.TestCase):
    """A server with the test's plugins and the default room."""

    PLUGINS = {}
    CONFIG = None

    def setUp(self):
        self.srv = ct.PluginServer(plugins=dict(self.PLUGINS,
                                   **{"99-sync.lua": ct.SYNC_PLUGIN}),
                                   config=self.CONFIG)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.by = self.srv.client()

    def bystander_answered(self):
        """The bystander's round trip, in ms, asserted under the bound."""
        t0 = time.monotonic()
        self.by.sync("by")
        ms = (time.monotonic() - t0) * 1000
        self.assertLess(ms, BYSTANDER_MS, "the room took %.0f ms" % ms)
        return ms


METATABLES = r"""
local function try(f, ...)
    local ok, e = pcall(f, ...)
    return ok and "ok" or tostring(e):gsub("^.-:%d+: ", "")
end
local spin = function() while true do end end

chat.command("mt", "", function(user)
    local t = chat.timer(100, function() end)
    user:send("mt " .. tostring(getmetatable(user)) .. " " ..
        tostring(getmetatable(t)) .. " " .. tostring(getmetatable("")) ..
        " " .. tostring(getmetatable(chat.config)))
    t:cancel()
end)

-- The attack of defect 1: a finalizer on every user handle, or on every
-- timer handle, that chatd would run outside the instruction budget.
chat.command("gc", "", function(user)
    user:send("gc " .. try(function()
        local mt = getmetatable(user)
        mt.__gc = spin
    end) .. " " .. try(function()
        getmetatable(chat.timer(100, spin)).__gc = spin
    end) .. " " .. try(function()
        getmetatable("").__index = {}
    end) .. " " .. try(setmetatable, user, {}))
end)

-- Defect 5: chat.config cannot be changed, not even with rawset.
chat.command("cfg", "", function(user)
    user:send("cfg " .. try(rawset, chat.config, "server", {}) .. " " ..
        try(rawset, chat.config.server, "port", 1) .. " " ..
        try(function() chat.config.server.port = 1 end) .. " " ..
        try(table.insert, chat.config.server, 1) .. " " ..
        tostring(chat.config.server.port))
end)
"""


class MetatableTests(Hostile):
    """Defect 1: no metatable chatd made is handed to a plugin; defect 5:
    chat.config is read-only to rawset too."""

    PLUGINS = {"50-mt.lua": METATABLES}

    def test_metatables_are_hidden(self):
        self.assertEqual(self.by.ask("mt"), "mt false false false false")

    def test_no_finalizer_can_be_added(self):
        line = self.by.ask("gc")
        self.assertRegex(line, r"^gc attempt to index a boolean value.* "
                         r"attempt to index a boolean value.* "
                         r"attempt to index a boolean value.* "
                         r"bad argument #1 to 'setmetatable' \(table "
                         r"expected, got chatd.user\)$")
        # handles made after the attempt are not finalized either: a
        # thousand joins and leaves, then a bystander
        for _ in range(3):
            c = self.srv.client()
            c.close()
        self.bystander_answered()
        # and SIGTERM ends the server at once (stop() checks the status)
        t0 = time.monotonic()
        self.srv.stop()
        self.assertLess(time.monotonic() - t0, 2)

    def test_config_is_read_only_to_rawset(self):
        line = self.by.ask("cfg")
        self.assertRegex(line, r"^cfg .*read-only.* .*read-only.* "
                         r".*read-only.* .*read-only.* 0$")


# Defect 2: a plugin set that fails to load, whose main chunk first does
# all it can to the users online.
SIDE_EFFECTS = r"""
local refused = {}
local function try(f, ...)
    local ok, e = pcall(f, ...)
    refused[#refused + 1] = ok and "DONE" or e:match("[%w.:_]+ may not")
end
for _, u in ipairs(chat.users()) do
    try(u.rename, u, "hacked" .. u.id)
    try(u.send, u, "gotcha")
    try(u.close, u, "kicked")
end
try(chat.broadcast, "boom")
try(chat.local_broadcast, "boom")
error("this plugin set does not load: " .. table.concat(refused, ", "))
"""


class FailedReloadTests(Hostile):
    """Defect 2: a reload that fails changes nothing anyone can see."""

    def test_failed_reload_has_no_side_effects(self):
        a = self.srv.client()
        self.by.sync("joined")
        self.by.drain()
        self.srv.add_plugin("60-sneaky.lua", SIDE_EFFECTS)
        ok, line = self.srv.reload()
        self.assertFalse(ok, line)
        self.assertIn("this plugin set does not load", line)
        # nobody was told, renamed or closed: the next lines are the
        # answers to what is asked now
        self.assertEqual(a.ask("_sync|a"), "_sync a")
        self.assertEqual(self.by.ask("_sync|b"), "_sync b")
        self.assertEqual(a.ask("who"), "* online (2):")
        rows = [a.line(), a.line()]
        self.assertEqual(sorted(r.split()[1] for r in rows),
                         sorted([a.name, self.by.name]))
        self.bystander_answered()
        self.assertIn("does not load: " + ", ".join(
            "%s may not" % w for w in
            ["user:rename", "user:send", "user:close"] * 2 +
            ["chat.broadcast", "chat.local_broadcast"]),
            line)


# Defect 4: after a plugin hits memory_limit, the garbage it left is
# collected before the next allocation is refused.
MEMORY = r"""
chat.command("bomb", "", function(user)
    local ok, e = pcall(function()
        local t = {}
        while true do t[#t + 1] = ("x"):rep(100000) .. #t end
    end)
    user:send("bomb " .. tostring(e))
end)
chat.command("big", "", function(user, n)
    local ok, e = pcall(function()
        return ("y"):rep(tonumber(n)) .. table.concat({"a", "b"}) ..
            ("%s"):format(("z"):rep(tonumber(n)))
    end)
    user:send("big " .. (ok and #e or tostring(e)))
end)
"""


class MemoryTests(Hostile):
    """Defect 4: memory is reclaimed right after a memory-limit error."""

    PLUGINS = {"50-memory.lua": MEMORY}
    CONFIG = {"lua": {"memory_limit": 4 << 20, "max_instructions": 10 ** 7,
                      "max_time": 10000}}

    def test_garbage_is_collected_before_refusing(self):
        self.assertEqual(self.by.ask("bomb"), "bomb not enough memory")
        for n in (1000, 70000, 1000000):
            with self.subTest(n=n):
                self.assertEqual(self.by.ask("big|%d" % n),
                                 "big %d" % (2 * n + 2))
        self.bystander_answered()


# One environment per plugin: the breakage an accidental global or a
# "clean-up" of a library table caused in the other plugins when tried.
CARELESS = r"""
config = "careless"             -- an accidental global
table = nil                     -- every join used table.concat
print = nil
load("loaded = 1")()            -- load's chunks get this plugin's globals
local function try(f)
    local ok, e = pcall(f)
    return ok and "ok" or tostring(e):gsub("^.-:%d+: ", "")
end
local results = {
    try(function() string.rep = nil end),
    try(function() chat.broadcast = nil end),
    try(function() math.pi = 3 end),
    try(function() local _, t = pairs(string); t.rep = nil end),
    try(function() rawset(os, "time", nil) end),
}
chat.command("careless", "", function(user)
    user.data.mine = "careless"
    user:send("careless " .. table.concat(results, "; ") .. " " ..
        tostring(config) .. " " .. tostring(loaded))
end)
"""

CAREFUL = r"""
chat.command("careful", "", function(user)
    user:send("careful " .. tostring(config) .. " " .. tostring(loaded) ..
        " " .. tostring(user.data.mine) .. " " .. type(table) .. " " ..
        type(print) .. " " .. ("ab"):rep(2) .. " " ..
        tostring(_G == _ENV) .. " " .. tostring(getmetatable(_ENV)))
end)
"""


class EnvironmentTests(Hostile):
    """Each plugin has its own globals and user.data; the chat table and
    the standard library tables are read-only."""

    PLUGINS = {"50-careless.lua": CARELESS, "60-careful.lua": CAREFUL}

    def test_globals_are_per_plugin(self):
        self.assertEqual(self.by.ask("careless"),
                         "careless string is read-only; chat is read-only; "
                         "math is read-only; string is read-only; "
                         "os is read-only careless 1")
        self.assertEqual(self.by.ask("careful"),
                         "careful nil nil nil table function abab true "
                         "false")
        # joins still work: the room's table.concat was not touched
        c = self.srv.client()
        self.by.expect("* %s joined" % c.name)
        self.bystander_answered()


# A budget per hook: a heavy join hook, loaded before the room, must not
# leave the room's own hooks without (when tried, the chat broadcast that
# followed a heavy line hook failed, so a line reached nobody).
HEAVY = r"""
local function heavy()          -- 60% of max_instructions: 2 each
    local n = 0
    for i = 1, 300000 do n = n + 1 end
end
for _ = 1, 2 do
    chat.on("line", function(user, text)
        if text:find("heavy") then heavy() end
    end)
    chat.on("join", heavy)
end
"""


class HeavyHookTests(Hostile):
    """One hook's budget is its own, not the event's."""

    PLUGINS = {"05-heavy.lua": HEAVY}
    CONFIG = {"lua": {"max_instructions": 10 ** 6, "max_time": 10000,
                      "slow_call": 0}}

    def test_a_heavy_hook_leaves_the_others_their_budget(self):
        c = self.srv.client()     # its join hooks all ran: the welcome
        self.by.expect("* %s joined" % c.name)
        c.sendline("a heavy line")
        for x in (c, self.by):
            x.expect("[%s]: a heavy line" % c.name)
        c.no_line(0.1)
        self.assertNotIn("error", self.srv.log_text())
        self.bystander_answered()


# A time budget: few instructions, each a slow C call; and the log line
# for a slow call.
SLOW = r"""
chat.command("slow", "", function(user)
    user:send("slow")
    local s = ("x"):rep(1 << 20)
    while true do s:upper() end         -- ~0.3 ms a call, 5 instructions
end)
chat.command("sluggish", "", function(user)
    local n = 0
    for i = 1, 400000 do n = n + i end  -- a few ms
    user:send("sluggish done")
end)
"""


class TimeBudgetTests(Hostile):
    """[lua] max_time stops a call that runs long on few instructions;
    [lua] slow_call logs one that runs long but finishes."""

    PLUGINS = {"50-slow.lua": SLOW}
    CONFIG = {"lua": {"max_instructions": 10 ** 9, "max_time": 100,
                      "slow_call": 10, "memory_limit": 64 << 20}}

    def test_time_limit(self):
        m = self.srv.mark()
        t0 = time.monotonic()
        self.by.sendline("slow")
        self.by.expect("slow")
        self.by.expect("! internal error")
        self.assertLess(time.monotonic() - t0, 1)
        self.srv.wait_log(r"50-slow\.lua:\d+: time limit exceeded "
                          r"\(max_time = 100 ms\)", after=m)
        self.srv.wait_log(r"warn: lua: slow call: 50-slow\.lua command "
                          r"slow ran \d+\.\d ms \(slow_call = 10 ms\)",
                          after=m)
        self.bystander_answered()



class SlowCallTests(Hostile):
    """[lua] slow_call logs a call that ran long but finished."""

    PLUGINS = {"50-slow.lua": SLOW}
    CONFIG = {"lua": {"max_instructions": 10 ** 9, "max_time": 10000,
                      "slow_call": 1}}

    def test_slow_call_is_logged(self):
        m = self.srv.mark()
        self.assertEqual(self.by.ask("sluggish"), "sluggish done")
        line = self.srv.wait_log(r"lua: slow call: 50-slow\.lua command "
                                 r"sluggish ran (\d+)\.\d ms \(slow_call "
                                 r"= 1 ms\)", after=m)
        self.assertGreaterEqual(int(line.group(1)), 1)


# The circuit breaker and the log's rate limit: a timer failing every
# millisecond.
FLAKY = r"""
chat.every(0.001, function() error("flaky timer") end)
chat.command("flaky", "", function(user) error("flaky command") end)
"""


class BreakerTests(Hostile):
    """A function failing breaker_errors times in breaker_window seconds
    is switched off, until reload."""

    PLUGINS = {"50-flaky.lua": FLAKY}
    CONFIG = {"lua": {"breaker_errors": 5, "breaker_window": 60}}

    def test_switched_off_until_reload(self):
        self.srv.wait_log(r"error: lua: \S*50-flaky\.lua: every switched "
                          r"off after 5 errors in 60 s; a reload switches "
                          r"it back on")
        for _ in range(5):
            self.assertEqual(self.by.ask("flaky"), "! internal error")
        self.srv.wait_log(r"50-flaky\.lua: command flaky switched off")
        self.assertEqual(self.by.ask("flaky"), "! internal error")
        time.sleep(0.1)
        log = self.srv.log_text()
        self.assertEqual(log.count("flaky timer"), 5)
        self.assertEqual(log.count("flaky command"), 5)
        self.bystander_answered()
        ok, _ = self.srv.reload()
        self.assertTrue(ok)
        m = self.srv.mark()
        self.assertEqual(self.by.ask("flaky"), "! internal error")
        self.srv.wait_log(r"flaky command", after=m)


class LogRateTests(Hostile):
    """Without the breaker, the plugins' log lines are rate-limited."""

    PLUGINS = {"50-flaky.lua": FLAKY}
    CONFIG = {"lua": {"breaker_errors": 0}}

    def test_errors_are_rate_limited(self):
        time.sleep(1.0)
        self.srv.wait_log(r"warn: lua: \d+ lines from the plugins were not "
                          r"logged \(more than 10 a second\)")
        n = self.srv.log_text().count("flaky timer")
        self.assertGreater(n, 40)
        self.assertLess(n, 80)      # 50 at once, then 10 a second
        self.bystander_answered()


# The stalling pattern: Lua's matcher would backtrack for an estimated
# 28 minutes in this one call; the sandbox's counts its steps.
PATTERNS = r"""
chat.command("stall", "", function(user)
    user:send("stalling")
    local ok, e = pcall(string.find, ("a"):rep(28), ("a-"):rep(14) .. "b")
    user:send("stall " .. tostring(e))
end)
chat.command("stallgsub", "", function(user)
    user:send("gsubbing")
    local s = ("x"):rep(1 << 20)
    local ok, e = pcall(function()
        for i = 1, 40 do s:gsub("x", "yy") end
    end)
    user:send("stallgsub " .. tostring(ok))
end)
chat.command("patterns", "", function(user)
    local k, v = ("key=value"):match("(%w+)=(%w+)")
    local words = {}
    for w in ("one two  three"):gmatch("%a+") do words[#words + 1] = w end
    user:send(table.concat({"patterns", k, v, #words,
        (("hello"):gsub("l", "L")), ("x.y"):find(".", 1, true)}, " "))
end)
"""


class PatternTests(Hostile):
    """Patterns run on the call's budget."""

    PLUGINS = {"50-patterns.lua": PATTERNS}
    CONFIG = {"lua": {"max_time": 50, "max_instructions": 10 ** 8}}

    def stopped(self, command, first):
        # the error is raised again at the next instruction, so the
        # plugin cannot go on after its pcall: the user is told
        m = self.srv.mark()
        t0 = time.monotonic()
        self.assertEqual(self.by.ask(command), first)
        self.assertEqual(self.by.line(), "! internal error")
        self.assertLess(time.monotonic() - t0, 1)
        self.srv.wait_log(r"error: lua: \S*50-patterns\.lua:\d+: time "
                          r"limit exceeded \(max_time = 50 ms\)", after=m)
        self.bystander_answered()

    def test_stalling_pattern_is_stopped(self):
        self.stopped("stall", "stalling")

    def test_gsub_on_a_big_string_is_stopped(self):
        self.stopped("stallgsub", "gsubbing")

    def test_patterns_work(self):
        self.assertEqual(self.by.ask("patterns"),
                         "patterns key value 3 heLLo 2 2")


# The mass send: a single 1 MB chat.broadcast dropped every user as too
# slow when tried.
MASS = r"""
chat.command("mass", "", function(user)
    local ok, why = chat.broadcast(("x"):rep(1 << 20))
    local ok2, why2 = user:send(("y"):rep(1 << 20))
    user:send(table.concat({"mass", tostring(ok), why, tostring(ok2), why2,
        tostring(user.queued)}, " "))
end)
chat.command("fits", "", function(user)
    local ok = chat.broadcast(("z"):rep(1000))
    user:send("fits " .. tostring(ok) .. " " .. tostring(user:send("w")))
end)
chat.command("counters", "", function(user)
    local out = {}
    for _, p in ipairs(chat.plugins()) do
        out[#out + 1] = p.file .. "=" .. p.calls .. "/" .. p.errors ..
            "/" .. type(p.seconds) .. "/" .. p.switched_off
    end
    user:send("counters " .. table.concat(out, " ") .. " " ..
        math.type(chat.stats().lua_memory))
end)
chat.command("oops", "", function(user) error("oops") end)
"""


class MassSendTests(Hostile):
    """A line that can never fit is refused to the plugin; nobody is
    dropped; user:send says whether it queued."""

    PLUGINS = {"50-mass.lua": MASS}

    def test_mass_send_is_refused(self):
        others = [self.srv.client() for _ in range(3)]
        for c in others + [self.by]:
            c.sync("joined")        # past the join notices

        self.assertEqual(self.by.ask("mass"),
                         "mass false line too long (1048576 bytes; at most "
                         "262142) false line too long (1048576 bytes; at "
                         "most 262142) 0".replace("false", "nil"))
        self.assertEqual(self.by.ask("fits"), "z" * 1000)
        self.assertEqual(self.by.line(), "w")
        self.assertEqual(self.by.line(), "fits true true")
        for c in others:
            c.expect("z" * 1000)
            self.assertEqual(c.ask("_sync|x"), "_sync x")
        self.assertNotIn("dropping it", self.srv.log_text())
        self.bystander_answered()

    def test_counters(self):
        self.assertEqual(self.by.ask("oops"), "! internal error")
        line = self.by.ask("counters")
        self.assertRegex(line, r"^counters 10-room\.lua=\d+/0/number/0 "
                         r"20-commands\.lua=\d+/0/number/0 "
                         r"50-mass\.lua=[1-9]\d*/1/number/0 "
                         r"99-sync\.lua=\d+/0/number/0 integer$")


# table.sort without a comparison function used to run in C, out of the
# budget's reach: a second for the two million numbers 64 MiB holds.
SORT = r"""
chat.command("sort", "", function(user, n)
    local t = {}
    for i = 1, tonumber(n) do t[i] = (i * 7919) % 100003 end
    table.sort(t)
    user:send("sorted " .. t[1] .. " " .. t[#t])
end)
chat.command("badsort", "", function(user)
    local ok, e = pcall(table.sort, {3, "x", 1})
    user:send("badsort " .. tostring(e))
end)
chat.command("wrapspin", "", function(user)
    coroutine.wrap(function() while true do end end)()
end)
"""


class SortTests(Hostile):
    """A sort is counted by the budget; errors name the plugin's line."""

    PLUGINS = {"50-sort.lua": SORT}
    CONFIG = {"lua": {"max_instructions": 3 * 10 ** 6, "max_time": 10000}}

    def test_sort(self):
        self.assertEqual(self.by.ask("sort|1000"), "sorted 93 99984")
        m = self.srv.mark()
        self.assertEqual(self.by.ask("sort|300000"), "! internal error")
        self.srv.wait_log(r"error: lua: \S*50-sort\.lua:5: instruction "
                          r"limit exceeded \(max_instructions = 3000000\)",
                          after=m)
        self.bystander_answered()

    def test_messages_name_no_internal_chunk(self):
        self.assertEqual(self.by.ask("badsort"),
                         "badsort attempt to compare string with number")
        m = self.srv.mark()
        self.assertEqual(self.by.ask("wrapspin"), "! internal error")
        line = self.srv.wait_log(r"error: lua: (\S+): instruction limit"
                                 r"[^\n]*", after=m)
        self.assertRegex(line.group(1), r"50-sort\.lua:\d+$")
        self.assertNotIn("guards", line.group(0))


# The endless loop, in a join hook that runs before the room's own.
LOOP = r"""
chat.on("join", function(user)
    if user.id % 2 == 0 then while true do end end
end)
"""


class EndlessLoopTests(Hostile):
    """An endless loop in one hook: stopped, the later hooks run."""

    PLUGINS = {"05-loop.lua": LOOP}

    def test_endless_loop_in_a_hook(self):
        for _ in range(2):          # one of them has an even id
            c = self.srv.client()   # welcomed by the room all the same
            self.by.expect("* %s joined" % c.name)
            self.bystander_answered()
        self.srv.wait_log(r"05-loop\.lua:\d+: instruction limit exceeded")


if __name__ == "__main__":
    ct.main()
