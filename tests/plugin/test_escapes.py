#!/usr/bin/env python3
"""Runaway Lua code that tries to escape [lua] max_instructions.

Lua runs no count hook inside a message handler called for an error raised
by a hook, in __close handlers a coroutine closed after such an error runs,
nor inside __gc finalizers; a server that relies on the hook alone can be
hung by any of them.  chatd's sandbox runs xpcall handlers after the
unwinding, never closes a failed coroutine's variables and refuses __gc.
Each test gives the server a few seconds to answer again and kills it (by
its PID) if it does not.
"""

import unittest

import chatdtest as ct

ESCAPES = r"""
chat.command("ping", "", function(user) user:send("pong") end)

-- the message handler loops once the hook has raised the limit error
chat.command("xpcall", "", function(user)
    xpcall(function() while true do end end,
           function(e) while true do end end)
    user:send("xpcall returned")
end)

-- a finalizer that loops, run by a garbage collection step
chat.command("gc", "", function(user)
    setmetatable({}, {__gc = function() while true do end end})
    local t = {}
    for i = 1, 20000 do t[i] = {i} end
    user:send("gc returned")
end)

chat.command("keepgc", "", function(user)
    kept = setmetatable({}, {__gc = function() while true do end end})
    user:send("kept")
end)

-- a failed coroutine whose to-be-closed variable loops when closed
local function doomed()
    local x <close> = setmetatable({}, {__close = function()
        while true do end
    end})
    while true do end
end
chat.command("wrap", "", function(user)
    local f = coroutine.wrap(doomed)
    pcall(f)
    user:send("wrap returned")
end)
chat.command("close", "", function(user)
    local co = coroutine.create(doomed)
    coroutine.resume(co)
    if coroutine.close then coroutine.close(co) end
    user:send("close returned")
end)
"""

ANSWER_WITHIN = 4.0


class EscapeTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-escapes.lua": ESCAPES}, room=False)
        self.srv.start()
        self.addCleanup(self.cleanup)
        self.a = self.srv.client(join=False)
        self.b = self.srv.client(join=False)

    def cleanup(self):
        hung = not self.responsive(1.0)
        if hung:
            self.srv.proc.kill()  # our own child, by its PID
        self.srv.stop(check=not hung)

    def responsive(self, within=ANSWER_WITHIN):
        if not self.srv.alive():
            return False
        try:
            c = ct.Client(self.srv.port)
        except OSError:
            return False
        try:
            c.sendline("ping")
            return c.line(within) == "pong"
        except AssertionError:
            return False
        finally:
            c.close()

    def assert_stopped(self, command):
        self.a.sendline(command)
        self.assertTrue(self.responsive(),
                        "%r hung the server past max_instructions" % command)
        self.assertEqual(self.a.line(), "! internal error")
        self.assertIn("instruction limit exceeded", self.srv.log_text())
        self.assertEqual(self.b.ask("ping"), "pong")

    def test_loop_in_xpcall_message_handler(self):
        self.assert_stopped("xpcall")

    def test_loop_in_closed_coroutine_via_wrap(self):
        self.assert_stopped("wrap")

    def test_loop_in_closed_coroutine_via_close(self):
        self.assert_stopped("close")

    def test_gc_finalizer_refused(self):
        for command in ("gc", "keepgc"):
            with self.subTest(command=command):
                self.a.sendline(command)
                self.assertTrue(self.responsive(),
                                "a looping __gc finalizer hung the server")
                self.assertEqual(self.a.line(), "! internal error")
                self.assertIn("__gc metamethods are not available",
                              self.srv.log_text())
                self.assertEqual(self.b.ask("ping"), "pong")


if __name__ == "__main__":
    ct.main()
