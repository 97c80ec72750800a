#!/usr/bin/env python3
"""chat.timer and chat.every: firing, repeating, cancelling."""

import unittest
import time

import chatdtest as ct

TIMERS = r"""
local started = chat.timer(0.2, function()
    chat.log("info", "load-time timer fired")
end)

local once, rep

chat.command("once", "", function(user, secs)
    once = chat.timer(tonumber(secs) or 0.3, function()
        user:send("once fired, active=" .. tostring(once.active))
    end)
    user:send("once armed, active=" .. tostring(once.active))
end)

chat.command("oncestate", "", function(user)
    user:send("once active=" .. tostring(once.active) ..
        " cancel=" .. tostring(once:cancel()))
end)

chat.command("every", "", function(user)
    local n = 0
    rep = chat.every(0.15, function()
        n = n + 1
        user:send("tick " .. n)
    end)
    user:send("every armed")
end)

chat.command("stop", "", function(user)
    local first = rep:cancel()
    local second = rep:cancel()
    user:send("stop " .. tostring(first) .. " " .. tostring(second) ..
        " active=" .. tostring(rep.active))
end)

chat.command("selfstop", "", function(user)
    local n, h = 0, nil
    h = chat.every(0.1, function()
        n = n + 1
        user:send("self tick " .. n)
        if n == 3 then
            local r = h:cancel()
            user:send("self cancel " .. tostring(r) .. " active=" ..
                tostring(h.active) .. " again=" .. tostring(h:cancel()))
        end
    end)
    user:send("selfstop armed")
end)

chat.command("cancelonce", "", function(user)
    local t = chat.timer(0.2, function() user:send("should not fire") end)
    user:send("cancelonce " .. tostring(t:cancel()) .. " active=" ..
        tostring(t.active))
end)

-- a one-shot timer that cancels itself in its callback: already done
chat.command("onceself", "", function(user)
    local t
    t = chat.timer(0.1, function()
        user:send("onceself fired cancel=" .. tostring(t:cancel()) ..
            " active=" .. tostring(t.active))
    end)
end)

-- a timer that re-arms itself: a chain of one-shots
chat.command("chain", "", function(user)
    local n = 0
    local function step()
        n = n + 1
        user:send("chain " .. n)
        if n < 3 then chat.timer(0.05, step) end
    end
    chat.timer(0.05, step)
end)

-- many timers fire in the order of their deadlines
chat.command("order", "", function(user)
    for _, d in ipairs({0.3, 0.1, 0.2}) do
        chat.timer(d, function() user:send("order " .. d) end)
    end
end)

chat.command("badtimer", "", function(user)
    local ok1, e1 = pcall(chat.timer, 0, function() end)
    local ok2, e2 = pcall(chat.timer, -1, function() end)
    local ok3, e3 = pcall(chat.every, 1, "nope")
    user:send("badtimer " .. tostring(ok1) .. " " .. tostring(ok2) .. " " ..
        tostring(ok3))
end)

-- an error in a timer is logged; the timer's user is not involved
chat.command("failtimer", "", function(user)
    chat.timer(0.05, function() error("timer went wrong") end)
    user:send("failtimer armed")
end)

-- a timer whose user left: the handle is gone
chat.command("orphan", "", function(user)
    chat.timer(0.3, function()
        local ok, err = user:send("late")
        chat.log("info", "orphan send: " .. tostring(ok) .. " " ..
            tostring(err))
    end)
    user:send("orphan armed")
end)
"""


class TimerTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-timers.lua": TIMERS}, room=False)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.c = self.srv.client(join=False)

    def test_timer_set_while_loading_fires(self):
        self.srv.wait_log(r"info: lua: \S*50-timers\.lua:\d+: "
                          r"load-time timer fired", timeout=3)

    def test_timer_fires_once(self):
        t0 = time.monotonic()
        self.assertEqual(self.c.ask("once|0.3"), "once armed, active=true")
        self.c.expect("once fired, active=false", timeout=3)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.c.no_line(0.6)
        self.assertEqual(self.c.ask("oncestate"),
                         "once active=false cancel=false")

    def test_every_repeats_until_cancelled(self):
        self.assertEqual(self.c.ask("every"), "every armed")
        for n in range(1, 4):
            self.c.expect("tick %d" % n, timeout=3)
        self.c.sendline("stop")
        # ticks may have been on their way; then the answer, then silence
        lines = self.c.read_until(lambda l: not l.startswith("tick "))
        self.assertEqual(lines[-1], "stop true false active=false")
        self.c.no_line(0.6)

    def test_cancel_inside_own_callback(self):
        self.assertEqual(self.c.ask("selfstop"), "selfstop armed")
        for n in range(1, 4):
            self.c.expect("self tick %d" % n, timeout=3)
        self.c.expect("self cancel true active=false again=false")
        self.c.no_line(0.5)

    def test_cancel_pending_one_shot(self):
        self.assertEqual(self.c.ask("cancelonce"),
                         "cancelonce true active=false")
        self.c.no_line(0.5)

    def test_one_shot_cancelling_itself_in_callback(self):
        self.c.sendline("onceself")
        self.c.expect("onceself fired cancel=false active=false", timeout=3)
        self.c.no_line(0.3)

    def test_timer_set_from_timer(self):
        self.c.sendline("chain")
        for n in range(1, 4):
            self.c.expect("chain %d" % n, timeout=3)
        self.c.no_line(0.3)

    def test_timers_fire_in_deadline_order(self):
        self.c.sendline("order")
        self.c.expect("order 0.1", timeout=3)
        self.c.expect("order 0.2", timeout=3)
        self.c.expect("order 0.3", timeout=3)

    def test_bad_arguments_raise(self):
        self.assertEqual(self.c.ask("badtimer"), "badtimer false false false")

    def test_error_in_timer_is_logged(self):
        m = self.srv.mark()
        self.assertEqual(self.c.ask("failtimer"), "failtimer armed")
        self.srv.wait_log(r"error: lua: \S*50-timers\.lua:\d+: timer went "
                          r"wrong\\nstack traceback:", after=m)
        # no "! internal error": a timer has no user who triggered it
        self.c.no_line(0.3)
        self.assertEqual(self.c.ask("once|0.05"), "once armed, active=true")
        self.c.expect("once fired, active=false", timeout=3)

    def test_timer_outliving_its_user(self):
        self.assertEqual(self.c.ask("orphan"), "orphan armed")
        self.c.close()
        self.srv.wait_log(r"lua: \S*50-timers\.lua:\d+: orphan send: "
                          r"nil gone", timeout=3)


if __name__ == "__main__":
    ct.main()
