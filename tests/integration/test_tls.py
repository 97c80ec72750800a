#!/usr/bin/env python3
"""The [tls] listener: the protocol over TLS beside plain TCP in one room,
the limits, handshakes that never finish or are garbage, a client gone
mid-record, certificate errors at startup and in chatd -t, reloads of the
certificate on SIGHUP (a broken one keeps the running one), min_version
and client_ca.  The certificates come from `openssl req` in the test."""

import os
import re
import shutil
import signal
import socket
import ssl
import struct
import time
import unittest

import chatdtest as ct


def serial_of(client):
    """The serial number of the certificate the server showed client."""
    return client.sock.getpeercert()["serialNumber"]


def bio_handshake(ctx, sock):
    """A TLS client over sock whose records the test writes itself: the
    handshake done, (the SSLObject, its outgoing MemoryBIO)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(out.read())
            data = sock.recv(65536)
            if not data:
                raise AssertionError("closed during the handshake")
            inc.write(data)
    sock.sendall(out.read())
    return obj, out


class TLSTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ca = ct.TestCA()

    def server(self, config=None, **kw):
        return ct.PluginServer(config=config, ca=self.ca,
                               plugins={"sync.lua": ct.SYNC_PLUGIN}, **kw)


class ProtocolTest(TLSTestCase):

    def test_one_room_over_tls_and_tcp(self):
        with self.server() as srv:
            self.assertNotEqual(srv.tls_port, srv.port)
            a = srv.tls_client()
            self.assertEqual(a.sock.version() in ("TLSv1.2", "TLSv1.3"),
                             True)
            b = srv.client()
            a.expect("* %s joined" % b.name)
            c = srv.tls_client()
            for o in (a, b):
                o.expect("* %s joined" % c.name)
            a.sendline("hello from tls")
            for o in (a, b, c):
                o.expect("[%s]: hello from tls" % a.name)
            b.sendline("hello from tcp")
            for o in (a, b, c):
                o.expect("[%s]: hello from tcp" % b.name)
            a.ask("rename|alice", "* you are now alice")
            b.expect("* %s is now alice" % a.name)
            c.expect("* %s is now alice" % a.name)
            c.sendline("who")
            c.expect("* online (3):")
            c.expect("*   alice %s" % a.name)
            c.expect("*   %s %s" % (b.name, b.name))
            c.expect("*   %s %s" % (c.name, c.name))
            a.sendline("exit")
            a.expect("* bye")
            self.assertEqual(a.expect_closed(), [])
            b.expect("* alice left")
            self.assertRegex(srv.log_text(), r"client \d+ connected from "
                             + re.escape(c.name))

    def test_many_lines_in_few_records(self):
        """Lines that arrive in one burst of records, more than one read
        takes, are all handled: input held inside OpenSSL is not left
        waiting for a socket event that never comes."""
        with self.server({"buffers": {"max_line": 200}}) as srv:
            a = srv.tls_client()
            b = srv.tls_client()
            a.expect("* %s joined" % b.name)
            lines = ["line %04d %s" % (i, "z" * 90) for i in range(600)]
            a.send("".join(l + "\n" for l in lines))
            for l in lines:
                b.expect("[%s]: %s" % (a.name, l), timeout=10)
            a.sync()

    def test_many_records_in_one_segment(self):
        """Six hundred records, one line each, written at once: a read()
        takes as many as it can into OpenSSL (read-ahead), more than one
        read of chatd's takes out, and each is handled though no socket
        event announces what OpenSSL holds."""
        with self.server({"buffers": {"max_line": 200}}) as srv:
            b = srv.tls_client()
            sock = socket.create_connection(("127.0.0.1", srv.tls_port),
                                            timeout=5)
            try:
                tls, out = bio_handshake(srv.ca.client_context(), sock)
                name = b.expect_match(r"\* (\S+) joined").group(1)
                lines = ["record %03d %s" % (i, "z" * 90)
                         for i in range(600)]
                for l in lines:
                    tls.write((l + "\n").encode())	# a record each
                burst = out.read()
                self.assertGreater(len(burst), 600 * 100)
                sock.sendall(burst)
                for l in lines:
                    b.expect("[%s]: %s" % (name, l))
                b.sync()
            finally:
                sock.close()

    def test_openssl_s_client(self):
        openssl = ct.need("openssl", "openssl")
        with self.server() as srv:
            watcher = srv.client()
            import subprocess
            p = subprocess.Popen(
                [openssl, "s_client", "-quiet", "-verify_return_error",
                 "-CAfile", self.ca.path, "-servername", "localhost",
                 "-connect", "127.0.0.1:%d" % srv.tls_port],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, preexec_fn=ct._pdeathsig)
            try:
                m = watcher.expect_match(r"\* (\S+) joined", timeout=10)
                name = m.group(1)
                p.stdin.write(b"from s_client\nexit\n")
                p.stdin.flush()
                watcher.expect("[%s]: from s_client" % name)
                out, err = p.communicate(timeout=10)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertIn(b"* welcome %s\r\n" % name.encode(), out)
            self.assertIn(b"[%s]: from s_client\r\n" % name.encode(), out)
            self.assertTrue(out.endswith(b"* bye\r\n"), out[-200:])
            self.assertIn(b"verify return:1", err)

    def test_socat(self):
        socat = ct.need("socat", "socat")
        with self.server() as srv:
            watcher = srv.client()
            import subprocess
            p = subprocess.Popen(
                [socat, "-T", "10", "-",
                 "OPENSSL:127.0.0.1:%d,cafile=%s,commonname=localhost"
                 % (srv.tls_port, self.ca.path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, preexec_fn=ct._pdeathsig)
            try:
                name = watcher.expect_match(r"\* (\S+) joined",
                                            timeout=10).group(1)
                p.stdin.write(b"from socat\n")
                p.stdin.flush()
                watcher.expect("[%s]: from socat" % name)
                p.stdin.write(b"exit\n")
                p.stdin.close()
                out = p.stdout.read()
                p.wait(10)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertTrue(out.startswith(b"* welcome %s\r\n"
                                           % name.encode()), out[:200])
            self.assertTrue(out.endswith(b"* bye\r\n"), out[-200:])

    def test_min_version_13(self):
        with self.server({"tls": {"min_version": "1.3"}}) as srv:
            ctx = self.ca.client_context()
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            with self.assertRaises(ssl.SSLError):
                srv.tls_client(context=ctx)
            srv.wait_log(r"tls handshake with 127\.0\.0\.1:\d+ failed: "
                         r"TLS error \(unsupported protocol\)")
            c = srv.tls_client()
            self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_tls12_ciphers(self):
        with self.server() as srv:
            ctx = self.ca.client_context()
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            c = srv.tls_client(context=ctx)
            self.assertEqual(c.sock.version(), "TLSv1.2")
            self.assertRegex(c.sock.cipher()[0], r"^ECDHE-ECDSA-")
            # A client that offers only a weak or static-key cipher is
            # refused.
            ctx = self.ca.client_context()
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("AES128-SHA")
            with self.assertRaises(ssl.SSLError):
                srv.tls_client(context=ctx)

    def test_client_ca(self):
        cert = self.ca.cert("alice", cn="alice", client=True)
        with self.server({"tls": {"client_ca": self.ca.path}}) as srv:
            c = ct.Client(srv.tls_port, tls=self.ca.client_context())
            # TLS 1.3: the refusal comes after the client's Finished.
            try:
                c.line()
                self.fail("served without a client certificate")
            except (AssertionError, ssl.SSLError, OSError):
                pass
            c.close()
            srv.wait_log(r"tls handshake with 127\.0\.0\.1:\d+ failed: "
                         r"TLS error \(peer did not return a certificate\)")
            ok = srv.tls_client(context=self.ca.client_context(cert))
            ok.sendline("with a certificate")
            ok.expect("[%s]: with a certificate" % ok.name)

    def test_refused_over_tls_costs_no_handshake(self):
        """max_clients and max_per_ip count TLS clients as any: one over
        the limit is closed at once, before a handshake (a line in clear
        would be garbage in a TLS stream)."""
        with self.server({"server": {"max_clients": 2}}) as srv:
            a = srv.tls_client()
            b = srv.client()
            a.expect("* %s joined" % b.name)
            m0 = srv.mark()
            with self.assertRaises((ssl.SSLError, OSError)):
                srv.tls_client()
            srv.wait_log(r"refused 127\.0\.0\.1:\d+ on tls: server full",
                         after=m0)
            c = ct.Client(srv.port)
            c.expect("! server full")
            c.expect_closed()
            a.sendline("still two")
            b.expect("[%s]: still two" % a.name)
        with self.server({"limits": {"max_per_ip": 1}}) as srv:
            a = srv.tls_client()
            with self.assertRaises((ssl.SSLError, OSError)):
                srv.tls_client()
            srv.wait_log(r"refused 127\.0\.0\.1:\d+ on tls: too many "
                         r"connections from your address")
            a.sendline("alone")
            a.expect("[%s]: alone" % a.name)


class LimitsTest(TLSTestCase):

    def test_max_line_and_rate(self):
        cfg = {"buffers": {"max_line": 32},
               "limits": {"lines_per_second": 5, "burst": 2}}
        with self.server(cfg) as srv:
            a = srv.tls_client()
            a.sendline("x" * 40)
            a.expect("! line too long (max 32 bytes)")
            t0 = time.monotonic()
            a.send("".join("r%d\n" % i for i in range(7)))
            for i in range(7):
                a.expect("[%s]: r%d" % (a.name, i))
            # two at once, then five a second: about a second for five
            self.assertGreater(time.monotonic() - t0, 0.7)

    def test_idle_timeout(self):
        with self.server({"server": {"idle_timeout": 1}}) as srv:
            a = srv.tls_client()
            t0 = time.monotonic()
            a.expect_closed(timeout=5)
            self.assertLess(time.monotonic() - t0, 4)
            srv.wait_log(r"client \d+ \(%s\) left: timeout"
                         % re.escape(a.name))

    def test_slow_consumer_dropped(self):
        cfg = {"buffers": {"output_limit": 65536}}
        with self.server(cfg) as srv:
            flooder = srv.tls_client()
            slow = srv.tls_client(rcvbuf=4096)
            flooder.expect("* %s joined" % slow.name)
            pad = "x" * 180
            dropped = "* %s dropped (too slow)" % slow.name
            sent = 0
            seen = False
            while not seen and sent < 40000:
                batch = ["flood %05d %s" % (i, pad)
                         for i in range(sent, sent + 200)]
                flooder.send("".join(t + "\n" for t in batch))
                sent += 200
                got = flooder.read_until("[%s]: %s" % (flooder.name,
                                                        batch[-1]),
                                         timeout=10)
                seen = dropped in got
            self.assertTrue(seen, "the slow TLS client was never dropped")
            srv.wait_log(r"over output_limit; dropping it")
            flooder.sync()


class HandshakeTest(TLSTestCase):

    def test_handshake_never_finished(self):
        with self.server({"tls": {"handshake_timeout": 1}}) as srv:
            a = srv.tls_client()
            silent = ct.Client(srv.tls_port)            # says nothing
            half = ct.Client(srv.tls_port)              # half a hello
            half.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            t0 = time.monotonic()
            for c in (silent, half):
                ct.read_to_close(c.sock)
            self.assertLess(time.monotonic() - t0, 4)
            for c in (silent, half):
                srv.wait_log(r"tls handshake with %s failed: not done "
                             r"within 1 s" % re.escape(c.name))
            a.sendline("unbothered")
            a.expect("[%s]: unbothered" % a.name)
            # never announced, never counted as users
            self.assertNotIn("%s joined" % silent.name, str(a.history))
            self.assertEqual(a.ask("who"), "* online (1):")

    def test_garbage_instead_of_client_hello(self):
        with self.server() as srv:
            a = srv.tls_client()
            for junk in (b"hello there\r\n", b"GET / HTTP/1.1\r\n\r\n",
                         b"\x16\x03\x03\x00\x05\x00\x00\x00\x00\x00",
                         bytes(range(256)) * 4):
                m0 = srv.mark()
                g = ct.Client(srv.tls_port)
                g.send(junk)
                ct.read_to_close(g.sock)
                g.close()
                m = srv.wait_log(r"tls handshake with %s failed: ([^\n]*)"
                                 % re.escape(g.name), after=m0)
                self.assertRegex(m.group(1), r"^TLS error \(.+\)$")
                # once, at info
                self.assertEqual(srv.log_text()[m0:].count(
                    "handshake with %s" % g.name), 1)
            a.sendline("still served")
            a.expect("[%s]: still served" % a.name)

    def test_gone_mid_record(self):
        """A client that sends half a record and resets: it leaves as
        closed, the others go on."""
        with self.server() as srv:
            a = srv.tls_client()
            raw = socket.create_connection(("127.0.0.1", srv.tls_port))
            raw.settimeout(5)
            obj, out = bio_handshake(self.ca.client_context(), raw)
            name = a.expect_match(r"\* (\S+) joined").group(1)
            obj.write(b"half of this line never arrives\n")
            record = out.read()
            raw.sendall(record[:len(record) // 2])
            time.sleep(0.2)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            raw.close()
            a.expect("* %s left" % name)
            a.sendline("after")
            a.expect("[%s]: after" % a.name)


class CertificateTest(TLSTestCase):

    def config_with(self, **tls):
        d = ct.mkdtemp()
        sec = dict(self.ca.tls_section())
        sec.update(tls)
        cfg = ct.merge_config(ct.Server.DEFAULTS, {"tls": sec})
        return ct.write_file(os.path.join(d, "chatd.ini"),
                             ct.format_ini(cfg))

    def check_fails(self, want, **tls):
        path = self.config_with(**tls)
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr.strip(), want)
        # and the server does not start on it either
        r = ct.run_chatd(["-c", path])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r" error: " + want.strip("^$") + "\n")

    def test_errors(self):
        d = ct.mkdtemp()
        missing = os.path.join(d, "missing.pem")
        junk = ct.write_file(os.path.join(d, "junk.pem"), "not a cert\n")
        unreadable = ct.write_file(os.path.join(d, "secret.key"), "x")
        other_cert, other_key = self.ca.cert("other")
        self.check_fails("^%s: No such file or directory$"
                         % re.escape(missing), cert=missing)
        self.check_fails(r"^%s: not a PEM certificate \(chain\) \(.+\)$"
                         % re.escape(junk), cert=junk)
        self.check_fails(r"^%s: not a PEM private key \(.+\)$"
                         % re.escape(junk), key=junk)
        self.check_fails(r"^%s: does not match the certificate \(key "
                         r"values mismatch\) %s$" % (
                             re.escape(other_key),
                             re.escape(self.ca.tls_section()["cert"])),
                         key=other_key)
        if os.geteuid() != 0:	# root reads anything
            os.chmod(unreadable, 0)
            self.check_fails("^%s: Permission denied$"
                             % re.escape(unreadable), key=unreadable)
        self.check_fails(r"\[tls\] ciphers 'NOPE': no cipher of the list "
                         r"is known \(no cipher match\)$", ciphers="NOPE")
        self.check_fails(r"^\[tls\] ciphersuites 'TLS_NOPE': not a list of "
                         r"TLS 1\.3 suites \(.+\)$",
                         ciphersuites="TLS_NOPE")

    def test_config_errors(self):
        d = ct.mkdtemp()
        path = ct.write_file(os.path.join(d, "a.ini"),
                             "[tls]\nport = 6697\n")
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), "%s:2: [tls] port is set but "
                         "cert is not: a TLS listener needs a certificate "
                         "and its key" % path)
        path = ct.write_file(os.path.join(d, "b.ini"),
                             "[tls]\n\nmin_version = 1.0\n")
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.stderr.strip(), "%s:3: invalid value '1.0' for "
                         "min_version: expected 1.2 or 1.3" % path)

    def test_check_ok_reports_section(self):
        path = self.config_with()
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("\n[tls]\n", r.stdout)
        self.assertRegex(r.stdout, r"\nmin_version = 1\.2 +; default\n")
        self.assertTrue(r.stdout.endswith("ok\n"))

    def test_reload_new_certificate(self):
        ca = self.ca
        cert, key = ca.cert("live")
        with self.server({"tls": ca.tls_section("live")}) as srv:
            old = srv.tls_client()
            first = serial_of(old)
            # renewed in place, as certbot does
            new_cert, new_key = ca.cert("renewed")
            shutil.copy(new_cert, cert)
            shutil.copy(new_key, key)
            ok, line = srv.reload()
            self.assertTrue(ok, line)
            self.assertNotIn("reload: TLS", srv.log_text())
            fresh = srv.tls_client()
            old.expect("* %s joined" % fresh.name)
            self.assertNotEqual(serial_of(fresh), first)
            old.sendline("still on the old session")
            fresh.expect("[%s]: still on the old session" % old.name)

    def test_reload_broken_certificate_keeps_old(self):
        ca = self.ca
        cert, key = ca.cert("breaks")
        with self.server({"tls": ca.tls_section("breaks")}) as srv:
            old = srv.tls_client()
            first = serial_of(old)
            ct.write_file(cert, "-----BEGIN CERTIFICATE-----\nbroken\n")
            m0 = srv.mark()
            ok, line = srv.reload()
            self.assertTrue(ok, line)	# the rest of the reload applies
            srv.wait_log(r"reload: TLS: %s: not a PEM certificate "
                         r"\(chain\) \(.+\); keeping the running "
                         r"certificate" % re.escape(cert), after=m0)
            fresh = srv.tls_client()
            self.assertEqual(serial_of(fresh), first)
            old.expect("* %s joined" % fresh.name)
            # a key that does not match is refused the same way
            other_cert, other_key = ca.cert("stranger")
            shutil.copy(other_cert, cert)
            m0 = srv.mark()
            srv.reload()
            srv.wait_log(r"reload: TLS: %s: does not match" %
                         re.escape(key), after=m0)
            self.assertEqual(serial_of(srv.tls_client()), first)


class ShutdownTest(TLSTestCase):

    def test_goodbye_over_tls(self):
        with self.server() as srv:
            a = srv.tls_client()
            srv.signal(signal.SIGTERM)
            lines = a.expect_closed(timeout=8)
            self.assertEqual(lines, ["* server shutting down"]
                             if lines else [])
            self.assertEqual(srv.wait_exit(8), 0)


if __name__ == "__main__":
    ct.main()
