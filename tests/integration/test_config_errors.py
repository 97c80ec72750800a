#!/usr/bin/env python3
"""Config errors: FILE:LINE: message on stderr and exit status 1, both with
-t and at startup; the right line; valid files accepted."""

import os
import re
import unittest

import chatdtest as ct

HEAD = ["; chatd test config", "[server]", "bind = 127.0.0.1", "port = 0", ""]

# (name, lines, index of the line to report (0-based) or None, word the
# message should mention or None).  "@PLUGINS@" is replaced.
CASES = [
    ("unknown_section",
     HEAD + ["[bogus]", "; a comment", "", "foo = 1", "bar = 2"], 8, None),
    ("unknown_section_after_plugin",
     HEAD + ["[plugin.fine]", "anything = goes", "[nosuch]", "", "k = v"],
     9, None),
    ("unknown_key", HEAD[:4] + ["colour = red", "max_clients = 5"], 4,
     "colour"),
    ("key_in_wrong_section",
     HEAD + ["[limits]", "burst = 5", "port = 1"], 7, "port"),
    ("port_too_big", HEAD[:3] + ["port = 70000"], 3, "port"),
    ("port_negative", HEAD[:3] + ["", "port = -1"], 4, "port"),
    ("port_not_number", HEAD[:3] + ["port = abc"], 3, "port"),
    ("port_trailing_garbage", HEAD[:3] + ["port = 80x"], 3, "port"),
    ("port_empty", HEAD[:3] + ["port ="], 3, "port"),
    ("port_overflow", HEAD[:3] + ["port = 99999999999999999999999"], 3,
     "port"),
    ("idle_timeout_negative", HEAD + ["[server]", "idle_timeout = -5"], 6,
     "idle_timeout"),
    ("max_clients_not_number", HEAD[:4] + ["max_clients = 10x"], 4,
     "max_clients"),
    ("max_line_not_number", HEAD + ["[buffers]", "max_line = lots"], 6,
     "max_line"),
    ("output_limit_negative",
     HEAD + ["[buffers]", "max_line = 100", "output_limit = -1"], 7,
     "output_limit"),
    ("lines_per_second_negative",
     HEAD + ["[limits]", "lines_per_second = -1"], 6, "lines_per_second"),
    ("burst_not_number", HEAD + ["[limits]", "burst = ten"], 6, "burst"),
    ("max_per_ip_negative", HEAD + ["[limits]", "max_per_ip = -3"], 6,
     "max_per_ip"),
    ("max_instructions_not_number",
     HEAD + ["[lua]", "path = @PLUGINS@", "max_instructions = many"], 7,
     "max_instructions"),
    ("memory_limit_not_number",
     HEAD + ["[lua]", "path = @PLUGINS@", "memory_limit = 64M?"], 7,
     "memory_limit"),
    ("unsafe_not_bool",
     HEAD + ["[lua]", "path = @PLUGINS@", "unsafe = perhaps"], 7, "unsafe"),
    ("log_level_bad", HEAD + ["[log]", "level = loud"], 6, "level"),
    ("unknown_lua_key", HEAD + ["[lua]", "path = @PLUGINS@", "paht = x"], 7,
     "paht"),
    ("syntax_error_line", HEAD + ["this line has no equals sign"], 5, None),
]


class ConfigErrorTest(unittest.TestCase):

    def setUp(self):
        self.dir = ct.mkdtemp()

    def write(self, lines, name="bad-config.ini"):
        text = "\n".join(lines).replace("@PLUGINS@", ct.PLUGINS) + "\n"
        if not any(l.strip() == "[lua]" for l in lines):
            text += "[lua]\npath = %s\n" % ct.PLUGINS
        return ct.write_file(os.path.join(self.dir, name), text)

    def check_error(self, r, name, lineno, word):
        self.assertEqual(r.returncode, 1, "%s: exit status %s, stdout %r, "
                         "stderr %r" % (name, r.returncode, r.stdout,
                                        r.stderr))
        self.assertEqual(r.stdout, "", name)
        self.assertNotIn("listening on", r.stderr, name)
        if lineno is not None:
            self.assertRegex(r.stderr, r"bad-config\.ini:%d:" % lineno,
                             "%s: no FILE:%d: in stderr %r"
                             % (name, lineno, r.stderr))
            # No other line blamed in the same file.
            for m in re.finditer(r"bad-config\.ini:(\d+):", r.stderr):
                self.assertEqual(int(m.group(1)), lineno,
                                 "%s: %r" % (name, r.stderr))
        if word:
            self.assertIn(word, r.stderr, name)

    def test_check_mode(self):
        for name, lines, idx, word in CASES:
            with self.subTest(case=name):
                path = self.write(lines)
                r = ct.run_chatd(["-t", "-c", path])
                self.check_error(r, name, None if idx is None else idx + 1,
                                 word)

    def test_startup(self):
        # Without -t: the same error, exit 1, never listening.
        for name, lines, idx, word in CASES:
            if name not in ("unknown_section", "unknown_key", "port_too_big",
                            "port_not_number", "idle_timeout_negative",
                            "log_level_bad"):
                continue
            with self.subTest(case=name):
                path = self.write(lines)
                r = ct.run_chatd(["-c", path], timeout=5)
                self.check_error(r, name, idx + 1, word)

    def test_valid_variants_accepted(self):
        # Comments, blank lines, spaces around '=', limits at their edges,
        # plugin sections with arbitrary keys.
        good = [
            "; comment", "# another comment", "",
            "[server]", "bind = 127.0.0.1", "port=0", "max_clients = 1",
            "idle_timeout = 0", "",
            "[buffers]", "max_line = 1024", "output_limit = 262144",
            "[limits]", "lines_per_second = 0", "burst = 40",
            "max_per_ip = 0",
            "[lua]", "path = @PLUGINS@", "unsafe = false",
            "[log]", "level = debug",
            "[plugin.x]", "whatever = 1", "more = a b c",
        ]
        for port in ("0", "65535", "1"):
            with self.subTest(port=port):
                lines = [l if l != "port=0" else "port=" + port for l in good]
                r = ct.run_chatd(["-t", "-c", self.write(lines)])
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)
        for level in ("error", "warn", "info", "debug"):
            with self.subTest(level=level):
                lines = [l if l != "level = debug" else "level = " + level
                         for l in good]
                r = ct.run_chatd(["-t", "-c", self.write(lines)])
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)

    def test_error_names_given_path(self):
        # The file is named as the operator gave it.
        sub = os.path.join(self.dir, "sub")
        os.makedirs(sub)
        ct.write_file(os.path.join(sub, "x.ini"),
                      "[server]\nport = 0\nnope = 1\n")
        r = ct.run_chatd(["-t", "-c", os.path.join(sub, "x.ini")])
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, r"x\.ini:3:")
        r = ct.run_chatd(["-t", "-c", "sub/x.ini"], cwd=self.dir)
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, r"x\.ini:3:")

    def test_unreadable_file(self):
        # A directory opens but cannot be read: an error naming the path
        # and the reason, with -t and at startup, never the defaults.
        for args in (["-t", "-c", self.dir], ["-c", self.dir]):
            with self.subTest(args=args):
                r = ct.run_chatd(args, timeout=5)
                self.assertEqual(r.returncode, 1, r)
                self.assertEqual(r.stdout, "")
                self.assertIn("%s: cannot read: Is a directory" % self.dir,
                              r.stderr)
                self.assertNotIn("listening on", r.stderr)


if __name__ == "__main__":
    unittest.main()
