#!/usr/bin/env python3
"""The Lua side of a cluster: handles of remote users say where they
live and route send; close and rename are their own server's business;
chat.cluster(); the plugins' own publish/subscribe; hooks fire on the
user's own node only (and "leave" with "lost" on the reaper)."""

import unittest

import chatdtest as ct

PLUGIN = r"""
local seen = {}
chat.command("peek", "", function(user, name)
    local u = chat.find(name or "")
    if u == nil then user:send("peek none") return end
    user:send(string.format("peek %s node=%s remote=%s idle=%s addr=%s",
        u.name, tostring(u.node), tostring(u.remote), type(u.idle),
        tostring(u.addr ~= nil)))
end)
chat.command("everyone", "", function(user)
    local names, nodes = chat.names(), {}
    for _, u in ipairs(chat.users()) do
        nodes[#nodes + 1] = u.name .. "@" .. tostring(u.node)
    end
    user:send("names " .. table.concat(names, ",") .. " users " ..
        table.concat(nodes, ","))
end)
chat.command("shout", "", function(user, text)
    chat.broadcast("* shout from " .. user.name .. ": " .. (text or ""))
end)
chat.command("poke", "", function(user, name)
    local u = chat.find(name or "")
    local ok, err = u:send("* poked by " .. user.name)
    user:send("send " .. tostring(ok) .. " " .. tostring(err))
    ok, err = u:close()
    user:send("close " .. tostring(ok) .. " " .. tostring(err))
    ok, err = u:rename("zed")
    user:send("rename " .. tostring(ok) .. " " .. tostring(err))
end)
chat.command("where", "", function(user)
    local c = chat.cluster()
    if c == nil then user:send("where alone") return end
    user:send(string.format("where %s up=%s servers=%d", c.node,
        tostring(c.up), c.servers))
end)
chat.command("pub", "", function(user, data)
    local ok, err = chat.publish("test", data or "")
    user:send("pub " .. tostring(ok) .. " " .. tostring(err))
end)
chat.subscribe("test", function(data, node)
    chat.local_broadcast("sub " .. node .. " " .. #data .. " " ..
        data:gsub("%z", "<0>"))
end)
chat.command("pubbin", "", function(user)
    user:send("pub " .. tostring(chat.publish("test", "a\0b\r\nc")))
end)
chat.command("yield", "", function(user)
    coroutine.yield()
end)
chat.command("late", "", function(user)
    local ok, err = pcall(chat.subscribe, "x", function() end)
    user:send("late " .. tostring(ok) .. " " .. tostring(err):match(
        "may only be called while plugins load") or "?")
end)
for _, ev in ipairs({"join", "leave", "rename"}) do
    chat.on(ev, function(user, a, b)
        chat.log("info", "hook " .. ev .. " " .. user.name .. " " ..
            tostring(a) .. " remote=" .. tostring(user.remote) ..
            " node=" .. tostring(user.node))
    end)
end
"""


class LuaAcrossNodes(unittest.TestCase):

    def setUp(self):
        self.cl = ct.Cluster(2, plugins={"50-lua.lua": PLUGIN}).start()
        self.addCleanup(self.cl.stop)
        self.a = self.cl.join(0, "alice")
        self.b = self.cl.join(1, "bob")

    def test_handles_of_remote_users(self):
        self.assertEqual(self.a.ask("peek|bob"),
                         "peek bob node=n2 remote=true idle=nil addr=true")
        self.assertEqual(self.a.ask("peek|alice"),
                         "peek alice node=n1 remote=false idle=number "
                         "addr=true")
        self.a.sendline("poke|bob")
        self.b.expect("* poked by alice")
        self.a.expect("send true nil")
        self.a.expect("close nil remote user")
        self.a.expect("rename nil remote user")
        self.b.ask("who", "* online (2):")	# bob is still there
        self.b.line()
        self.b.line()

    def test_names_users_broadcast_span_the_room(self):
        """chat.names() and chat.users() list the users of both nodes,
        on both; chat.broadcast() from a command reaches both."""
        for u in (self.a, self.b):
            self.assertEqual(u.ask("everyone"), "names alice,bob users "
                             "alice@n1,bob@n2")
        self.b.sendline("shout|hello all")
        for u in (self.a, self.b):
            u.expect("* shout from bob: hello all")

    def test_chat_cluster(self):
        self.assertEqual(self.a.ask("where"), "where n1 up=true servers=1")
        self.assertEqual(self.b.ask("where"), "where n2 up=true servers=1")
        with ct.PluginServer(plugins={"50-lua.lua": PLUGIN}) as alone:
            c = alone.client()
            self.assertEqual(c.ask("where"), "where alone")
            self.assertEqual(c.ask("pub|x"), "pub nil no cluster")

    def test_publish_subscribe(self):
        self.a.sendline("pub|hello there")
        self.a.expect("pub true nil")
        self.b.expect("sub n1 11 hello there")
        # the publisher's own node does not hear it
        self.a.no_line(0.3)
        self.b.sendline("pub|back")
        self.b.expect("pub true nil")
        self.a.expect("sub n2 4 back")
        # any bytes: the data arrives as it was (the line it is shown
        # in is cleaned as any line is)
        self.a.sendline("pubbin")
        self.a.expect("pub true")
        self.b.expect("sub n1 6 a<0>bc")

    def test_rules(self):
        self.a.sendline("yield")
        self.a.expect("! internal error")
        self.cl.nodes[0].wait_log(r"a command may not yield")
        self.assertEqual(self.a.ask("late"),
                         "late false may only be called while plugins load")
        # and the user goes on as before
        self.a.sendline("hi")
        self.a.expect("[alice]: hi")
        self.b.expect("[alice]: hi")

    def test_hooks_fire_on_the_users_own_node(self):
        m = [n.mark() for n in self.cl.nodes]
        c = self.cl.join(1, "carol")
        self.b.ask("quit", "* bye")
        self.cl.forget(self.b)
        self.a.expect("* bob left")
        c.expect("* bob left")
        n1, n2 = (n.log_text()[k:] for n, k in zip(self.cl.nodes, m))
        self.assertIn("hook join ", n2)
        self.assertIn("hook rename ", n2)
        self.assertIn("hook leave bob quit remote=false node=n2", n2)
        self.assertNotIn("hook join", n1)
        self.assertNotIn("hook rename", n1)
        self.assertNotIn("hook leave", n1)
        # the one event for remote users: leave with "lost", on the reaper
        self.cl.nodes[1].kill9()
        self.cl.forget(c)
        self.a.expect("* carol left (server lost)", timeout=6)
        self.assertIn("hook leave carol lost remote=true node=n2",
                      self.cl.nodes[0].log_text())


if __name__ == "__main__":
    ct.main()
