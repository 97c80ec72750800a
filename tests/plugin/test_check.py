#!/usr/bin/env python3
"""chatd -t: load every plugin, print "ok" (exit 0) or the first error as
"FILE:LINE: message" on stderr (exit 1)."""

import os
import unittest

import chatdtest as ct

GOOD = r"""
chat.command("hello", "hello: greet", function(user) user:send("hi") end)
chat.on("join", function(user) end)
chat.timer(10, function() end)
chat.every(10, function() end)
"""


class CheckTests(unittest.TestCase):

    def report(self, r):
        """The last line of stderr: the report (log lines may precede)."""
        lines = r.stderr.strip().splitlines()
        self.assertTrue(lines, "nothing on stderr")
        return lines[-1]

    def failed(self, plugins, room=False, config=None):
        r, pdir = ct.run_check(plugins, room=room, config=config)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, "", r)
        return self.report(r), pdir

    def test_good_plugins(self):
        r, _ = ct.run_check({"50-good.lua": GOOD}, room=True)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"])

    def test_syntax_error(self):
        line, pdir = self.failed({"50-good.lua": GOOD,
                                  "60-bad.lua": "local x = 1\n\nlocal = = 3\n"},
                                 room=True)
        self.assertEqual(line, "%s/60-bad.lua:3: <name> expected near '='"
                         % pdir)

    def test_runtime_error(self):
        line, pdir = self.failed({"60-bad.lua": "-- fine\n\n"
                                  "error('broken at load')\n"})
        self.assertEqual(line, "%s/60-bad.lua:3: broken at load" % pdir)

    def test_runtime_error_in_nested_function(self):
        src = ("local function f(t)\n"
               "    return t.x.y\n"
               "end\n"
               "f({})\n")
        line, pdir = self.failed({"60-bad.lua": src})
        self.assertEqual(line, "%s/60-bad.lua:2: attempt to index a nil "
                         "value (field 'x')" % pdir)

    def test_api_misuse_at_load(self):
        line, pdir = self.failed({"60-bad.lua": "\nchat.on('joined', "
                                  "function() end)\n"})
        self.assertRegex(line, r"^%s/60-bad\.lua:2: bad argument #1 to "
                         r"'on' \(unknown event 'joined'" % pdir)

    def test_first_broken_file_is_reported(self):
        line, pdir = self.failed({"60-a.lua": "error('first')\n",
                                  "70-b.lua": "error('second')\n"})
        self.assertEqual(line, "%s/60-a.lua:1: first" % pdir)

    def test_runaway_loop_at_load(self):
        # the report must name the plugin, like every other error
        line, pdir = self.failed({"60-loop.lua": "local n = 0\n"
                                  "while true do n = n + 1 end\n"})
        self.assertRegex(line, r"^%s/60-loop\.lua:2: instruction limit "
                         r"exceeded" % pdir)

    def test_memory_bomb_at_load(self):
        src = ('local t = {} while true do t[#t+1] = string.rep("x", 1e6) '
               '.. #t end\n')
        line, pdir = self.failed({"60-bomb.lua": src},
                                 config={"lua": {"memory_limit": 16777216,
                                                 "max_time": 10000}})
        self.assertIn("not enough memory", line)
        self.assertIn("%s/60-bomb.lua" % pdir, line)

    def test_unreadable_plugin_names_its_path_once(self):
        # a directory whose name ends in .lua
        d = ct.mkdtemp()
        pdir = ct.make_plugin_dir({}, base="",
                                  dirpath=os.path.join(d, "plugins"))
        os.mkdir(os.path.join(pdir, "50-dir.lua"))
        cfg = ct.merge_config(ct.PluginServer.DEFAULTS, {"lua": {"path": pdir}})
        path = ct.write_file(os.path.join(d, "chatd.ini"), ct.format_ini(cfg))
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(self.report(r), "%s/50-dir.lua: cannot read: Is a "
                         "directory" % pdir)

    def test_bad_plugin_path_names_the_config_line(self):
        d = ct.mkdtemp()
        path = ct.write_file(os.path.join(d, "chatd.ini"),
                             "[server]\nport = 0\n[lua]\npath = nowhere\n")
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(self.report(r), "%s:4: %s/nowhere: cannot open "
                         "plugin directory: No such file or directory"
                         % (path, d))

    def test_config_error_is_reported_first(self):
        line, _ = self.failed({"50-good.lua": GOOD},
                              config={"lua": {"memory_limit": 5}})
        self.assertIn("memory_limit", line)


if __name__ == "__main__":
    ct.main()
