#!/usr/bin/env python3
"""[websocket] conformance, in the groups of the Autobahn test suite:
handshake errors, unmasked client frames, reserved bits, fragmented
messages (UTF-8 split across fragments), control frames inside
fragments, oversized messages, ping/pong, close codes, abrupt
disconnects, binary frames (refused: close 1003), invalid UTF-8 (close
1007), many clients at once; then the HTTP side (the page, 404, 405,
413, 414, 431), the Origin rule, trusted proxies and X-Forwarded-For,
the connection limits, and the line rules (control stripping, one
message one line, idle timeout not kept alive by pings, the close a
client never answers).  Each bad client is logged and closed; a plain
TCP client in the same room checks that no one else notices."""

import os
import socket
import struct
import time
import unittest

import chatdtest as ct

ct.arm_watchdog(240)
WWW = os.path.join(ct.SRCDIR, "www")
TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def ws_config(**extra):
    ws = {"bind": "127.0.0.1", "port": 0, "www": WWW}
    ws.update(extra.pop("websocket", {}))
    cfg = {"websocket": ws}
    cfg.update(extra)
    return cfg


class WsBase(unittest.TestCase):
    config = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.Server(config=ws_config(**cls.config)).start()
        cls.wport = cls.srv.listener_port("websocket")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.tcp = self.srv.client()

    def tearDown(self):
        self.tcp.close()

    def ws(self, **kw):
        c = ct.WsClient(self.wport, **kw)
        c.join()
        self.tcp.read_until("* %s joined" % c.name)
        return c

    def room_ok(self, gone=None):
        """The TCP client still chats; gone: a client that must have left
        without its bad message being seen."""
        if gone is not None:
            self.tcp.read_until(lambda l: l.startswith(
                "* %s " % gone.name) and not l.endswith(" joined"))
        self.tcp.sendline("still here")
        got = self.tcp.read_until("[%s]: still here" % self.tcp.name)
        if gone is not None:
            self.assertFalse([l for l in got if l.startswith(
                "[%s]" % gone.name)], "the room heard a bad client")

    def bad(self, frames, code, within=5.0):
        """Send frames from a new client; it must get a close with code
        and the connection must end; the room hears none of it."""
        c = self.ws()
        mark = self.srv.mark()
        c.send(b"".join(frames))
        got = c.wait_close(within)
        self.assertEqual(got, code, "close code; frames %r" % c.frames)
        self.room_ok(gone=c)
        return mark


class Framing(WsBase):
    def test_unmasked_client_frame(self):
        mark = self.bad([ct.ws_frame(TEXT, "unmasked", mask=False)], 1002)
        self.srv.wait_log(r"protocol error; closed with 1002", after=mark)
        self.assertNotIn("unmasked", "\n".join(self.tcp.history))

    def test_reserved_bits(self):
        for rsv in (1, 2, 4):
            self.bad([ct.ws_frame(TEXT, "rsv", rsv=rsv)], 1002)
        self.assertNotIn("]: rsv", "\n".join(self.tcp.history))

    def test_reserved_opcode(self):
        self.bad([ct.ws_frame(0x3, "op3")], 1002)
        self.bad([ct.ws_frame(0xB, "opB")], 1002)

    def test_fragmented_utf8_split(self):
        c = self.ws()
        word = "grüße €𝄞".encode()
        # Split inside the two-, three- and four-byte sequences.
        parts = [word[:3], word[3:8], word[8:12], word[12:]]
        frames = [ct.ws_frame(TEXT, parts[0], fin=False)]
        frames += [ct.ws_frame(CONT, p, fin=False) for p in parts[1:-1]]
        frames.append(ct.ws_frame(CONT, parts[-1]))
        c.send(b"".join(frames))
        self.tcp.read_until("[%s]: grüße €𝄞" % c.name)
        c.expect("[%s]: grüße €𝄞" % c.name)
        # Byte by byte on the wire too.
        for b in ct.ws_frame(TEXT, "slowly"):
            c.send(bytes([b]))
        self.tcp.read_until("[%s]: slowly" % c.name)
        c.close()

    def test_control_inside_fragments(self):
        c = self.ws()
        c.send(ct.ws_frame(TEXT, "one ", fin=False) +
               ct.ws_frame(PING, "mid") +
               ct.ws_frame(CONT, "message", fin=False) +
               ct.ws_frame(PONG, "unasked") +
               ct.ws_frame(CONT, ""))
        self.tcp.read_until("[%s]: one message" % c.name)
        c.expect("[%s]: one message" % c.name)
        self.assertEqual(c.pongs, [b"mid"])
        c.close()

    def test_fragment_rules(self):
        # A continuation with nothing to continue; a new message inside
        # a fragmented one; a fragmented control frame.
        self.bad([ct.ws_frame(CONT, "orphan")], 1002)
        self.bad([ct.ws_frame(TEXT, "a", fin=False),
                  ct.ws_frame(TEXT, "b")], 1002)
        self.bad([ct.ws_frame(PING, "x", fin=False)], 1002)
        self.bad([ct.ws_frame(PING, "x" * 126)], 1002)

    def test_oversized_message(self):
        # Over max_line (1024): the usual error, as on TCP; the connection
        # stays, and so does the next message.
        c = self.ws()
        c.sendline("x" * 5000)
        c.expect("! line too long (max 1024 bytes)")
        big = [ct.ws_frame(TEXT, "y" * 600, fin=False),
               ct.ws_frame(CONT, "y" * 600)]
        c.send(b"".join(big))
        c.expect("! line too long (max 1024 bytes)")
        c.sendline("small again")
        self.tcp.read_until("[%s]: small again" % c.name)
        self.assertNotIn("xxxx", "\n".join(self.tcp.history))
        c.close()

    def test_huge_frames(self):
        # A frame over 16 MiB is refused at its header with 1009; one
        # within it but over max_line is discarded as it arrives.
        self.bad([ct.ws_frame(TEXT, "z" * 20, length=1 << 62)], 1009)
        self.bad([ct.ws_frame(TEXT, "z" * 20, length=(16 << 20) + 1)], 1009)
        c = self.ws()
        c.send(ct.ws_frame(TEXT, "z" * 4000, length=4 << 20)[:4000])
        c.expect("! line too long (max 1024 bytes)")
        c.no_line(0.3)
        c.abort()
        self.room_ok(gone=c)

    def test_ping_pong(self):
        c = self.ws()
        c.ping(b"")
        c.ping(b"p" * 125)
        c.sendline("after pings")
        c.expect("[%s]: after pings" % c.name)
        self.assertEqual(c.pongs, [b"", b"p" * 125])
        c.close()

    def test_close_codes(self):
        c = self.ws()
        c.send_close(1000, b"bye")
        self.assertEqual(c.wait_close(), 1000)
        self.tcp.read_until("* %s left" % c.name)
        c = self.ws()
        c.send_close(None)		# no status: answered without one
        c.expect_closed(partial_ok=True)
        self.assertEqual(c.closes, [(None, b"")])
        self.tcp.read_until("* %s left" % c.name)
        for code in (0, 999, 1004, 1005, 1006, 1016, 2999, 5000):
            self.bad([ct.ws_frame(CLOSE, struct.pack("!H", code))], 1002)
        self.bad([ct.ws_frame(CLOSE, b"\x03")], 1002)	# 1 byte
        self.bad([ct.ws_frame(CLOSE, struct.pack("!H", 1000) +
                              b"\xff\xfe")], 1007)	# reason not UTF-8
        c = self.ws()
        c.send_close(4000)
        self.assertEqual(c.wait_close(), 4000)

    def test_server_closes(self):
        c = self.ws()
        c.sendline("exit")
        c.read_until("* bye")
        self.assertEqual(c.wait_close(), 1000)
        self.tcp.read_until("* %s left" % c.name)

    def test_close_never_answered(self):
        # The server's close is not answered and the socket not closed:
        # chatd drops it after its linger time (5 s).
        c = self.ws()
        c.sendline("exit")
        t0 = time.monotonic()
        c.expect_closed(timeout=8, partial_ok=True)
        self.assertEqual(c.closes[0][0], 1000)
        self.assertLess(time.monotonic() - t0, 7.5)

    def test_abrupt_disconnects(self):
        c = self.ws()
        c.send(ct.ws_frame(TEXT, "half a mes", fin=False))
        c.close()
        self.room_ok(gone=c)
        c = self.ws()
        c.send(ct.ws_frame(TEXT, "cut short")[:7])
        c.abort()
        self.room_ok(gone=c)
        self.assertNotIn("half a mes", "\n".join(self.tcp.history))

    def test_binary_refused(self):
        mark = self.bad([ct.ws_frame(BINARY, b"\x00\x01")], 1003)
        self.srv.wait_log(r"binary messages are not accepted", after=mark)

    def test_invalid_utf8(self):
        for payload in (b"\xff", b"ab\xc3", b"\xed\xa0\x80", b"\xc0\xaf",
                        b"\xf4\x90\x80\x80"):
            self.bad([ct.ws_frame(TEXT, payload)], 1007)
        # Invalid in the second fragment: the first never reaches the room.
        self.bad([ct.ws_frame(TEXT, "valid start ", fin=False),
                  ct.ws_frame(CONT, b"\xce\xba\xe1\xbd")], 1007)
        self.assertNotIn("valid start", "\n".join(self.tcp.history))

    def test_line_rules(self):
        c = self.ws()
        c.sendline("bell\x07 and\x1b[31m escape")
        self.tcp.read_until("[%s]: bell and[31m escape" % c.name)
        c.sendline("one\r\nmessage\nstays one line")
        self.tcp.read_until("[%s]: one  message stays one line" % c.name)
        c.sendline("rename|webster")
        c.read_until("* you are now webster")
        self.tcp.read_until("* %s is now webster" % c.name)
        c.close()

    def test_many_clients(self):
        clients = []
        try:
            for _ in range(100):
                clients.append(ct.WsClient(self.wport))
                clients[-1].join()
            clients[0].sendline("to all hundred")
            for c in clients:
                c.read_until("[%s]: to all hundred" % clients[0].name)
            self.tcp.read_until("[%s]: to all hundred" % clients[0].name)
        finally:
            # Even after a failure: a room left over 100 users would
            # gather the joins the next tests wait for one by one.
            for c in clients:
                c.close()


class Http(WsBase):
    def get(self, request):
        return ct.http("127.0.0.1", self.wport, request)

    def req(self, line, *fields):
        return ("%s\r\nHost: 127.0.0.1\r\n%s\r\n" % (line, "".join(
            f + "\r\n" for f in fields))).encode()

    def test_page(self):
        status, h, body = self.get(self.req("GET / HTTP/1.1"))
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn(b"chat.js", body)
        self.assertIn("default-src 'self'", h["content-security-policy"])
        for name, ctype in (("chat.js", "text/javascript"),
                            ("chat.css", "text/css")):
            status, h, body = self.get(self.req("GET /%s HTTP/1.1" % name))
            self.assertEqual(status, 200)
            self.assertTrue(h["content-type"].startswith(ctype))
            with open(os.path.join(WWW, name), "rb") as f:
                self.assertEqual(body, f.read())
        status, h, body = self.get(self.req("HEAD / HTTP/1.1"))
        self.assertEqual((status, body), (200, b""))

    def test_statuses(self):
        for path in ("/nothing.html", "/../chatd.ini", "/.hidden.js",
                     "/sub/dir.js", "/index.exe", "/ws/"):
            self.assertEqual(self.get(self.req("GET %s HTTP/1.1" % path))[0],
                             404, path)
        status, h, _ = self.get(self.req("DELETE / HTTP/1.1"))
        self.assertEqual((status, h.get("allow")), (405, "GET, HEAD"))
        self.assertEqual(self.get(self.req("POST /ws HTTP/1.1",
                                           "Content-Length: 0"))[0], 405)
        self.assertEqual(self.get(self.req("POST / HTTP/1.1",
                                           "Content-Length: 10"))[0], 413)
        self.assertEqual(self.get(self.req("GET /%s HTTP/1.1"
                                           % ("a" * 3000)))[0], 414)
        self.assertEqual(self.get(self.req("GET / HTTP/1.1",
                                           "X-Big: " + "b" * 9000))[0], 431)
        self.assertEqual(self.get(b"GARBAGE\r\n\r\n")[0], 400)

    def test_handshake_errors(self):
        status, h, _ = self.get(self.req("GET /ws HTTP/1.1"))
        self.assertEqual((status, h.get("upgrade")), (426, "websocket"))
        req, _ = ct.ws_request(version="8")
        status, h, _ = self.get(req)
        self.assertEqual((status, h.get("sec-websocket-version")),
                         (426, "13"))
        req, _ = ct.ws_request(version=None)
        self.assertEqual(self.get(req)[0], 426)
        for key in ("short==", "not base64 at all!!!!!==",
                    "AAAAAAAAAAAAAAAAAAAAAAAA", "QUJD"):
            req, _ = ct.ws_request(key=key)
            self.assertEqual(self.get(req)[0], 400, key)
        req, _ = ct.ws_request()
        self.assertEqual(self.get(req.replace(b"HTTP/1.1", b"HTTP/1.0"))[0],
                         400)
        req, _ = ct.ws_request()
        self.assertEqual(self.get(req.replace(b"Upgrade: websocket",
                                              b"Upgrade: h2c"))[0], 426)
        self.room_ok()

    def test_first_frame_with_the_request(self):
        # A client may send its first frame right behind the request.
        c = ct.WsClient(self.wport, upgrade=False)
        req, key = ct.ws_request()
        c.send(req + ct.ws_frame(TEXT, "eager"))
        c.raw = b""
        while b"\r\n\r\n" not in c.raw:
            c.raw += c.sock.recv(4096)
        c.raw = c.raw.partition(b"\r\n\r\n")[2]
        c._decode()
        name = c.expect_match(r"\* welcome (\S+)").group(1)
        self.tcp.read_until("[%s]: eager" % name)
        c.close()


class Origins(WsBase):
    config = {"websocket": {"origins": "https://chat.example.org"}}

    def test_origins(self):
        host = "127.0.0.1:%d" % self.wport
        for origin, ok in (("http://" + host, True),	# its own page
                           ("https://chat.example.org", True),
                           ("https://evil.example.com", False),
                           ("http://127.0.0.1", False),
                           ("null", False)):
            req, _ = ct.ws_request(host=host, origin=origin)
            if ok:
                c = ct.WsClient(self.wport, upgrade=False)
                c.upgrade(host=host, origin=origin)
                c.join()
                c.close()
            else:
                self.assertEqual(ct.http("127.0.0.1", self.wport, req)[0], 403, origin)
        self.room_ok()


class OriginsOpen(WsBase):
    config = {"websocket": {"origins": "*"}}

    def test_any_origin(self):
        c = ct.WsClient(self.wport, origin="https://anywhere.example")
        c.join()
        c.close()


class Proxies(WsBase):
    config = {"websocket": {"trusted_proxies": "127.0.0.1 ::1"},
              "limits": {"max_per_ip": 2, "lines_per_second": 0}}

    def test_forwarded(self):
        c = ct.WsClient(self.wport, extra={
            "X-Forwarded-For": "198.51.100.9, 203.0.113.7"})
        c.expect("* welcome 203.0.113.7:0")
        self.tcp.read_until("* 203.0.113.7:0 joined")
        # The proxies of a chain are skipped from the right.
        d = ct.WsClient(self.wport, extra={
            "X-Forwarded-For": "203.0.113.8, 127.0.0.1"})
        d.expect("* welcome 203.0.113.8:0")
        # max_per_ip counts the forwarded address.
        e = ct.WsClient(self.wport, extra={"X-Forwarded-For": "203.0.113.7"})
        e.expect_match(r"\* welcome 203\.0\.113\.7:0#\d+")
        req, _ = ct.ws_request(extra={"X-Forwarded-For": "203.0.113.7"})
        self.assertEqual(ct.http("127.0.0.1", self.wport, req)[0], 503)
        req, _ = ct.ws_request(extra={"X-Forwarded-For": "not-an-address"})
        self.assertEqual(ct.http("127.0.0.1", self.wport, req)[0], 400)
        for x in (c, d, e):
            x.close()


class Untrusted(WsBase):
    config = {"websocket": {"trusted_proxies": "192.0.2.1"}}

    def test_ignored(self):
        c = ct.WsClient(self.wport, extra={"X-Forwarded-For": "203.0.113.7"})
        c.expect("* welcome %s" % c.name)	# its own address
        c.close()


class Limits(WsBase):
    config = {"server": {"max_clients": 3}}

    def test_full(self):
        a = self.ws()
        b = self.ws()
        req, _ = ct.ws_request()
        status, _, body = ct.http("127.0.0.1", self.wport, req)
        self.assertEqual((status, body), (503, b"503 Service Unavailable\n"))
        self.srv.wait_log(r"refused \(503\): server full")
        a.close()
        b.close()



class Idle(WsBase):
    config = {"server": {"idle_timeout": 2}}

    def test_idle_pings_do_not_count(self):
        c = self.ws()
        t0 = time.monotonic()
        while not c.eof and time.monotonic() - t0 < 5:
            c.ping()
            c._fill(time.monotonic() + 0.3)
        elapsed = time.monotonic() - t0
        c.drain()
        while c._take_line() is not None:
            pass
        self.assertTrue(c.eof, "a pinging client outlived idle_timeout")
        self.assertIn("* idle timeout, bye", c.history)
        self.assertEqual(c.closes[0][0], 1000)
        self.assertLess(elapsed, 4)


class Shutdown(unittest.TestCase):
    def test_going_away(self):
        srv = ct.Server(config=ws_config()).start()
        c = ct.WsClient(srv.listener_port("websocket"))
        c.join()
        srv.stop()
        self.assertEqual(c.wait_close(), 1001)


class Config(unittest.TestCase):
    def check(self, ws, want):
        d = ct.mkdtemp()
        path = ct.write_file(os.path.join(d, "c.ini"), ct.format_ini(
            {"websocket": ws}))
        r = ct.run_chatd(["-t", "-c", path])
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(want, r.stderr)

    def test_bad_keys(self):
        self.check({"path": "ws"}, "expected a path starting with '/'")
        self.check({"path": "/ws?x"}, "expected a path")
        self.check({"origins": "example.org"}, "'example.org' is not an "
                   "origin")
        self.check({"origins": "http://a.example/path"}, "is not an origin")
        self.check({"trusted_proxies": "127.0.0.1 proxy.local"},
                   "'proxy.local' is not an IPv4 or IPv6 address")
        self.check({"port": 0, "tls": "yes"}, "[websocket] tls = true but "
                   "[tls] cert is not set")
        self.check({"nonsense": 1}, "unknown key 'nonsense' in [websocket]")


if __name__ == "__main__":
    unittest.main()
