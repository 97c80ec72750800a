#!/usr/bin/env python3
"""Command line: -h, -V, unknown options, -t, -c, relative paths, IPv6."""

import os
import socket
import unittest

import chatdtest as ct

BOOM = ('chat.command("boom", "boom: fails", '
        'function(user, args) error("kaboom") end)\n')


class CliTest(unittest.TestCase):

    def setUp(self):
        self.dir = ct.mkdtemp()

    def config(self, text, name="chatd.ini"):
        return ct.write_file(os.path.join(self.dir, name), text)

    def good_config(self, extra=""):
        return self.config("[server]\nbind = 127.0.0.1\nport = 0\n"
                           "[lua]\npath = %s\n%s" % (ct.PLUGINS, extra))

    def test_help(self):
        r = ct.run_chatd(["-h"])
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout.lower(), "usage")
        for opt in ("--config", "--test", "--help", "--version"):
            self.assertIn(opt, r.stdout)
        self.assertIn("-c", r.stdout)
        self.assertNotIn("listening on", r.stderr)

    def test_version(self):
        r = ct.run_chatd(["-V"])
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("chatd", r.stdout)
        self.assertRegex(r.stdout, r"\d+\.\d+")
        self.assertNotIn("listening on", r.stderr)

    def test_unknown_option(self):
        r = ct.run_chatd(["-Z"])
        self.assertEqual(r.returncode, 2, r)
        self.assertRegex(r.stderr.lower(), "usage")
        self.assertEqual(r.stdout, "", r)
        self.assertNotIn("listening on", r.stderr)

    def test_unknown_option_with_config(self):
        r = ct.run_chatd(["-c", self.good_config(), "--bogus"])
        self.assertEqual(r.returncode, 2, r)
        self.assertRegex(r.stderr.lower(), "usage")

    def test_check_ok(self):
        r = ct.run_chatd(["-t", "-c", self.good_config()])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)
        self.assertNotIn("listening on", r.stderr)

    def test_check_option_order(self):
        r = ct.run_chatd(["-c", self.good_config(), "-t"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)

    def test_check_never_listens(self):
        # A port we hold ourselves: -t must not try to bind it.
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hold.bind(("127.0.0.1", 0))
        hold.listen(1)
        port = hold.getsockname()[1]
        try:
            cfg = self.config("[server]\nbind = 127.0.0.1\nport = %d\n"
                              "[lua]\npath = %s\n" % (port, ct.PLUGINS))
            r = ct.run_chatd(["-t", "-c", cfg])
            self.assertEqual(r.returncode, 0, r)
            self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)
            self.assertNotIn("listening on", r.stderr)
        finally:
            hold.close()

    def test_check_plugin_sections(self):
        cfg = self.good_config("[plugin.anything]\nfoo = bar\nx = 1 2 3\n"
                               "[plugin.other]\nyes = no\n")
        r = ct.run_chatd(["-t", "-c", cfg])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)

    def test_check_full_config(self):
        cfg = self.config(
            "; every documented key with its default\n"
            "[server]\nbind = 0.0.0.0\nport = 8080\nmax_clients = 10000\n"
            "idle_timeout = 60\n"
            "[buffers]\nmax_line = 1024\noutput_limit = 262144\n"
            "[limits]\nlines_per_second = 20\nburst = 40\nmax_per_ip = 0\n"
            "[lua]\npath = %s\nmax_instructions = 1000000\n"
            "memory_limit = 67108864\nunsafe = false\n"
            "[log]\nlevel = info\n" % ct.PLUGINS)
        r = ct.run_chatd(["-t", "-c", cfg])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)

    def test_check_script_syntax_error(self):
        plug = ct.make_plugin_dir({"50-bad.lua": "local x = 1\n\nlocal = = 3\n"})
        cfg = self.config("[server]\nport = 0\n[lua]\npath = %s\n" % plug)
        r = ct.run_chatd(["-t", "-c", cfg])
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, "", r)
        self.assertRegex(r.stderr, r"50-bad\.lua:3:")

    def test_check_script_runtime_error(self):
        plug = ct.make_plugin_dir(
            {"50-bad.lua": "-- loads, then fails\nerror('load failure here')\n"})
        cfg = self.config("[server]\nport = 0\n[lua]\npath = %s\n" % plug)
        r = ct.run_chatd(["-t", "-c", cfg])
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, r"50-bad\.lua:2:")
        self.assertIn("load failure here", r.stderr)

    def test_start_script_error_exits_1(self):
        plug = ct.make_plugin_dir({"50-bad.lua": "\n\nthis is not lua\n"})
        cfg = self.config("[server]\nbind = 127.0.0.1\nport = 0\n"
                          "[lua]\npath = %s\n" % plug)
        r = ct.run_chatd(["-c", cfg])
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, r"50-bad\.lua:3:")
        self.assertNotIn("listening on", r.stderr)

    def test_missing_config_file(self):
        r = ct.run_chatd(["-c", os.path.join(self.dir, "nope.ini")])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("nope.ini", r.stderr)
        self.assertNotIn("listening on", r.stderr)
        r = ct.run_chatd(["-t", "-c", os.path.join(self.dir, "nope.ini")])
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("nope.ini", r.stderr)

    def test_runs_and_logs_real_port(self):
        with ct.Server() as srv:
            self.assertTrue(srv.alive())
            self.assertEqual(srv.listen_addr, "127.0.0.1")
            self.assertGreater(srv.port, 0)
            self.assertRegex(srv.log_text(),
                             r"listening on 127\.0\.0\.1:%d\b" % srv.port)
            c = srv.client()
            self.assertEqual(c.online, [c.name])
            c.sendline("hello")
            c.expect("[%s]: hello" % c.name)
            self.assertEqual(srv.stop(), 0)

    def test_fixed_port(self):
        port = ct.free_port()
        with ct.Server({"server": {"port": port}}) as srv:
            self.assertEqual(srv.port, port)
            c = srv.client()
            c.sendline("x")
            c.expect("[%s]: x" % c.name)

    def test_relative_plugin_path(self):
        # path resolves against the config file's directory, not the cwd:
        # the cwd has a same-named directory with a broken script.
        base = ct.mkdtemp()
        ct.make_plugin_dir({"50-extra.lua": BOOM},
                           dirpath=os.path.join(base, "conf", "myplugins"))
        cfgpath = ct.write_file(os.path.join(base, "conf", "chatd.ini"),
                                "[server]\nbind = 127.0.0.1\nport = 0\n"
                                "show_addresses = true\n"
                                "[limits]\nlines_per_second = 0\n"
                                "[lua]\npath = myplugins\n")
        other = ct.mkdtemp()
        ct.make_plugin_dir({"50-broken.lua": "this is not lua\n"},
                           dirpath=os.path.join(other, "myplugins"))
        r = ct.run_chatd(["-t", "-c", cfgpath], cwd=other)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)
        with ct.Server(cwd=other, config_file=cfgpath) as srv:
            c = srv.client()
            c.sendline("hello")
            c.expect("[%s]: hello" % c.name)
            c.sendline("boom")  # the extra plugin from conf/myplugins
            c.expect("! internal error")
            self.assertEqual(srv.stop(), 0)

    def test_relative_config_path(self):
        # -c with a relative path, run from the config's directory.
        base = ct.mkdtemp()
        ct.make_plugin_dir(dirpath=os.path.join(base, "plug"))
        ct.write_file(os.path.join(base, "rel.ini"),
                      "[server]\nport = 0\n[lua]\npath = plug\n")
        r = ct.run_chatd(["-t", "-c", "rel.ini"], cwd=base)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines()[-1:], ["ok"], r)

    @unittest.skipUnless(ct.ipv6_available(), "no IPv6 loopback")
    def test_ipv6_bind(self):
        with ct.Server({"server": {"bind": "::1"}}) as srv:
            self.assertEqual(srv.listen_addr, "[::1]")
            self.assertRegex(srv.log_text(), r"listening on \[::1\]:%d\b"
                             % srv.port)
            a = srv.client()
            self.assertTrue(a.name.startswith("[::1]:"), a.name)
            b = srv.client()
            a.expect("* %s joined" % b.name)
            self.assertEqual(b.online, [a.name, b.name])
            b.sendline("who")
            b.expect("* online (2):")
            b.expect("*   %s %s" % (a.name, a.name))
            b.expect("*   %s %s" % (b.name, b.name))


if __name__ == "__main__":
    unittest.main()
