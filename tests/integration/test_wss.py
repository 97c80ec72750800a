#!/usr/bin/env python3
"""[websocket] tls = true: the web page over https and chat over wss://,
with the [tls] certificate (made at test time by a private CA) and no
[tls] listener of its own.  A wss client and a plain TCP client chat both
ways; GET / is served over https; a plain HTTP request, garbage, a
handshake never finished are dropped (each logged once, the room never
notices); a SIGHUP's new certificate is what the next wss client sees;
max_line, close 1009 and close 1007 work as over ws://; chatd -t refuses
tls = true without a certificate; and at an upgrade (SIGUSR2) a wss user,
whose TLS session cannot move, is told to reconnect and leaves once while
the TCP user stays."""

import os
import re
import shutil
import socket
import time
import unittest

import chatdtest as ct

ct.arm_watchdog(240)
WWW = os.path.join(ct.SRCDIR, "www")
TEXT, CONT = 0x1, 0x0
RECONNECT = "* server upgrading; please reconnect"


class WssBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = ct.TestCA()

    @classmethod
    def wss_config(cls, cert="server", tls=None, **extra):
        sec = cls.ca.tls_section(cert, port="off")
        sec.update(tls or {})
        cfg = {"websocket": {"bind": "127.0.0.1", "port": 0, "www": WWW,
                             "tls": "true"},
               "tls": sec}
        cfg.update(extra)
        return cfg

    def server(self, binary=None, **kw):
        return ct.Server(config=self.wss_config(**kw), binary=binary)

    def wss(self, srv, wport, watcher=None, **kw):
        """A wss client that has joined (watcher, a TCP client, sees it)."""
        c = ct.WsClient(wport, tls=self.ca.client_context(), **kw)
        c.join()
        if watcher is not None:
            watcher.read_until("* %s joined" % c.name)
        return c

    def room_ok(self, tcp, wss=None):
        """The room still chats: tcp's line reaches itself (and wss)."""
        tcp.sendline("still here")
        tcp.read_until("[%s]: still here" % tcp.name)
        if wss is not None:
            wss.read_until("[%s]: still here" % tcp.name)


class Chat(WssBase):
    @classmethod
    def setUpClass(cls):
        WssBase.setUpClass()
        cls.srv = ct.Server(config=cls.wss_config()).start()
        cls.wport = cls.srv.listener_port("websocket")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.tcp = self.srv.client()

    def tearDown(self):
        self.tcp.close()

    def test_https_logged(self):
        self.srv.wait_log(r"serving the web chat at https://127\.0\.0\.1:%d/ "
                          r"\(WebSocket at /ws\)" % self.wport)

    def test_chat_both_ways(self):
        w = self.wss(self.srv, self.wport, self.tcp)
        self.assertEqual(w.sock.version()[:4], "TLSv")
        w.sendline("from the browser side")
        self.tcp.read_until("[%s]: from the browser side" % w.name)
        w.read_until("[%s]: from the browser side" % w.name)
        self.tcp.sendline("from nc")
        w.read_until("[%s]: from nc" % self.tcp.name)
        # Many lines at once: several records in one read, SSL_pending.
        for i in range(50):
            self.tcp.sendline("burst %d" % i)
        w.read_until("[%s]: burst 49" % self.tcp.name)
        self.srv.wait_log(r"client \d+ connected from %s"
                          % re.escape(w.name))
        w.send_close()
        self.assertEqual(w.wait_close(), 1000)
        self.tcp.read_until("* %s left" % w.name)

    def test_upgrade_with_first_frame_in_the_same_record(self):
        """The request and a first message in one TLS record: the bytes
        after the request go with the session to the WebSocket side."""
        c = ct.WsClient(self.wport, tls=self.ca.client_context(),
                        upgrade=False)
        req, _ = ct.ws_request()
        c.send(req + ct.ws_frame(TEXT, "who"))
        # upgrade() sends its own request: read this one's answer here.
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.sock.recv(65536)
        self.assertTrue(data.startswith(b"HTTP/1.1 101 "), data[:100])
        c.raw = data.partition(b"\r\n\r\n")[2]
        c.upgraded = True
        c._decode()
        c.read_until(lambda l: l.startswith("* online ("))
        c.close()

    def test_page_over_https(self):
        ctx = self.ca.client_context()
        status, h, body = ct.http(
            "127.0.0.1", self.wport, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", tls=ctx)
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        with open(os.path.join(WWW, "index.html"), "rb") as f:
            self.assertEqual(body, f.read())
        status, h, body = ct.http(
            "127.0.0.1", self.wport, b"GET /chat.js HTTP/1.1\r\nHost: localhost\r\n\r\n",
            tls=ctx)
        self.assertEqual(status, 200)
        # The page picks wss:// when it was loaded over https.
        self.assertIn(b'location.protocol === "https:" ? "wss://"', body)
        status, _, _ = ct.http(
            "127.0.0.1", self.wport, b"GET /nope.html HTTP/1.1\r\nHost: x\r\n\r\n",
            tls=ctx)
        self.assertEqual(status, 404)
        self.room_ok(self.tcp)

    def test_plain_http_refused(self):
        """Clear-text HTTP to the wss port: no answer in clear text, the
        connection closed, one line in the log, nobody else notices."""
        w = self.wss(self.srv, self.wport, self.tcp)
        for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                     ct.ws_request()[0], bytes(range(256)) * 4):
            m0 = self.srv.mark()
            s = socket.create_connection(("127.0.0.1", self.wport))
            name = ct.sockname(s)
            s.sendall(junk)
            data = ct.read_to_close(s)
            s.close()
            self.assertNotIn(b"HTTP/1.1", data)
            m = self.srv.wait_log(r"tls handshake with %s failed: ([^\n]*)"
                                  % re.escape(name), after=m0)
            self.assertRegex(m.group(1), r"^TLS error \(.+\)$")
            time.sleep(0.1)
            self.assertEqual(self.srv.log_text()[m0:].count(
                "handshake with %s" % name), 1)
            self.assertNotIn("%s joined" % name, "\n".join(self.tcp.history))
        self.room_ok(self.tcp, w)
        w.close()

    def test_limits(self):
        w = self.wss(self.srv, self.wport, self.tcp)
        # Over max_line (1024): the usual error, as on TCP.
        w.sendline("x" * 5000)
        w.expect("! line too long (max 1024 bytes)")
        w.sendline("short again")
        self.tcp.read_until("[%s]: short again" % w.name)
        self.assertNotIn("xxxx", "\n".join(self.tcp.history))
        # A frame over 16 MiB: close 1009.
        w.send(ct.ws_frame(TEXT, "z" * 20, length=(16 << 20) + 1))
        self.assertEqual(w.wait_close(), 1009)
        self.tcp.read_until(lambda l: l.startswith("* %s " % w.name) and
                            not l.endswith(" joined"))
        # Not UTF-8, split over fragments: close 1007, the room hears none.
        u = self.wss(self.srv, self.wport, self.tcp)
        m0 = self.srv.mark()
        u.send(ct.ws_frame(TEXT, "valid start ", fin=False) +
               ct.ws_frame(CONT, b"\xce\xba\xe1\xbd"))
        self.assertEqual(u.wait_close(), 1007)
        self.srv.wait_log(r"closed with 1007", after=m0)
        self.tcp.read_until(lambda l: l.startswith("* %s " % u.name) and
                            not l.endswith(" joined"))
        self.assertNotIn("valid start", "\n".join(self.tcp.history))
        self.room_ok(self.tcp)


class Handshake(WssBase):
    def test_never_finished(self):
        with self.server(tls={"handshake_timeout": 1},
                         metrics={"bind": "127.0.0.1", "port": 0}) as srv:
            timeouts = ("chatd_tls_handshake_failures_total",
                        '{reason="timeout"}')
            m0 = srv.metrics()
            wport = srv.listener_port("websocket")
            tcp = srv.client()
            silent = socket.create_connection(("127.0.0.1", wport))
            half = socket.create_connection(("127.0.0.1", wport))
            half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            t0 = time.monotonic()
            for s in (silent, half):
                ct.read_to_close(s)
            self.assertLess(time.monotonic() - t0, 4)
            for s in (silent, half):
                srv.wait_log(r"tls handshake with %s failed: not done "
                             r"within 1 s" % re.escape(ct.sockname(s)))
                s.close()
            # The door's timeouts are counted as the TLS listener's are.
            self.assertEqual(srv.metrics()[timeouts] - m0[timeouts], 2)
            w = self.wss(srv, wport, tcp)
            self.room_ok(tcp, w)
            self.assertEqual(tcp.ask("who"), "* online (2):")

    def test_reload_new_certificate(self):
        cert, key = self.ca.cert("live")
        with self.server(cert="live") as srv:
            wport = srv.listener_port("websocket")
            tcp = srv.client()
            old = self.wss(srv, wport, tcp)
            first = old.sock.getpeercert()["serialNumber"]
            new_cert, new_key = self.ca.cert("renewed")
            shutil.copy(new_cert, cert)
            shutil.copy(new_key, key)
            ok, line = srv.reload()
            self.assertTrue(ok, line)
            self.assertNotIn("reload: TLS", srv.log_text())
            fresh = self.wss(srv, wport, tcp)
            self.assertNotEqual(fresh.sock.getpeercert()["serialNumber"],
                                first)
            old.sendline("on the old session")
            fresh.read_until("[%s]: on the old session" % old.name)
            tcp.read_until("[%s]: on the old session" % old.name)
            # The page too comes with the new certificate.
            s = self.ca.client_context().wrap_socket(
                socket.create_connection(("127.0.0.1", wport)),
                server_hostname="localhost")
            self.assertNotEqual(s.getpeercert()["serialNumber"], first)
            s.close()

    def test_check_needs_certificate(self):
        d = ct.mkdtemp()
        for tls, missing in (({}, "cert"),
                             ({"cert": self.ca.tls_section()["cert"]},
                              "key")):
            cfg = {"websocket": {"port": 0, "tls": "true"}}
            if tls:
                cfg["tls"] = tls
            path = ct.write_file(os.path.join(d, "c.ini"),
                                 ct.format_ini(cfg))
            for args in (["-t", "-c", path], ["-c", path]):
                r = ct.run_chatd(args)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("[websocket] tls = true but [tls] %s is not "
                              "set: wss:// needs the [tls] certificate and "
                              "its key\n" % missing, r.stderr)
        # With both, -t passes and shows the key.
        cfg = {"websocket": {"port": 0, "tls": "true"},
               "tls": self.ca.tls_section(port="off")}
        path = ct.write_file(os.path.join(d, "ok.ini"), ct.format_ini(cfg))
        r = ct.run_chatd(["-t", "-c", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\n\[websocket\]\n(.*\n)*tls = true\b")


class Upgrade(WssBase):
    def test_wss_users_told_to_reconnect(self):
        """SIGUSR2: the TCP user moves; the wss user, whose TLS session
        cannot, hears the notice, gets a close frame in order, and the
        room sees it leave once; the listener moves and wss works on."""
        d = ct.mkdtemp()
        binary = os.path.join(d, "chatd")
        shutil.copy(ct.CHATD, binary)
        with self.server(binary=binary) as srv:
            wport = srv.listener_port("websocket")
            tcp = srv.client()
            w = self.wss(srv, wport, tcp)
            got = {}

            def closed():
                got["lines"] = w.expect_closed(timeout=10, partial_ok=True)

            ok, line = srv.upgrade(20, during=closed)
            self.assertTrue(ok, line)
            self.assertEqual(srv.old_status, 0)
            self.assertEqual(got["lines"], [RECONNECT])
            self.assertTrue(w.closes, "no close frame")
            self.assertIsNone(w.tls_error)
            self.assertFalse(w.reset)
            srv.wait_log(r"upgrade: 1 clients of a transport that cannot "
                         r"be handed over")
            srv.wait_log(r"listening on [^ ]+:%d for websocket \(handed "
                         r"over\)" % wport)
            seen = tcp.read_until(lambda l: l.startswith(
                "* server upgraded to "))
            self.assertEqual(seen.count("* %s left (server upgrade; "
                                        "reconnect)" % w.name), 1, seen)
            again = self.wss(srv, wport, tcp)
            again.sendline("back over wss")
            tcp.read_until("[%s]: back over wss" % again.name)
            self.room_ok(tcp, again)


if __name__ == "__main__":
    unittest.main()
