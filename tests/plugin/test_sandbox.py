#!/usr/bin/env python3
"""The sandbox: without [lua] unsafe, plugins get no file, process, module
or bytecode access; with unsafe = true they get the whole library."""

import unittest

import chatdtest as ct

PROBE = r"""
local function show(v)
    return type(v)
end

chat.command("probe", "", function(user, expr)
    local f, err = load("return " .. expr, "=probe", "t")
    if not f then user:send("probe error " .. err) return end
    local ok, v = pcall(f)
    if not ok then user:send("probe raised " .. tostring(v)) return end
    user:send(expr .. " -> " .. show(v))
end)

chat.command("bytecode", "", function(user)
    local dumped = string.dump(function() return 1 end)
    local function try(...)
        local ok, f, err = pcall(load, ...)
        if ok and f == nil then return "refused " .. tostring(err) end
        if ok then return "LOADED " .. tostring(f) end
        return "raised " .. tostring(f)
    end
    local function reader()
        local s = dumped
        dumped = nil
        return s
    end
    user:send("bc1 " .. try(dumped))
    user:send("bc2 " .. try(dumped, "bc"))
    user:send("bc3 " .. try(dumped, "bc", "b"))
    user:send("bc4 " .. try(dumped, "bc", "bt", {}))
    user:send("bc5 " .. try(reader, "bc", "b"))
end)

chat.command("textload", "", function(user)
    local g = load("return x * 2", "chunk", "t", {x = 21})
    local parts = {"return ", "3"}
    local h = load(function() return table.remove(parts, 1) end, "=parts")
    local bad, err = load("return +", "=bad")
    user:send("textload " .. g() .. " " .. h() .. " " .. tostring(bad) ..
        " " .. err)
end)

-- load with the chunk alone, the commonest call
chat.command("textload1", "", function(user)
    local ok, f = pcall(load, "return 1 + 1")
    if ok and f then
        user:send("textload1 " .. f())
    else
        user:send("textload1 failed: " .. tostring(f))
    end
end)

-- the guarded replacements keep their ordinary meaning
chat.command("guards", "", function(user)
    local ok, h = xpcall(function(a, b) error("boom:" .. a .. b, 0) end,
                         function(e) return "handled " .. e end, 1, 2)
    local ok2, v = xpcall(function(x) return x * 2 end, print, 21)
    local gen = coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) end)
    local w1, w2 = gen(), gen()
    local bad = coroutine.wrap(function() error("inside", 0) end)
    local ok3, e3 = pcall(bad)
    local ok4, e4 = pcall(setmetatable, {}, {__gc = function() end})
    local mt = getmetatable(setmetatable({}, {__index = {k = 7}}))
    user:send(table.concat({"guards", tostring(ok), h, tostring(ok2),
        tostring(v), w1, w2, tostring(ok3), e3, tostring(ok4),
        tostring(e4):match("__gc metamethods are not available") or e4,
        tostring(mt.__index.k), tostring(coroutine.close)}, " "))
end)

chat.command("strmeta", "", function(user)
    -- string methods work, but their shared metatable is hidden
    user:send("strmeta " .. tostring(getmetatable("")) .. " " ..
        ("x"):upper())
end)
"""

# Globals a safe plugin must not see, and ones it must.
ABSENT = [
    "io", "os.exit", "os.execute", "os.getenv", "os.remove", "os.rename",
    "os.tmpname", "os.setlocale", "require", "package", "dofile", "loadfile",
    "debug", "collectgarbage", "warn",
]
PRESENT = [
    "os.time", "os.clock", "os.date", "os.difftime", "string.format",
    "table.concat", "math.floor", "utf8.char", "coroutine.wrap", "pcall",
    "setmetatable", "load", "print", "chat",
]


class SafeTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.PluginServer(plugins={"50-probe.lua": PROBE}, room=False)
        cls.srv.start()
        cls.c = cls.srv.client(join=False)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_dangerous_globals_are_absent(self):
        for expr in ABSENT:
            with self.subTest(expr=expr):
                self.assertEqual(self.c.ask("probe|" + expr),
                                 expr + " -> nil")

    def test_safe_globals_are_present(self):
        for expr in PRESENT:
            with self.subTest(expr=expr):
                self.assertRegex(self.c.ask("probe|" + expr),
                                 r" -> (function|table)$")

    def test_bytecode_is_refused(self):
        # Whatever the mode asked for, a binary chunk does not load.
        self.c.sendline("bytecode")
        for i in range(1, 6):
            line = self.c.line()
            self.assertRegex(line, r"^bc%d (refused|raised) " % i)
            if i >= 2:  # (bc1: see test_text_load_with_the_chunk_alone)
                self.assertRegex(line, r"^bc%d refused .*attempt to load a "
                                 r"binary chunk \(mode is 't'\)" % i)

    def test_text_load_works(self):
        self.assertEqual(self.c.ask("textload"),
                         "textload 42 3 nil bad:1: unexpected symbol near '+'")

    def test_text_load_with_the_chunk_alone(self):
        self.assertEqual(self.c.ask("textload1"), "textload1 2")

    def test_guarded_functions_keep_their_meaning(self):
        self.assertEqual(self.c.ask("guards"),
                         "guards false handled boom:12 true 42 1 2 false "
                         "inside false __gc metamethods are not available "
                         "7 nil")

    def test_string_methods(self):
        self.assertEqual(self.c.ask("strmeta"), "strmeta false X")


class UnsafeTests(unittest.TestCase):

    def test_unsafe_opens_everything(self):
        with ct.PluginServer(plugins={"50-probe.lua": PROBE}, room=False,
                    config={"lua": {"unsafe": True}}) as srv:
            c = srv.client(join=False)
            for expr in ("io", "os.exit", "os.getenv", "require", "package",
                         "debug", "dofile", "loadfile", "collectgarbage"):
                with self.subTest(expr=expr):
                    self.assertRegex(c.ask("probe|" + expr),
                                     r" -> (function|table)$")
            self.assertEqual(c.ask("probe|os.getenv('PATH') ~= nil"),
                             "os.getenv('PATH') ~= nil -> boolean")


class LoadTimeTests(unittest.TestCase):

    def test_io_at_load_time_fails_the_plugin(self):
        src = 'local f = io.open("/etc/passwd")\n'
        r, pdir = ct.run_check({"50-io.lua": src})
        self.assertEqual(r.returncode, 1, r.stderr)
        # the report is the last line of stderr (the log may precede it)
        self.assertEqual(r.stderr.strip().splitlines()[-1],
                         "%s/50-io.lua:1: attempt to index a nil value "
                         "(global 'io')" % pdir)
        self.assertEqual(r.stdout, "")

if __name__ == "__main__":
    ct.main()
