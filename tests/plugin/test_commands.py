#!/usr/bin/env python3
"""chat.command: entries and the short form, dispatch, arguments checked
by chatd, aliases, replacement, help."""

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
chat.command{name = "dup", help = "from the second file", replaces = true,
             run = function(user) user:send("dup: second") end}
"""

# Entries: aliases, arity and usage checked by chatd before run is called.
ENTRIES = r"""
chat.command{
    name = "greet", aliases = {"hi", "hello"},
    help = "say hello",
    run = function(user, ...)
        user:send("greet ran with " .. select("#", ...) .. " args")
    end,
}
chat.command{
    name = "pm", args = 2, usage = "<name>|<text>", help = "two args",
    run = function(user, name, text)
        user:send("pm <" .. name .. "> <" .. text .. ">")
    end,
}
chat.command{
    name = "opt", args = {1, 3}, usage = "<a>[|<b>[|<c>]]",
    run = function(user, a, b, c)
        user:send("opt " .. tostring(a) .. " " .. tostring(b) .. " " ..
                  tostring(c))
    end,
}
chat.command{
    name = "list",
    run = function(user)
        for _, c in ipairs(chat.commands()) do
            local plugin = c.plugin:match("[^/]+$")
            user:send("cmd " .. c.name .. " [" .. table.concat(c.aliases, ",")
                      .. "] " .. c.args[1] .. "-" .. c.args[2] .. " usage=" ..
                      tostring(c.usage) .. " help=" .. c.help .. " " .. plugin)
        end
        user:send("end of list")
    end,
}
chat.on("chat", function(user, text) user:send("chat: " .. text) end)
"""

# Each bad entry, tried with pcall at load time; the errors are reported by
# the command "bad".
BAD_ENTRIES = r"""
local tries = {
    {name = "x", run = 42},
    {name = "x"},
    {name = "x", bogus = 1, run = print},
    {name = "x", args = 2, run = print},
    {name = "x", args = {2, 1}, usage = "u", run = print},
    {name = "x", args = 17, usage = "u", run = print},
    {name = "x", aliases = {"x"}, run = print},
    {name = "x", aliases = "y", run = print},
    {name = "x|y", run = print},
    {name = "greet", run = print},
    {name = "fresh", aliases = {"hi"}, run = print},
}
local results = {}
for i, e in ipairs(tries) do
    local ok, err = pcall(chat.command, e)
    results[i] = tostring(ok) .. ":" .. tostring(err)
end
chat.command{name = "bad", run = function(user)
    for _, r in ipairs(results) do user:send(r) end
    user:send("done")
end}
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

    def test_later_file_replaces_command_when_it_says_so(self):
        self.assertEqual(self.c.ask("dup"), "dup: second")
        self.srv.wait_log(r"command 'dup' of \S*50-echo\.lua replaced by "
                          r"\S*60-replace\.lua")

    def test_commands_listing_sorted_with_help_and_plugin(self):
        self.c.sendline("list")
        lines = self.c.read_until("end of list")[:-1]
        self.assertEqual(lines, [
            "cmd badnames |  | 70-badnames.lua",
            "cmd dup | from the second file | 60-replace.lua",
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


class EntryTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.PluginServer(plugins={
            "50-entries.lua": ENTRIES,
            "60-bad.lua": BAD_ENTRIES,
        }, room=False)
        cls.srv.start()
        cls.c = cls.srv.client(join=False)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_aliases_are_one_command(self):
        for name in ("greet", "hi", "hello", "hi|extra"):
            with self.subTest(name=name):
                self.assertEqual(self.c.ask(name), "greet ran with 0 args")

    def test_arguments_are_split_the_last_takes_the_rest(self):
        self.assertEqual(self.c.ask("pm|bob|hi|there"), "pm <bob> <hi|there>")
        self.assertEqual(self.c.ask("pm| bob |x"), "pm < bob > <x>")
        self.assertEqual(self.c.ask("opt|a"), "opt a nil nil")
        self.assertEqual(self.c.ask("opt|a|"), "opt a  nil")
        self.assertEqual(self.c.ask("opt|a|b|c|d"), "opt a b c|d")

    def test_missing_or_blank_arguments_get_usage_from_chatd(self):
        for line in ("pm", "pm|", "pm|bob", "pm|bob|", "pm||hi", "pm| |hi",
                     "pm|bob|\t "):
            with self.subTest(line=line):
                self.assertEqual(self.c.ask(line),
                                 "! usage: pm|<name>|<text>")
        self.assertEqual(self.c.ask("opt"), "! usage: opt|<a>[|<b>[|<c>]]")

    def test_commands_lists_entries(self):
        self.c.sendline("list")
        lines = self.c.read_until("end of list")[:-1]
        self.assertEqual(lines, [
            "cmd bad [] 0-0 usage= help= 60-bad.lua",
            "cmd greet [hi,hello] 0-0 usage= help=say hello 50-entries.lua",
            "cmd list [] 0-0 usage= help= 50-entries.lua",
            "cmd opt [] 1-3 usage=<a>[|<b>[|<c>]] help= 50-entries.lua",
            "cmd pm [] 2-2 usage=<name>|<text> help=two args 50-entries.lua",
        ])

    def test_bad_entries_raise(self):
        self.c.sendline("bad")
        lines = self.c.read_until("done")[:-1]
        expect = [
            r"run: function expected, got number",
            r"run: function expected, got nil",
            r"unknown field 'bogus'",
            r"usage: a command that takes arguments says which",
            r"args: from 0 to 16, the least first",
            r"args: from 0 to 16, the least first",
            r"aliases: 'x' is named twice",
            r"aliases: a list of names expected",
            r"name: a command name is not empty and has no '\|'",
            r"command 'greet' is already defined by \S*50-entries\.lua "
            r"\(set replaces = true to replace it\)",
            r"command 'hi' is already defined by \S*50-entries\.lua",
        ]
        self.assertEqual(len(lines), len(expect), lines)
        for line, rx in zip(lines, expect):
            self.assertTrue(line.startswith("false:"), line)
            # (called through pcall, Lua cannot name the function)
            self.assertRegex(line, r"bad argument #1 to '\?' \(" + rx)
        # The failed entries left nothing behind: "fresh" is no command.
        self.assertEqual(self.c.ask("fresh"), "chat: fresh")


REDEFINE = r"""
chat.command{name = "who", run = function(user) user:send("mine") end}
"""

REPLACE_ALIAS = r"""
chat.command{name = "quit", replaces = true,
             run = function(user) user:send("not leaving") end}
"""


class RedefineTests(unittest.TestCase):

    def test_redefining_without_replaces_is_a_load_error(self):
        r, _ = ct.run_check(plugins={"50-redefine.lua": REDEFINE}, room=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"50-redefine\.lua:2: bad argument #1 to "
                         r"'command' \(command 'who' is already defined by "
                         r"\S*20-commands\.lua \(set replaces = true to "
                         r"replace it\)\)")

    def test_replacing_an_alias_keeps_the_rest_of_the_command(self):
        with ct.PluginServer(plugins={"50-quit.lua": REPLACE_ALIAS}) as srv:
            c = srv.client()
            self.assertEqual(c.ask("quit"), "not leaving")
            srv.wait_log(r"command 'quit' of \S*20-commands\.lua replaced "
                         r"by \S*50-quit\.lua's")
            c.sendline("exit")
            c.expect("* bye")
            c.expect_closed()


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
                "*   oper|<name>|<password>: become an operator",
                "*   quit: leave the room",
                "*   rename|<name>: choose a new name",
                "*   who|[<prefix>[|<page>]]: list the users online (a page "
                "at a time in a big room), or those whose names start with "
                "<prefix>",
                "*   zap|<who>: zap someone",
            ])
            c.no_line(0.3)


if __name__ == "__main__":
    ct.main()
