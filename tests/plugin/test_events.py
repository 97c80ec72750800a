#!/usr/bin/env python3
"""chat.on: join, leave (and its reasons), line, chat and rename hooks,
and the order in which hooks of several plugins run."""

import unittest
import time

import chatdtest as ct

# Two plugins whose join hooks both greet; "10-..." sorts before "9-..."
# byte by byte, so it runs first although 9 < 10.
JOIN_A = r"""
chat.on("join", function(user) user:send("join hook A") end)
chat.on("join", function(user) user:send("join hook A2") end)
"""
JOIN_B = r"""
chat.on("join", function(user) user:send("join hook B") end)
"""


class JoinOrderTests(unittest.TestCase):

    def test_join_hooks_run_in_file_name_then_registration_order(self):
        with ct.PluginServer(plugins={"9-b.lua": JOIN_B, "10-a.lua": JOIN_A},
                    room=False) as srv:
            c = srv.client(join=False)
            c.expect("join hook A")
            c.expect("join hook A2")
            c.expect("join hook B")
            c.no_line(0.3)

    def test_join_hook_sees_an_online_user(self):
        src = r"""
chat.on("join", function(user)
    local found = chat.find(user.name)
    user:send(string.format("joined id=%s online=%s found=%s same=%s",
        math.type(user.id), tostring(user.online), tostring(found ~= nil),
        tostring(found == user)))
end)
"""
        with ct.PluginServer(plugins={"50-j.lua": src}, room=False) as srv:
            c = srv.client(join=False)
            c.expect("joined id=integer online=true found=true same=true")


# Every event goes to a "watcher" (whoever sent "watch"), with its args.
RECORDER = r"""
local watchers = {}
local function tell(s)
    for _, w in ipairs(watchers) do
        if w.online then w:send(s) end
    end
end
chat.command("watch", "", function(user)
    watchers[#watchers + 1] = user
    user:send("watching")
end)
chat.command("kick", "kick|<name>", function(user, name)
    local victim = chat.find(name or "")
    if not victim then user:send("no such user") return end
    local ok, err = victim:close("kicked")
    user:send("kick: " .. tostring(ok) .. " " .. tostring(err))
end)
chat.command("myname", "", function(user) user:send("name " .. user.name) end)
chat.command("setname", "", function(user, name)
    local ok, err = user:rename(name)
    user:send("setname: " .. tostring(ok) .. " " .. tostring(err))
end)
chat.on("join", function(user) tell("join " .. user.name) end)
chat.on("leave", function(user, reason)
    tell("leave " .. tostring(user.name) .. " " .. tostring(reason))
    user:send("last word for " .. reason)
end)
chat.on("rename", function(user, old, new)
    tell("rename " .. old .. " -> " .. new .. " now " .. user.name)
end)
chat.on("line", function(user, text) tell("line " .. text) end)
chat.on("chat", function(user, text) tell("chat " .. text) end)
""" + ct.SYNC_PLUGIN


class EventTests(unittest.TestCase):
    IDLE = 0

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-rec.lua": RECORDER}, room=True,
                          config={"server": {"idle_timeout": self.IDLE}})
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.w = self.srv.client()
        self.assertEqual(self.w.ask("watch"), "watching")

    def join(self):
        """A second client; the watcher sees the room's notice (10-room)
        and then our join hook (50-rec), in file order."""
        c = self.srv.client(join=True)
        self.w.expect("* %s joined" % c.name)
        self.w.expect("join " + c.name)
        return c

    def test_join_order_room_then_plugin(self):
        self.join()

    def test_leave_quit(self):
        c = self.join()
        c.sendline("quit")
        self.assertEqual(c.expect_closed(), ["* bye", "last word for quit"])
        # the room (10) tells first, then our hook (50)
        self.w.expect("* %s left" % c.name)
        self.w.expect("leave %s quit" % c.name)

    def test_leave_closed(self):
        c = self.join()
        name = c.name
        c.close()
        # the room (10) tells first, then our hook (50)
        self.w.expect("* %s left" % name)
        self.w.expect("leave %s closed" % name)

    def test_leave_kicked_by_plugin(self):
        c = self.join()
        name = c.name
        self.w.sendline("kick|" + name)
        self.w.expect("kick: true nil")
        self.assertEqual(c.expect_closed(), ["last word for kicked"])
        self.w.expect("* %s left" % name)
        self.w.expect("leave %s kicked" % name)

    def test_rename_hook_old_and_new(self):
        c = self.join()
        old = c.name
        c.sendline("rename|alice")
        c.expect("* you are now alice")
        self.w.expect("* %s is now alice" % old)
        self.w.expect("rename %s -> alice now alice" % old)
        # a rename by a plugin runs the hooks too
        self.assertEqual(c.ask("setname|bob"), "setname: true nil")
        self.w.expect("* alice is now bob")
        self.w.expect("rename alice -> bob now bob")
        # the same name again: no change, no hook
        self.assertEqual(c.ask("setname|bob"), "setname: true nil")
        # a refused name: nil, why; no hook
        c.sendline("setname|" + self.w.name)
        c.expect("setname: nil name contains ':'")
        # nothing else reached the watcher
        self.assertEqual(self.w.sync("r"), ["_sync r"])

    def test_line_then_chat_for_chat_lines_only(self):
        self.w.sendline("hello")
        self.w.expect("line hello")
        self.w.expect("[%s]: hello" % self.w.name)
        self.w.expect("chat hello")
        self.w.sendline("myname")  # a command: no line or chat hook
        self.w.expect("name " + self.w.name)
        self.assertEqual(self.w.sync("l"), ["_sync l"])


class TimeoutTests(EventTests):
    IDLE = 2

    def test_leave_timeout(self):
        c = self.join()
        name = c.name
        # The watcher keeps itself active while c stays silent for 2 s.
        seen = []
        deadline = time.monotonic() + 8
        while "leave %s timeout" % name not in seen:
            self.assertLess(time.monotonic(), deadline, seen)
            self.w.sendline("_sync|p")
            seen += self.w.read_until("_sync p")
            time.sleep(0.3)
        self.assertEqual([l for l in seen if l != "_sync p"],
                         ["* %s timed out" % name, "leave %s timeout" % name])
        self.assertEqual(c.expect_closed(),
                         ["* idle timeout, bye", "last word for timeout"])


# Only the timeout test runs on the idle_timeout server.
for _n in [n for n in dir(EventTests) if n.startswith("test_")]:
    setattr(TimeoutTests, _n, None)


CONSUME = r"""
chat.on("line", function(user, text)
    if text:sub(1, 1) == "!" then
        user:send("consumed " .. text)
        return true
    end
    if text:sub(1, 1) == "^" then
        return text:sub(2):upper()
    end
end)
chat.on("line", function(user, text)
    user:send("second line hook saw " .. text)
end)
"""
LATER = r"""
chat.on("line", function(user, text)
    if text == "STOPHERE" then return true end
    if text == "FALSE" then return false end
end)
chat.on("chat", function(user, text)
    chat.broadcast("chat hook saw " .. text)
end)
"""


class LineHookTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"05-consume.lua": CONSUME,
                                   "50-later.lua": LATER}, room=True)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client()
        self.b = self.srv.client()
        self.a.expect("* %s joined" % self.b.name)

    def test_consumed_line_reaches_nobody(self):
        self.a.sendline("!secret")
        self.a.expect("consumed !secret")
        # nothing more for a: no second hook, no chat
        self.a.sendline("plain")
        self.a.expect("second line hook saw plain")
        self.a.expect("[%s]: plain" % self.a.name)
        self.a.expect("chat hook saw plain")
        # b never saw the consumed line
        self.b.expect("[%s]: plain" % self.a.name)
        self.b.expect("chat hook saw plain")

    def test_rewritten_text_goes_to_later_hooks_and_chat(self):
        self.a.sendline("^shout")
        self.a.expect("second line hook saw SHOUT")
        self.a.expect("[%s]: SHOUT" % self.a.name)
        self.a.expect("chat hook saw SHOUT")
        self.b.expect("[%s]: SHOUT" % self.a.name)
        self.b.expect("chat hook saw SHOUT")

    def test_rewrite_then_consume_by_a_later_plugin(self):
        self.a.sendline("^stophere")
        self.a.expect("second line hook saw STOPHERE")
        self.a.sendline("next")
        self.a.expect("second line hook saw next")
        self.b.expect("[%s]: next" % self.a.name)

    def test_false_does_not_consume(self):
        self.a.sendline("^false")
        self.a.expect("second line hook saw FALSE")
        self.b.expect("[%s]: FALSE" % self.a.name)


if __name__ == "__main__":
    ct.main()
