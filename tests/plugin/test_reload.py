#!/usr/bin/env python3
"""SIGHUP: the config and every plugin reload into a fresh Lua state, all
or nothing.  Users keep their connections and names; user.data and timers
of the old state go."""

import unittest
import time

import chatdtest as ct

BASE = r"""
local generation = "v1"

chat.command("gen", "", function(user)
    user:send("gen " .. generation)
end)

chat.command("put", "", function(user, v)
    user.data.v = v
    user:send("put " .. v)
end)

chat.command("get", "", function(user)
    user:send("get " .. tostring(user.data.v))
end)

chat.command("tick", "", function(user)
    chat.every(0.1, function() user:send("tick") end)
    user:send("ticking")
end)

chat.command("greeting", "", function(user)
    local p = chat.config.plugin.demo
    user:send("greeting " .. tostring(p and p.greeting))
end)

chat.command("port", "", function(user)
    user:send("port " .. tostring(chat.config.server.port) .. " bind " ..
        tostring(chat.config.server.bind))
end)

chat.command("count", "", function(user)
    user:send("count " .. #chat.users())
end)
""" + ct.SYNC_PLUGIN

NEW_COMMAND = r"""
chat.command("fresh", "fresh: added by a reload", function(user)
    user:send("fresh from " .. user.name)
end)
"""

SYNTAX_ERROR = """-- a syntax error on line 3
local x = 1
chat.command("broken", "", function(user) end
"""

RUNTIME_ERROR = """-- fails while loading, on line 2
local t = nil; local y = t.field
"""

BAD_EVENT = """chat.on("nonsense", function() end)
"""


class ReloadTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={"50-base.lua": BASE}, room=True,
                          config={"plugin.demo": {"greeting": "hi"}})
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.a = self.srv.client()
        self.b = self.srv.client()
        self.a.expect("* %s joined" % self.b.name)
        self.a.sendline("rename|alice")
        self.a.expect("* you are now alice")
        self.b.expect("* %s is now alice" % self.a.name)
        self.b.sendline("rename|bob")
        self.b.expect("* you are now bob")
        self.a.expect("* %s is now bob" % self.b.name)

    def assert_room_intact(self):
        """Both users online, with their names, chatting."""
        self.a.sendline("who")
        self.a.expect("* online (2):")
        self.a.expect_match(r"\*   alice 127\.0\.0\.1:\d+")
        self.a.expect_match(r"\*   bob 127\.0\.0\.1:\d+")
        self.b.sendline("still here")
        self.a.expect("[bob]: still here")
        self.b.expect("[bob]: still here")

    def reload(self, expect_ok):
        ok, line = self.srv.reload()
        self.assertEqual(ok, expect_ok, line)
        return line

    def test_reload_adds_a_command_and_keeps_users(self):
        self.assertEqual(self.a.ask("fresh"), "[alice]: fresh")
        self.b.expect("[alice]: fresh")
        self.srv.add_plugin("60-new.lua", NEW_COMMAND)
        self.reload(True)
        self.assertEqual(self.a.ask("fresh"), "fresh from alice")
        self.assertEqual(self.b.ask("fresh"), "fresh from bob")
        self.assert_room_intact()
        self.assertEqual(self.b.ask("count"), "count 2")
        self.b.sendline("help")
        self.assertIn("*   fresh: added by a reload",
                      self.b.read_until("*   who|[<prefix>[|<page>]]: list "
                                        "the users online (a page at a time "
                                        "in a big room), or those whose "
                                        "names start with <prefix>"))

    def test_reload_drops_user_data_and_timers(self):
        self.assertEqual(self.a.ask("put|kept?"), "put kept?")
        self.assertEqual(self.a.ask("get"), "get kept?")
        self.assertEqual(self.b.ask("tick"), "ticking")
        self.b.expect("tick")
        self.reload(True)
        self.assertEqual(self.a.ask("get"), "get nil")
        # ticks in flight before the reload may still arrive; then none
        self.b.sync("t")
        self.b.no_line(0.5)
        self.assert_room_intact()

    def test_reload_picks_up_config_changes(self):
        self.assertEqual(self.a.ask("greeting"), "greeting hi")
        self.srv.config["plugin.demo"]["greeting"] = "hello again"
        self.srv.write_config()
        self.reload(True)
        self.assertEqual(self.a.ask("greeting"), "greeting hello again")
        del self.srv.config["plugin.demo"]
        self.srv.write_config()
        self.reload(True)
        self.assertEqual(self.a.ask("greeting"), "greeting nil")

    def test_port_change_needs_a_restart(self):
        self.assertEqual(self.a.ask("port"), "port 0 bind 127.0.0.1")
        self.srv.config["server"]["port"] = 1
        self.srv.config["server"]["bind"] = "127.0.0.2"
        self.srv.write_config()
        m = self.srv.mark()
        self.reload(True)
        for key in ("port", "bind"):
            self.srv.wait_log(r"warn: reload: \[server\] %s changed; it takes "
                              r"effect when chatd is restarted" % key,
                              after=m)
        self.assert_room_intact()
        # new users still come in on the running address and port
        c = self.srv.client()
        self.a.expect("* %s joined" % c.name)
        # plugins see the running values, not the file's
        self.assertEqual(self.a.ask("port"), "port 0 bind 127.0.0.1")

    def check_failed_reload(self, name, src, where, message):
        self.srv.add_plugin("60-new.lua", NEW_COMMAND)
        self.srv.add_plugin(name, src)
        line = self.reload(False)
        self.assertIn("reload failed: %s:%d: " % (self.srv.plugin_path(name),
                                                 where), line)
        self.assertIn(message, line)
        self.assertIn("keeping the running configuration and plugins", line)
        self.assertTrue(self.srv.alive())
        # the old plugins work; the new file loaded in vain
        self.assertEqual(self.a.ask("gen"), "gen v1")
        self.assertEqual(self.a.ask("fresh"), "[alice]: fresh")
        self.b.expect("[alice]: fresh")
        self.assert_room_intact()
        # fix it: the next reload succeeds
        self.srv.remove_plugin(name)
        self.reload(True)
        self.assertEqual(self.a.ask("fresh"), "fresh from alice")
        self.assert_room_intact()

    def test_reload_with_syntax_error_keeps_old_plugins(self):
        # the parser notices at the end of the file, line 4
        self.check_failed_reload("70-syntax.lua", SYNTAX_ERROR, 4,
                                 "')' expected (to close '(' at line 3)")

    def test_reload_with_runtime_error_keeps_old_plugins(self):
        self.check_failed_reload("70-runtime.lua", RUNTIME_ERROR, 2,
                                 "attempt to index a nil value "
                                 "(local 't')")

    def test_reload_with_bad_event_keeps_old_plugins(self):
        self.check_failed_reload("70-event.lua", BAD_EVENT, 1,
                                 "unknown event 'nonsense'")

    def test_failed_reload_keeps_user_data(self):
        self.assertEqual(self.a.ask("put|survives"), "put survives")
        self.srv.add_plugin("70-syntax.lua", SYNTAX_ERROR)
        self.reload(False)
        self.assertEqual(self.a.ask("get"), "get survives")

    def test_reload_with_bad_config_keeps_everything(self):
        with open(self.srv.config_path, "a") as f:
            f.write("\n[nosuchsection]\nkey = 1\n")
        line = self.reload(False)
        self.assertIn("unknown section [nosuchsection]", line)
        self.assertEqual(self.a.ask("greeting"), "greeting hi")
        self.assert_room_intact()

    def test_changed_plugin_replaces_old_code(self):
        self.srv.add_plugin("50-base.lua",
                            BASE.replace('"v1"', '"v2"'))
        self.reload(True)
        self.assertEqual(self.a.ask("gen"), "gen v2")
        self.assertEqual(self.b.ask("gen"), "gen v2")

    def test_many_reloads(self):
        for i in range(10):
            self.srv.add_plugin("50-base.lua",
                                BASE.replace('"v1"', '"v%d"' % i))
            self.reload(True)
            self.assertEqual(self.a.ask("gen"), "gen v%d" % i)
        self.assert_room_intact()


# Finalizers run when a Lua state closes (a reload replaces it, shutdown
# ends it); what they do then must not reach freed timers or arm timers
# for a state that is gone.
FINALIZERS = {
    "cancel": r"""
local t = chat.every(10, function() end)
keep = setmetatable({}, {__gc = function()
    chat.log("info", "finalizer: cancel " .. tostring(t:cancel()))
end})
""",
    "arm": r"""
keep = setmetatable({}, {__gc = function()
    chat.timer(0.2, function() chat.log("info", "zombie timer fired") end)
    chat.log("info", "finalizer: armed")
end})
""",
    "send": r"""
local users = {}
chat.on("join", function(user) users[#users + 1] = user end)
keep = setmetatable({}, {__gc = function()
    for _, u in ipairs(users) do u:send("finalizer says bye") end
    chat.broadcast("finalizer broadcast")
end})
""",
}


class FinalizerTests(unittest.TestCase):

    def server(self, which):
        # Finalizers exist only with the whole standard library.
        srv = ct.PluginServer(plugins={"50-fin.lua": FINALIZERS[which],
                              "60-ping.lua": ct.SYNC_PLUGIN}, room=False,
                     config={"lua": {"unsafe": "true"}})
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def survives_reload(self, which):
        srv = self.server(which)
        c = srv.client(join=False)
        self.assertEqual(c.sync("1"), ["_sync 1"])
        ok, line = srv.reload()
        self.assertTrue(ok, line)
        ok, line = srv.reload()   # and the state made by the first
        self.assertTrue(ok, line)
        time.sleep(0.4)           # past any timer a finalizer armed
        self.assertTrue(srv.alive())
        c.sendline("_sync|2")
        c.read_until("_sync 2")
        return srv, c

    def test_finalizer_cancelling_a_timer_at_reload(self):
        self.survives_reload("cancel")

    def test_finalizer_arming_a_timer_at_reload(self):
        srv, _ = self.survives_reload("arm")
        self.assertNotIn("zombie timer fired", srv.log_text())

    def test_finalizer_sending_at_reload(self):
        self.survives_reload("send")

    def test_finalizers_at_shutdown(self):
        for which in sorted(FINALIZERS):
            with self.subTest(which=which):
                srv = self.server(which)
                c = srv.client(join=False)
                self.assertEqual(c.sync("1"), ["_sync 1"])
                c.close()
                self.assertEqual(srv.stop(check=False), 0, srv.log_text()[-3000:])


if __name__ == "__main__":
    ct.main()
