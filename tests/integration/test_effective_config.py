#!/usr/bin/env python3
"""chatd -t prints the effective configuration before "ok": every key of
the key table (src/config.c) once, in its section, with its value and
where it came from (default, or file:line of the line that set it), then
the [plugin.*] keys; the report is itself a configuration that chatd -t
accepts and reads to the same values.  On an error nothing is printed on
stdout."""

import os
import re
import unittest

import chatdtest as ct

LINE_RE = re.compile(r"^(\w+) = (.*?) +; (default|(.+):(\d+))$")


def table():
    """(section, key, default) of every row of the key table."""
    with open(os.path.join(ct.SRCDIR, "src", "config.c")) as f:
        src = f.read()
    return re.findall(r'\{\s*"(\w+)",\s*"(\w+)",\s*CONF_\w+,[^,]*,[^,]*,'
                      r'\s*(NULL|"[^"]*"),', src)


def report(stdout):
    """{(section, key): (value, origin)} and the section order."""
    keys, order, section = {}, [], None
    lines = stdout.splitlines()
    if lines[-1:] != ["ok"]:
        raise AssertionError("does not end in ok: %r" % stdout[-200:])
    for line in lines[:-1]:
        # A key with no default that the file does not set is a comment:
        # "; node is unset: ..."
        m = re.match(r"; (\w+) is unset: ", line)
        if m:
            keys[(section, m.group(1))] = (None, "unset")
            continue
        if not line or line.startswith(";"):
            continue
        m = re.fullmatch(r"\[([\w.]+)\]", line)
        if m:
            section = m.group(1)
            order.append(section)
            continue
        m = LINE_RE.match(line)
        if not m:
            raise AssertionError("not a key line: %r" % line)
        if (section, m.group(1)) in keys:
            raise AssertionError("twice: [%s] %s" % (section, m.group(1)))
        keys[(section, m.group(1))] = (m.group(2), m.group(3))
    return keys, order


class EffectiveConfigTest(unittest.TestCase):

    def write(self, text):
        d = ct.mkdtemp()
        return ct.write_file(os.path.join(d, "chatd.ini"), text)

    def test_every_key_and_its_origin(self):
        path = self.write(
            "; a comment\n"
            "[server]\n"
            "bind = 127.0.0.1\n"
            "\n"
            "max_clients = 77\n"
            "[lua]\n"
            "path = %s\n"
            "[metrics]\n"
            "port = 9999\n"
            "[plugin.motd]\n"
            "text = Welcome; be nice\n"
            "[websocket]\n"
            "www = /srv/www\n" % ct.PLUGINS)
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 0, r)
        keys, order = report(r.stdout)
        rows = table()
        self.assertGreater(len(rows), 15)
        for section, key, default in rows:
            self.assertIn((section, key), keys, "[%s] %s missing"
                          % (section, key))
        self.assertEqual(len(keys), len(rows) + 1)  # and plugin.motd text
        self.assertEqual(order, ["server", "buffers", "limits", "room", "lua",
                                 "log", "metrics", "cluster", "tls",
                                 "websocket", "plugin.motd"])
        self.assertEqual(keys[("cluster", "redis")], (None, "unset"))
        self.assertEqual(keys[("tls", "cert")], (None, "unset"))
        self.assertEqual(keys[("tls", "port")], ("off", "default"))
        self.assertEqual(keys[("cluster", "node")], (None, "unset"))
        self.assertEqual(keys[("server", "bind")],
                         ("127.0.0.1", "%s:3" % path))
        self.assertEqual(keys[("server", "max_clients")],
                         ("77", "%s:5" % path))
        self.assertEqual(keys[("server", "port")], ("8080", "default"))
        self.assertEqual(keys[("lua", "path")], (ct.PLUGINS, "%s:7" % path))
        self.assertEqual(keys[("metrics", "port")], ("9999", "%s:9" % path))
        self.assertEqual(keys[("metrics", "bind")], ("127.0.0.1", "default"))
        self.assertEqual(keys[("log", "level")], ("info", "default"))
        self.assertEqual(keys[("lua", "unsafe")], ("false", "default"))
        self.assertEqual(keys[("plugin.motd", "text")],
                         ("Welcome; be nice", "%s:11" % path))
        for (section, key), (value, origin) in keys.items():
            if origin in ("default", "unset"):
                want = [d for s, k, d in rows if (s, k) == (section, key)]
                self.assertEqual(['"%s"' % value if value is not None
                                  else "NULL"], want, (section, key))

        # The report is a configuration: read back, the same values.
        again = self.write(r.stdout[:-len("ok\n")])
        r2 = ct.run_chatd(["-t", "-c", again])
        self.assertEqual(r2.returncode, 0, r2)
        keys2, _ = report(r2.stdout)
        self.assertEqual({k: v for k, (v, _) in keys.items()},
                         {k: v for k, (v, _) in keys2.items()})

    def test_defaults_only(self):
        path = self.write("[lua]\npath = %s\n" % ct.PLUGINS)
        r = ct.run_chatd(["-t", "-c", path])
        keys, _ = report(r.stdout)
        self.assertEqual([k for k, (v, o) in keys.items()
                          if o not in ("default", "unset")],
                         [("lua", "path")])
        self.assertEqual(keys[("metrics", "port")], ("off", "default"))

    def test_unset_path_is_a_comment(self):
        path = self.write("[server]\nport = 0\n")
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"\n\[lua\]\n; path is unset: the plugins "
                         r"in \S+ if that directory exists, else the "
                         r"built-in ones\n")

    def test_error_prints_no_report(self):
        path = self.write("[server]\nport = 70000\n")
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("%s:2: invalid value '70000' for port" % path, r.stderr)
        plug = ct.make_plugin_dir({"50-bad.lua": "error('no')\n"})
        path = self.write("[lua]\npath = %s\n" % plug)
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual((r.returncode, r.stdout), (1, ""))


if __name__ == "__main__":
    ct.main()
