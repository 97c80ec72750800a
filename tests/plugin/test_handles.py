#!/usr/bin/env python3
"""User handles: fields, methods, user.data, chat.users/find/broadcast,
and a handle kept after its user left (stale)."""

import unittest

import chatdtest as ct

HANDLES = r"""
local function try(f, ...)
    local r = table.pack(pcall(f, ...))
    for i = 1, r.n do r[i] = tostring(r[i]) end
    return table.concat(r, " ", 1, r.n)
end

-- the first user to join is kept in a global
chat.on("join", function(user)
    if stale == nil then stale = user end
    user.data.joined_hook = true
end)

chat.command("probe", "", function(user)
    local ok, err = stale:send("x")
    user:send("send " .. tostring(ok) .. " " .. tostring(err))
    local c1, c2 = stale:close("kicked")
    user:send("close " .. tostring(c1) .. " " .. tostring(c2))
    local r1, r2 = stale:rename("zombie")
    user:send("rename " .. tostring(r1) .. " " .. tostring(r2))
    user:send(string.format("fields online=%s name=%s addr=%s joined=%s " ..
        "idle=%s data=%s", tostring(stale.online), tostring(stale.name),
        tostring(stale.addr), tostring(stale.joined), tostring(stale.idle),
        tostring(stale.data)))
    user:send("id " .. math.type(stale.id) .. " tostring " .. tostring(stale))
    user:send("name==nil " .. tostring(stale.name == nil) ..
        " online==false " .. tostring(stale.online == false))
    user:send("find " .. tostring(chat.find(tostring(stale.name))))
end)

chat.command("me", "", function(user)
    local idle = user.idle
    user:send(string.format("me id=%s name=%s addr=%s online=%s " ..
        "joined=%s idle=%s", math.type(user.id), user.name, user.addr,
        tostring(user.online), type(user.joined),
        tostring(type(idle) == "number" and idle >= 0)))
    user:send("tostring " .. tostring(user))
    user:send("same " .. tostring(chat.find(user.name) == user) .. " " ..
        tostring(rawequal(chat.users()[1], stale)))
end)

chat.command("setfield", "", function(user)
    user:send("w1 " .. try(function() user.name = "x" end))
    user:send("w2 " .. try(function() user.foo = 1 end))
    user:send("nosuch " .. tostring(user.nosuch))
end)

chat.command("put", "", function(user, v)
    user.data.v = v
    user:send("put " .. tostring(v))
end)

chat.command("get", "", function(user, who)
    local u = who and chat.find(who) or user
    if not u then user:send("get: no user") return end
    user:send("get " .. tostring(u.data.v) .. " hook=" ..
        tostring(u.data.joined_hook))
end)

chat.command("users", "", function(user)
    local names = {}
    for i, u in ipairs(chat.users()) do names[i] = u.name end
    user:send("users " .. #names .. " " .. table.concat(names, ","))
end)

chat.command("names", "", function(user)
    local names = chat.names()
    user:send("names " .. #names .. " " .. table.concat(names, ","))
end)

chat.command("nick", "", function(user, name)
    user:send("nick " .. tostring(user:rename(name)))
end)

chat.command("shout", "", function(user, text)
    chat.broadcast("shout " .. text)
end)

chat.command("shoutx", "", function(user, text)
    chat.broadcast("shoutx " .. text, user)
    user:send("shoutx sent")
end)

chat.command("sendmany", "", function(user)
    user:send("line one")
    local ok = user:send("line\ttwo\r\nthree")
    user:send("send returned " .. tostring(ok))
end)
""" + ct.SYNC_PLUGIN


class HandleTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-handles.lua": HANDLES}, room=False)
        self.srv.start()
        self.addCleanup(self.srv.stop)

    def test_stale_handle_after_user_left(self):
        first = self.srv.client(join=False)
        first.sync("1")
        other = self.srv.client(join=False)
        other.sync("2")
        first.close()
        self.srv.wait_log(r"client 1 \(\S+\) left: closed")
        other.sendline("probe")
        self.assertEqual(other.line(), "send nil gone")
        self.assertEqual(other.line(), "close nil gone")
        self.assertEqual(other.line(), "rename nil gone")
        self.assertEqual(other.line(), "fields online=false name=nil "
                         "addr=nil joined=nil idle=nil data=nil")
        # the id stays readable: it is what the handle holds
        self.assertEqual(other.line(), "id integer tostring user #1 (gone)")
        self.assertEqual(other.line(), "name==nil true online==false true")
        self.assertEqual(other.line(), "find nil")
        # the server is fine, the other user too
        self.assertEqual(other.ask("users"), "users 1 " + other.name)

    def test_stale_handle_not_reused_by_a_new_user(self):
        first = self.srv.client(join=False)
        first.sync("1")
        first.close()
        self.srv.wait_log(r"client 1 \(\S+\) left: closed")
        # a new user (even one reusing the name) is not the old handle
        c = self.srv.client(join=False)
        c.sendline("probe")
        self.assertEqual(c.line(), "send nil gone")
        c.read_until("find nil")

    def test_fields_of_a_live_user(self):
        c = self.srv.client(join=False)
        c.sendline("me")
        c.expect("me id=integer name=%s addr=%s online=true joined=number "
                 "idle=true" % (c.name, c.name))
        c.expect("tostring user " + c.name)
        c.expect("same true true")

    def test_fields_are_read_only(self):
        c = self.srv.client(join=False)
        c.sendline("setfield")
        self.assertRegex(c.line(), r"^w1 false .*read-only")
        self.assertRegex(c.line(), r"^w2 false .*read-only")
        c.expect("nosuch nil")

    def test_user_data_is_per_user(self):
        a = self.srv.client(join=False)
        b = self.srv.client(join=False)
        self.assertEqual(a.ask("put|apple"), "put apple")
        self.assertEqual(b.ask("put|banana"), "put banana")
        self.assertEqual(a.ask("get"), "get apple hook=true")
        self.assertEqual(b.ask("get"), "get banana hook=true")
        self.assertEqual(b.ask("get|" + a.name), "get apple hook=true")

    def test_users_broadcast_and_except(self):
        a = self.srv.client(join=False)
        b = self.srv.client(join=False)
        c = self.srv.client(join=False)
        for x in (a, b, c):  # all three accepted before asking
            x.sync()
        self.assertEqual(b.ask("users"),
                         "users 3 %s,%s,%s" % (a.name, b.name, c.name))
        a.sendline("shout|hello all")
        for x in (a, b, c):
            x.expect("shout hello all")
        a.sendline("shoutx|not me")
        a.expect("shoutx sent")
        b.expect("shoutx not me")
        c.expect("shoutx not me")
        self.assertEqual(a.sync("x"), ["_sync x"])

    def test_names_follow_joins_renames_and_leaves(self):
        a = self.srv.client(join=False)
        b = self.srv.client(join=False)
        c = self.srv.client(join=False)
        c.sync("c")     # c is registered before b asks
        self.assertEqual(b.ask("names"),
                         "names 3 %s,%s,%s" % (a.name, b.name, c.name))
        self.assertEqual(b.ask("nick|bob"), "nick true")
        a.close()
        self.srv.wait_log(r"client 1 \(\S+\) left: closed")
        self.assertEqual(c.ask("names"), "names 2 bob,%s" % c.name)
        # the same list, in the same order, as chat.users() and u.name
        self.assertEqual(c.ask("users"), "users 2 bob,%s" % c.name)

    def test_send_cleans_control_characters(self):
        c = self.srv.client(join=False)
        c.sendline("sendmany")
        c.expect("line one")
        # one line: CR and LF cannot split it, the tab stays
        c.expect("line\ttwothree")
        c.expect("send returned true")


if __name__ == "__main__":
    ct.main()
