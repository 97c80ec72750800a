#!/usr/bin/env python3
"""Hooks that compose: priorities set the order, chat.stop ends an event's
hooks, chat.refuse refuses a join before the room hears of it, "welcome"
and "who" hooks add to the room's own output through chat.collect, and
"command" hooks see (and may stop) every command."""

import unittest

import chatdtest as ct

ORDER = r"""
local order = {}
chat.on("line", function(user, line)
    if line == "order" then
        user:send("order " .. table.concat(order, ","))
        order = {}
        return true
    end
end, { priority = 10 })
for _, p in ipairs { 0, 5, -5, 5 } do
    chat.on("chat", function() order[#order + 1] = p end, { priority = p })
end
chat.on("chat", function(user, text)
    if text == "halt" then return chat.stop end
    order[#order + 1] = "s"
end, { priority = 1 })
"""

BAN = r"""
chat.on("join", function(user)
    if chat.count() > 2 then
        return chat.refuse("* the room is full, " .. user.name)
    end
end, { priority = 100 })
chat.on("welcome", function(user) return "* welcome line one" end)
chat.on("welcome", function(user)
    return { "* early line", "* second early line" }
end, { priority = 1 })
chat.on("who", function(u) if u.data.away then return "(away)" end end)
chat.command("away", "", function(user)
    user.data.away = true
    user:send("away")
end)
local seen = {}
chat.on("command", function(user, name, ...)
    seen[#seen + 1] = name .. "(" .. table.concat({ ... }, ";") .. ")"
    if name == "rename" and select(1, ...) == "root" then
        user:send("! not that name")
        return chat.stop
    end
end)
chat.command("collect", "", function(user, ev)
    local ok, err = pcall(chat.collect, ev, user)
    user:send(ok and "collected " .. #err or err)
end)
chat.command("seen", "", function(user)
    user:send("seen " .. table.concat(seen, " "))
end)
"""

BAD = {
    "priority": """chat.on("join", function() end, { priority = 1.5 })""",
    "event": """chat.on("nope", function() end)""",
}


class OrderTests(unittest.TestCase):

    def test_priority_then_load_order_and_stop(self):
        with ct.PluginServer(plugins={"50-order.lua": ORDER}) as srv:
            c = srv.client()
            c.sendline("hello")
            c.expect("[%s]: hello" % c.name)
            self.assertEqual(c.ask("order"), "order 5,5,s,0,-5")
            c.sendline("halt")
            # the room's own chat hook (priority 0) never ran: no echo
            self.assertEqual(c.ask("order"), "order 5,5")

    def test_bad_arguments_fail_the_load(self):
        for what, src in BAD.items():
            r, _ = ct.run_check({"50-bad.lua": src}, room=True)
            self.assertNotEqual(r.returncode, 0, what)
            self.assertRegex(r.stdout + r.stderr,
                             {"priority": r"priority is a whole number",
                              "event": r"unknown event 'nope' \(join, "
                                       r"leave, line, chat, rename, link, "
                                       r"upgrade, welcome, who, command\)"}
                             [what])


class ComposeTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-ban.lua": BAN})
        self.srv.start()
        self.addCleanup(self.srv.stop)

    def join(self):
        c = self.srv.client(join=False)
        c.expect_match(r"\* welcome \S+")
        c.expect_match(r"\* online \(\d\): .*")
        c.expect("* early line")
        c.expect("* second early line")
        c.expect("* welcome line one")
        return c

    def test_refused_before_anyone_is_told(self):
        a = self.join()
        b = self.join()
        a.expect("* %s joined" % b.name)
        c = self.srv.client(join=False)
        line = c.expect_match(r"\* the room is full, (\S+)")
        c.expect_closed()
        self.srv.wait_log(r"client \d+ \(%s\) left: refused"
                          % line.group(1).replace(".", r"\."))
        # a and b heard nothing: not "joined", not "left"
        a.sendline("after")
        a.expect("[%s]: after" % a.name)
        b.expect("[%s]: after" % a.name)
        self.assertEqual(a.ask("who"), "* online (2):")

    def test_who_rows_are_decorated(self):
        a = self.join()
        b = self.join()
        a.expect("* %s joined" % b.name)
        self.assertEqual(b.ask("away"), "away")
        a.sendline("who")
        a.expect("* online (2):")
        a.expect_match(r"\*   %s 127\.0\.0\.1:\d+$" % a.name)
        a.expect_match(r"\*   %s 127\.0\.0\.1:\d+ \(away\)$" % b.name)

    def test_collect_takes_only_collected_events(self):
        a = self.join()
        self.assertEqual(a.ask("collect|who"), "collected 0")
        self.assertEqual(a.ask("collect|join"),
                         "bad argument #1 to '?' ('join' is not an "
                         "event to collect (welcome, who))")

    def test_command_hooks_audit_and_stop(self):
        a = self.join()
        self.assertEqual(a.ask("rename|root"), "! not that name")
        self.assertEqual(a.ask("rename|ada"), "* you are now ada")
        self.assertEqual(a.ask("seen"),
                         "seen rename(root) rename(ada) seen()")


if __name__ == "__main__":
    ct.main()
