#!/usr/bin/env python3
"""A script error: the sender gets "! internal error", the error and its
traceback go to the log, the server and the other clients go on.  A
runaway script is stopped by max_instructions."""

import time
import unittest

import chatdtest as ct

PLUGIN = """\
-- test plugin: commands that fail
chat.command("boom", "boom: fails", function(user, args) error("kaboom") end)
chat.command("spin", "spins", function(user, args) while true do end end)
chat.command("deep", "fails deeper", function(user, args)
  local function inner() error("deep trouble") end
  local function outer() inner() end
  outer()
end)
chat.command("errtable", "raises a table", function(user, args)
  error({code = 42})
end)
chat.command("hog", "allocates too much", function(user, args)
  local s = string.rep("x", 1 << 30)
  user:send("* got " .. #s)
end)
"""


class ScriptErrorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.Server({"lua": {"max_instructions": 100000}},
                            plugins={"90-test-errors.lua": PLUGIN})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.srv.stop()
        cls.srv.kill()
        assert code == 0, "chatd exit status %r" % code

    def setUp(self):
        self.assertTrue(self.srv.alive(), "chatd died")
        self.a, self.b = self.srv.room(2)

    def tearDown(self):
        for c in (self.a, self.b):
            try:
                c.send(b"exit\n")
                c.read_until("* bye")
                c.expect_closed()
            finally:
                c.close()

    def check_room_fine(self):
        a, b = self.a, self.b
        a.sendline("still chatting")
        a.expect("[%s]: still chatting" % a.name)
        b.expect("[%s]: still chatting" % a.name)
        b.sendline("me too")
        a.expect("[%s]: me too" % b.name)
        b.expect("[%s]: me too" % b.name)
        b.sendline("who")
        b.expect("* online (2):")
        b.expect("*   %s %s" % (self.a.name, self.a.name))
        b.expect("*   %s %s" % (self.b.name, self.b.name))

    def test_error(self):
        self.a.sendline("boom")
        self.a.expect("! internal error")
        self.srv.wait_log("kaboom")
        log = self.srv.wait_log(r"(?s)kaboom.*traceback|traceback.*kaboom")
        self.assertTrue(log)
        self.assertIn("90-test-errors.lua:2", self.srv.log_text())
        self.b.no_line(0.2)  # nothing for the other client
        self.check_room_fine()

    def test_error_with_args(self):
        self.a.sendline("boom|with args")
        self.a.expect("! internal error")
        self.check_room_fine()

    def test_repeated_errors(self):
        for _ in range(20):
            self.a.sendline("boom")
        for _ in range(20):
            self.a.expect("! internal error")
        self.check_room_fine()

    def test_nested_error_traceback(self):
        self.b.sendline("deep")
        self.b.expect("! internal error")
        self.srv.wait_log("deep trouble")
        text = self.srv.log_text()
        i = text.rfind("deep trouble")
        self.assertIn("traceback", text[max(0, i - 500):i + 2000].lower())
        self.check_room_fine()

    def test_non_string_error(self):
        self.a.sendline("errtable")
        self.a.expect("! internal error")
        self.check_room_fine()

    def test_runaway(self):
        t0 = time.monotonic()
        self.a.sendline("spin")
        self.a.expect("! internal error", timeout=5)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.check_room_fine()
        # and again: the state is still usable
        self.b.sendline("spin")
        self.b.expect("! internal error", timeout=5)
        self.check_room_fine()

    def test_memory_limit(self):
        # 1 GB in one allocation: over memory_limit (default 64 MB).
        self.a.sendline("hog")
        self.a.expect("! internal error", timeout=5)
        self.check_room_fine()
        self.assertLess(self.srv.rss_kb(), 200 * 1024)

    def test_error_then_chat_in_one_segment(self):
        self.a.send(b"boom\nafter the boom\n")
        self.a.expect("! internal error")
        self.a.expect("[%s]: after the boom" % self.a.name)
        self.b.expect("[%s]: after the boom" % self.a.name)


class LogLevelTest(unittest.TestCase):

    def test_error_logged_at_error_level(self):
        # At level = error the info lines (maybe "listening on" too) are
        # hidden, so use a fixed port; the script error must still be
        # logged, with its traceback.
        port = ct.free_port()
        with ct.Server({"server": {"port": port}, "log": {"level": "error"}},
                       plugins={"90-test-errors.lua": PLUGIN},
                       ready="connect") as srv:
            a = srv.client()
            a.sendline("boom")
            a.expect("! internal error")
            srv.wait_log(r"(?s)kaboom.*traceback|traceback.*kaboom")
            a.sendline("ok")
            a.expect("[%s]: ok" % a.name)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
