#!/usr/bin/env python3
"""chatc on pipes: options and errors, piped input against the real
chatd, exactly what it sends and shows (a fake server that records and
a hostile one), and its manual page."""

import os
import re
import subprocess
import sys
import unittest

import chatdtest as ct

SRCDIR = ct.SRCDIR
BUILDDIR = os.path.dirname(os.path.abspath(ct.CHATD))


class Options(unittest.TestCase):

    def test_help(self):
        r = ct.run_chatc(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"usage: chatc "), r.stdout)
        for opt in (b"--host", b"--port", b"--reconnect", b"--version"):
            self.assertIn(opt, r.stdout)
        self.assertEqual(r.stderr, b"")

    def test_version(self):
        for opt in ("-V", "--version"):
            r = ct.run_chatc([opt])
            self.assertEqual(r.returncode, 0)
            self.assertRegex(r.stdout.decode(), r"^chatc \d+\.\d+\.\d+\n$")

    def test_bad_usage(self):
        cases = [
            (["-x"], b"usage: chatc"),
            (["-p", "0"], b"bad port '0'"),
            (["-p", "65536"], b"bad port '65536'"),
            (["-p", "http"], b"bad port 'http'"),
            (["-h", ""], b"empty host"),
            (["host:99999"], b"bad address 'host:99999'"),
            (["[::1"], b"bad address '[::1'"),
            (["-h", "a", "b"], b"host given twice"),
            (["-p", "1", "a:2"], b"port given twice"),
            (["a", "1", "2"], b"unexpected argument '2'"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                r = ct.run_chatc(args)
                self.assertEqual(r.returncode, 2, r)
                self.assertIn(msg, r.stderr)
                self.assertEqual(r.stdout, b"")

    def test_connection_refused(self):
        port = ct.free_port()
        for args in (["-p", str(port), "-h", "127.0.0.1"],
                     ["127.0.0.1:%d" % port], ["127.0.0.1", str(port)]):
            with self.subTest(args=args):
                r = ct.run_chatc(args)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr.decode(), "chatc: cannot connect "
                                 "to 127.0.0.1:%d: Connection refused\n"
                                 % port)
                self.assertEqual(r.stdout, b"")

    def test_ipv6_address(self):
        if not ct.ipv6_available():
            self.skipTest("no IPv6 loopback")
        with ct.FakeServer.v6() as fake:
            for arg in ("[::1]:%d" % fake.port, "::1"):
                with self.subTest(arg=arg):
                    args = [arg] if "]" in arg else [arg, str(fake.port)]
                    p = ct.spawn_chatc(args)
                    fake.accept().close()
                    rc, out, err = ct.finish(p)
                    self.assertEqual(rc, 1, err)
                    self.assertEqual(err, b"chatc: connection closed by "
                                     b"the server\n")


class Piped(unittest.TestCase):

    def test_lines_to_chatd(self):
        with ct.Server() as srv:
            bob = srv.client()
            r = ct.run_chatc(["-p", str(srv.port), "127.0.0.1"],
                          input=b"rename|bot\r\n\n   \nhello\nwho\nbye")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            out = r.stdout.decode()
            # Plain text: the server's lines, no colors, no answer to the
            # "help" chatc sent on its own.
            self.assertNotIn("\x1b", out)
            self.assertNotIn("commands", out)
            lines = out.split("\n")
            self.assertTrue(lines[0].startswith("* welcome "), out)
            name = lines[0][10:]
            self.assertEqual(lines[2:], [
                "* you are now bot", "[bot]: hello", "* online (2):",
                "*   %s 127.0.0.1:%s" % (bob.name, bob.name.split(":")[1]),
                "*   bot %s" % name, "[bot]: bye", ""])
            bob.expect("* %s joined" % name)
            bob.expect("* %s is now bot" % name)
            bob.expect("[bot]: hello")
            bob.expect("[bot]: bye")
            bob.expect("* bot left")

    def test_exit_command(self):
        with ct.Server() as srv:
            r = ct.run_chatc(["-p", str(srv.port), "127.0.0.1"],
                          input=b"exit\nnot sent\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.endswith(b"\n* bye\n"), r.stdout)

    def test_exactly_what_is_sent(self):
        with ct.FakeServer() as fake:
            p = ct.spawn_chatc(["-p", str(fake.port), "127.0.0.1"])
            fake.accept()
            p.stdin.write(b"one\r\n\n \t \ntwo  \nwho|x\nlast")
            p.stdin.close()
            sent = fake.read_to_eof()
            fake.conn.close()
            rc, out, err = ct.finish(p)
            self.assertEqual(rc, 0, err)
            # First its own "help"; CR dropped, blank lines skipped, the
            # rest as typed; a last line without LF sent with one.
            self.assertEqual(sent, b"help\none\ntwo  \nwho|x\nlast\n")

    def test_help_answer_hidden(self):
        cases = [
            (b"* commands:\r\n*   ping: x\r\n*   who\r\n", b""),
            # A server without "help" takes it for chat.
            (b"[me]: help\r\n", b""),
        ]
        for answer, shown in cases:
            with self.subTest(answer=answer), ct.FakeServer() as fake:
                p = ct.spawn_chatc(["-p", str(fake.port), "127.0.0.1"])
                fake.accept()
                fake.read_until(b"help\n")
                fake.send(b"* welcome me\r\n" + answer +
                          b"* commands:\r\n*   shown\r\n[me]: help\r\n")
                p.stdin.close()
                fake.read_to_eof()
                fake.conn.close()
                rc, out, err = ct.finish(p)
                self.assertEqual(rc, 0, err)
                # Only the first answer is chatc's; later ones are the
                # user's and shown.
                self.assertEqual(out, b"* welcome me\n" + shown +
                                 b"* commands:\n*   shown\n[me]: help\n")

    def test_hostile_bytes(self):
        with ct.FakeServer() as fake:
            p = ct.spawn_chatc(["-p", str(fake.port), "127.0.0.1"],
                            env={"LC_ALL": "C.UTF-8"})
            fake.accept()
            fake.send(b"esc \x1b[31mred\x1b]0;title\x07\r\n"
                      b"c1 \xc2\x9b \x9b \x85 ok\r\n"
                      b"bad \xff \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80\r\n"
                      b"good \xc3\xa9 \xe6\x9d\x9c \xf0\x9f\x98\x80\ttab\r\n"
                      b"cr\rmid\x00nul\x7f\r\r\n"
                      b"lf only\n"
                      b"no eol at close")
            fake.conn.close()
            rc, out, err = ct.finish(p)
            r = "\ufffd".encode()
            self.assertEqual(out.split(b"\n"), [
                b"esc ^[[31mred^[]0;title^G",
                b"c1 " + r + b" " + r + b" " + r + b" ok",
                b"bad " + r + b" " + r + r + b" " + r * 3 + b" " + r * 4,
                b"good \xc3\xa9 \xe6\x9d\x9c \xf0\x9f\x98\x80\ttab",
                b"cr^Mmid^@nul^?^M",
                b"lf only",
                b"no eol at close",
                b""])
            self.assertEqual(rc, 1)
            self.assertEqual(err, b"chatc: connection closed by the "
                             b"server\n")

    def test_not_utf8_locale(self):
        # In a non-UTF-8 locale a terminal may take bytes 0x80-0x9f for
        # controls: everything beyond ASCII is shown as "?".
        with ct.FakeServer() as fake:
            p = ct.spawn_chatc(["-p", str(fake.port), "127.0.0.1"],
                            env={"LC_ALL": "C"})
            fake.accept()
            fake.send(b"\xe6\x9d\x9c \xc3\xa9 \xff!\r\n")
            fake.conn.close()
            rc, out, err = ct.finish(p)
            self.assertEqual(out, b"? ? ?!\n")

    def test_long_line(self):
        with ct.FakeServer() as fake:
            p = ct.spawn_chatc(["-p", str(fake.port), "127.0.0.1"])
            fake.accept()
            fake.send(b"x" * (2 * 1024 * 1024 + 5) + b"\r\nnext\r\n")
            fake.conn.close()
            rc, out, err = ct.finish(p)
            self.assertEqual(out, b"x" * (1024 * 1024) + b"\nnext\n")
            self.assertIn(b"longer than 1048576 bytes", err)


class Tls(unittest.TestCase):
    """chatc --tls against chatd's [tls] listener, certificates from a
    CA made at test time."""

    @classmethod
    def setUpClass(cls):
        cls.ca = ct.TestCA()

    def test_verified(self):
        with ct.Server(ca=self.ca) as srv:
            bob = srv.client()
            r = ct.run_chatc(["--tls", "--ca", self.ca.path, "-p",
                              str(srv.tls_port), "localhost"],
                             input=b"rename|tls\nhello over tls\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            lines = r.stdout.decode().split("\n")
            self.assertTrue(lines[0].startswith("* welcome "), lines)
            self.assertEqual(lines[2:], ["* you are now tls",
                                         "[tls]: hello over tls", ""])
            bob.expect_match(r"\* \S+ joined")
            bob.expect_match(r"\* \S+ is now tls")
            bob.expect("[tls]: hello over tls")
            # an IP address is checked against the certificate too
            r = ct.run_chatc(["--tls", "--ca", self.ca.path, "-p",
                              str(srv.tls_port), "127.0.0.1"], input=b"")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_unverified_refused(self):
        other = ct.TestCA("another CA")
        with ct.Server(ca=self.ca) as srv:
            for args, why in (
                    (["--ca", other.path], "unable to get local issuer "
                     "certificate"),
                    ([], "unable to get local issuer certificate")):
                r = ct.run_chatc(["--tls"] + args + ["-p",
                                 str(srv.tls_port), "localhost"],
                                 input=b"never sent\n")
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, b"")
                self.assertEqual(
                    r.stderr.decode(), "chatc: TLS handshake with "
                    "localhost:%d failed: certificate verify failed: %s "
                    "(use --ca FILE for a private CA, --insecure to skip "
                    "the check)\n" % (srv.tls_port, why))
            # the name must match: the certificate is for localhost
            cert, key = self.ca.cert("elsewhere", cn="elsewhere")
            srv2 = ct.Server(ca=self.ca, config={"tls": {
                "cert": cert, "key": key}}).start()
            self.addCleanup(srv2.kill)
            r = ct.run_chatc(["--tls", "--ca", self.ca.path, "-p",
                              str(srv2.tls_port), "127.0.0.1"], input=b"")
            self.assertEqual(r.returncode, 0, r.stderr)  # IP SAN still ok
            # --insecure talks to it all the same
            r = ct.run_chatc(["--tls", "--insecure", "-p",
                              str(srv.tls_port), "localhost"],
                             input=b"hi\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"]: hi\n", r.stdout)

    def test_plain_server(self):
        """--tls to a plain listener fails with a reason, not a hang."""
        with ct.Server() as srv:
            r = ct.run_chatc(["--tls", "--insecure", "-p", str(srv.port),
                              "127.0.0.1"], input=b"")
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr.decode(), r"^chatc: TLS handshake "
                             r"with 127\.0\.0\.1:\d+ failed: .+\n$")

    def test_usage(self):
        for args in (["--ca", "x"], ["--insecure"],
                     ["--tls", "--ca", "x", "--insecure"]):
            r = ct.run_chatc(args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(b"--", r.stderr)
            self.assertRegex(r.stderr, b"^chatc: --ca and --insecure ")
        r = ct.run_chatc(["--tls", "--ca", "/nonexistent/ca.pem"])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.decode(),
                         r"^chatc: /nonexistent/ca\.pem: ")


class ManPage(unittest.TestCase):

    def page(self):
        return os.path.join(BUILDDIR, "doc", "chatc.1")

    def test_generated(self):
        with open(self.page(), encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(re.findall(r"@[A-Za-z_]+@", text), [])
        usage = ct.run_chatc(["--help"]).stdout.decode()
        for opt in re.findall(r"--([a-z]+)", usage):
            self.assertIn("Fl \\-%s" % opt, text, opt)
        with open(os.path.join(SRCDIR, "README.md"), encoding="utf-8") as f:
            self.assertTrue("chatc(1)" in f.read(), "README lacks chatc(1)")

    def test_groff_clean(self):
        r = subprocess.run([ct.need("groff", "groff-base"), "-ww", "-z", "-mandoc", self.page()],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_mandoc_lint(self):
        r = subprocess.run([ct.need("mandoc"), "-T", "lint", "-W", "warning",
                            self.page()], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertEqual(r.stdout.strip(), "")


if __name__ == "__main__":
    if not os.access(ct.CHATC, os.X_OK):
        print("chatc not found at %s (set ct.CHATC)" % ct.CHATC)
        sys.exit(1)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
