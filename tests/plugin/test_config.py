#!/usr/bin/env python3
"""chat.config (typed keys, [plugin.NAME] sections, read-only), chat.log,
print, chat.version and chat.stats."""

import re
import subprocess
import unittest

import chatdtest as ct

CONFIG = r"""
local function try(f)
    local ok, err = pcall(f)
    return tostring(ok) .. " " .. tostring(err)
end

chat.command("cfg", "", function(user, path)
    local v = chat.config
    for k in path:gmatch("[^.]+") do
        if v == nil then break end
        v = v[k]
    end
    local t = type(v)
    if t == "number" then t = math.type(v) end
    user:send("cfg " .. path .. " = " .. tostring(v) .. " (" .. t .. ")")
end)

chat.command("cfgwrite", "", function(user)
    user:send("w1 " .. try(function() chat.config.server.port = 1 end))
    user:send("w2 " .. try(function() chat.config.newsection = {} end))
    user:send("w3 " .. try(function()
        chat.config.plugin.demo.greeting = "bye" end))
    user:send("w4 " .. try(function() chat.config.plugin.other = {} end))
    user:send("w5 " .. try(function() setmetatable(chat.config, nil) end))
    user:send("mt " .. tostring(getmetatable(chat.config)))
    user:send("after " .. chat.config.plugin.demo.greeting .. " " ..
        tostring(chat.config.server.port))
end)

chat.command("cfgpairs", "", function(user)
    local keys = {}
    for k, v in pairs(chat.config.plugin.demo) do
        keys[#keys + 1] = k .. "=" .. v
    end
    table.sort(keys)
    local secs = {}
    for k in pairs(chat.config) do secs[#secs + 1] = k end
    table.sort(secs)
    user:send("demo " .. table.concat(keys, ","))
    user:send("sections " .. table.concat(secs, ","))
end)

chat.command("logs", "", function(user)
    chat.log("error", "an error line")
    chat.log("warn", "a warn line")
    chat.log("info", "an info line")
    chat.log("debug", "a debug line")
    print("printed", 42, nil, true)
    chat.log("info", "before\0after")
    print("p\0q", "r")
    user:send("logged")
end)

chat.command("badlog", "", function(user)
    user:send("badlog " .. try(function() chat.log("loud", "x") end))
end)

chat.command("version", "", function(user)
    user:send("version " .. chat.version)
end)

chat.command("stats", "", function(user)
    local s = chat.stats()
    local keys = {}
    for k, v in pairs(s) do keys[#keys + 1] = k .. ":" .. type(v) end
    table.sort(keys)
    user:send("stats " .. table.concat(keys, " "))
    user:send(string.format("statv users=%d conns=%d lines=%d up=%s",
        s.users, s.connections, s.lines, tostring(s.uptime >= 0)))
end)
"""


class ConfigTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.PluginServer(plugins={"50-config.lua": CONFIG}, room=False,
                         config={"plugin.demo": {"greeting": "hi",
                                                 "count": 3},
                                 "plugin.other": {"text": "a b  c"},
                                 "lua": {"memory_limit": 33554432}})
        cls.srv.start()
        cls.c = cls.srv.client(join=False)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def cfg(self, path):
        return self.c.ask("cfg|" + path)

    def test_plugin_section_values_are_strings(self):
        self.assertEqual(self.cfg("plugin.demo.greeting"),
                         "cfg plugin.demo.greeting = hi (string)")
        self.assertEqual(self.cfg("plugin.demo.count"),
                         "cfg plugin.demo.count = 3 (string)")
        self.assertEqual(self.cfg("plugin.other.text"),
                         "cfg plugin.other.text = a b  c (string)")
        self.assertEqual(self.cfg("plugin.demo.missing"),
                         "cfg plugin.demo.missing = nil (nil)")
        self.assertEqual(self.cfg("plugin.nosuch"),
                         "cfg plugin.nosuch = nil (nil)")

    def test_typed_server_keys(self):
        self.assertEqual(self.cfg("server.port"),
                         "cfg server.port = 0 (integer)")
        self.assertEqual(self.cfg("server.bind"),
                         "cfg server.bind = 127.0.0.1 (string)")
        self.assertEqual(self.cfg("lua.max_instructions"),
                         "cfg lua.max_instructions = 100000 (integer)")
        self.assertEqual(self.cfg("lua.memory_limit"),
                         "cfg lua.memory_limit = 33554432 (integer)")
        self.assertEqual(self.cfg("lua.unsafe"),
                         "cfg lua.unsafe = false (boolean)")
        self.assertEqual(self.cfg("limits.lines_per_second"),
                         "cfg limits.lines_per_second = 0 (integer)")
        self.assertEqual(self.cfg("log.level"),
                         "cfg log.level = debug (string)")
        # a default the file does not set
        self.assertEqual(self.cfg("buffers.max_line"),
                         "cfg buffers.max_line = 1024 (integer)")
        self.assertEqual(self.cfg("lua.path"),
                         "cfg lua.path = %s (string)" % self.srv.plugin_dir)

    def test_config_is_read_only(self):
        self.c.sendline("cfgwrite")
        lines = [self.c.line() for _ in range(7)]
        for i in range(5):
            self.assertRegex(lines[i], r"^w%d false .*read-only|^w5 false "
                             r".*protected metatable" % (i + 1))
        self.assertEqual(lines[5], "mt false")
        self.assertEqual(lines[6], "after hi 0")

    def test_pairs_walks_the_config(self):
        self.assertEqual(self.c.ask("cfgpairs"), "demo count=3,greeting=hi")
        self.assertEqual(self.c.line(),
                         "sections buffers,cluster,limits,log,lua,metrics,"
                         "plugin,room,server,tls,websocket")

    def test_chat_log_and_print_land_in_the_log(self):
        m = self.srv.mark()
        self.assertEqual(self.c.ask("logs"), "logged")
        where = r"lua: \S*50-config\.lua:\d+: "
        for level, text in (("error", "an error line"),
                            ("warn", "a warn line"),
                            ("info", "an info line"),
                            ("debug", "a debug line")):
            self.srv.wait_log(r"\] %s: %s%s\n" % (level, where, text),
                              after=m)
        # the log escapes the tabs
        self.srv.wait_log(r"\] info: lua: printed\\t42\\tnil\\ttrue\n",
                          after=m)
        # a NUL byte in a Lua string is escaped, and what follows it kept
        self.srv.wait_log(r"\] info: %sbefore\\x00after\n" % where, after=m)
        self.srv.wait_log(r"\] info: lua: p\\x00q\\tr\n", after=m)

    def test_chat_log_rejects_a_bad_level(self):
        self.assertRegex(self.c.ask("badlog"),
                         r"^badlog false .*invalid option 'loud'")

    def test_version_matches_the_binary(self):
        out = subprocess.run([ct.CHATD, "-V"], stdout=subprocess.PIPE,
                             text=True, timeout=10).stdout.strip()
        self.assertEqual("chatd " + self.c.ask("version")[len("version "):],
                         out)

    def test_stats(self):
        self.assertEqual(self.c.ask("stats"),
                         "stats broadcasts:number bytes_out:number "
                         "connections:number lines:number lua_memory:number "
                         "uptime:number users:number")
        m = re.fullmatch(r"statv users=(\d+) conns=(\d+) lines=(\d+) up=true",
                         self.c.line())
        self.assertIsNotNone(m)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertGreaterEqual(int(m.group(2)), 1)
        self.assertGreaterEqual(int(m.group(3)), 1)


class LogLevelTests(unittest.TestCase):

    def test_debug_lines_hidden_at_level_info(self):
        src = r"""
chat.log("debug", "hidden debug")
chat.log("info", "shown info")
"""
        with ct.PluginServer(plugins={"50-l.lua": src}, room=False,
                    config={"log": {"level": "info"}}) as srv:
            srv.wait_log(r"info: lua: \S*50-l\.lua:3: shown info")
            self.assertNotIn("hidden debug", srv.log_text())


if __name__ == "__main__":
    ct.main()
