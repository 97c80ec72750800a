#!/usr/bin/env python3
"""chat.command: registration, dispatch, arguments, replacement, help."""

import unittest

import chatdtest as ct

ECHO = r"""
-- args: nil without a '|', else the raw text after the first '|'
chat.command("echo", "echo|<text>: say it back", function(user, args)
    if args == nil then
        user:send("echo: nil")
    else
        user:send("echo: string <" .. args .. "> " .. #args)
    end
end)

chat.command("dup", "dup: from the first file", function(user)
    user:send("dup: first")
end)

chat.command("nohelp", nil, function(user)
    user:send("nohelp ran")
end)

chat.command("late", "late: try to register at run time", function(user)
    chat.command("sneaky", "x", function() end)
    user:send("late: not reached")
end)

chat.command("lateon", "lateon: try chat.on at run time", function(user)
    chat.on("chat", function() end)
    user:send("lateon: not reached")
end)

chat.command("list", "list: chat.commands()", function(user)
    for _, c in ipairs(chat.commands()) do
        local plugin = c.plugin:match("[^/]+$")
        user:send("cmd " .. c.name .. " | " .. c.help .. " | " .. plugin)
    end
    user:send("end of list")
end)

-- what chat hooks see, to tell a command from a chat line
chat.on("chat", function(user, text)
    user:send("chat: " .. text)
end)
"""

REPLACE = r"""
chat.command("dup", "dup: from the second file", function(user)
    user:send("dup: second")
end)
"""

BAD_NAMES = r"""
local results = {}
for _, n in ipairs({"", "a|b"}) do
    local ok, err = pcall(chat.command, n, "h", function() end)
    results[#results + 1] = tostring(ok) .. ":" .. tostring(err)
end
local ok, err = pcall(chat.command, "nofn", "h", 42)
results[#results + 1] = tostring(ok) .. ":" .. tostring(err)
chat.command("badnames", "", function(user)
    for _, r in ipairs(results) do user:send(r) end
    user:send("done")
end)
"""


class CommandTests(unittest.TestCase):

    def setUp(self):
        self.srv = ct.PluginServer(plugins={
            "50-echo.lua": ECHO,
            "60-replace.lua": REPLACE,
            "70-badnames.lua": BAD_NAMES,
        }, room=False)
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.c = self.srv.client(join=False)

    def test_args_nil_without_bar(self):
        self.assertEqual(self.c.ask("echo"), "echo: nil")

    def test_args_empty_string_after_bar(self):
        self.assertEqual(self.c.ask("echo|"), "echo: string <> 0")

    def test_args_raw_rest_after_first_bar(self):
        self.assertEqual(self.c.ask("echo|a|b c "), "echo: string <a|b c > 6")
        self.assertEqual(self.c.ask("echo| hi"), "echo: string < hi> 3")

    def test_command_name_is_exact(self):
        # "echo x" names no command: it is chat; so is "Echo".
        self.assertEqual(self.c.ask("echo x"), "chat: echo x")
        self.assertEqual(self.c.ask("Echo"), "chat: Echo")
        self.assertEqual(self.c.ask("hello"), "chat: hello")

    def test_later_file_replaces_command(self):
        self.assertEqual(self.c.ask("dup"), "dup: second")
        self.srv.wait_log(r"command 'dup' of \S*50-echo\.lua replaced by "
                          r"\S*60-replace\.lua")

    def test_commands_listing_sorted_with_help_and_plugin(self):
        self.c.sendline("list")
        lines = self.c.read_until("end of list")[:-1]
        self.assertEqual(lines, [
            "cmd badnames |  | 70-badnames.lua",
            "cmd dup | dup: from the second file | 60-replace.lua",
            "cmd echo | echo|<text>: say it back | 50-echo.lua",
            "cmd late | late: try to register at run time | 50-echo.lua",
            "cmd lateon | lateon: try chat.on at run time | 50-echo.lua",
            "cmd list | list: chat.commands() | 50-echo.lua",
            "cmd nohelp |  | 50-echo.lua",
        ])

    def test_nil_help_is_allowed(self):
        self.assertEqual(self.c.ask("nohelp"), "nohelp ran")

    def test_register_at_run_time_is_an_error(self):
        m = self.srv.mark()
        self.assertEqual(self.c.ask("late"), "! internal error")
        self.srv.wait_log(r"error: lua: \S*50-echo\.lua:\d+: chat\.command "
                          r"may only be called while plugins load", after=m)
        self.assertEqual(self.c.ask("lateon"), "! internal error")
        self.srv.wait_log(r"chat\.on may only be called while plugins load",
                          after=m)
        self.assertEqual(self.c.ask("sneaky"), "chat: sneaky")

    def test_bad_registrations_raise(self):
        self.c.sendline("badnames")
        lines = self.c.read_until("done")[:-1]
        self.assertEqual(len(lines), 3, lines)
        for line in lines:
            self.assertTrue(line.startswith("false:"), line)
        self.assertIn("'|'", lines[0])
        self.assertIn("'|'", lines[1])
        self.assertIn("function expected", lines[2])


HELPED = r"""
chat.command("zap", "zap|<who>: zap someone", function(user) end)
chat.command("bare", nil, function(user) end)
"""


class HelpTests(unittest.TestCase):

    def test_help_lists_every_command_with_its_help(self):
        with ct.PluginServer(plugins={"50-helped.lua": HELPED}) as srv:
            c = srv.client()
            c.sendline("help")
            c.expect("* commands:")
            lines = c.read_until("*   zap|<who>: zap someone")
            self.assertEqual(lines, [
                "*   bare",          # no help: the name
                "*   exit: leave the room",
                "*   help: list the commands",
                "*   quit: leave the room",
                "*   rename|<name>: choose a new name",
                "*   who: list the users online and their addresses",
                "*   zap|<who>: zap someone",
            ])
            c.no_line(0.3)


if __name__ == "__main__":
    ct.main()
