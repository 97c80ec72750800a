#!/usr/bin/env python3
"""[metrics]: GET /metrics passes promtool check metrics, and a scripted
session moves every counter by exactly what it did: connections accepted
and refused, each way of leaving, lines in and out (the lines and bytes
the clients received, counted by them), broadcasts, Lua calls per event
and command, reloads done and failed; gauges read the server's state.
The HTTP door answers what is not a scrape with the right status: 404,
405, 413, 431, 400, 408, and 503 past its connection limit.  Per
transport: TLS handshakes done and failed by reason, WebSocket upgrades
and closes by code, and the sockets open now per transport."""

import os
import socket
import ssl
import time
import unittest

import chatdtest as ct

http = ct.http
parse = ct.parse_metrics
promtool_check = ct.promtool_check


class MetricsServer(ct.Server):
    """chatd with the metrics listener on a free loopback port."""

    def __init__(self, config=None, **kw):
        cfg = {"metrics": {"port": 0}}
        for sec, keys in (config or {}).items():
            cfg.setdefault(sec, {}).update(keys)
        super().__init__(cfg, **kw)

    def start(self):
        super().start()
        self.mhost, self.mport = self.metrics_addr()
        return self

    def request(self, raw, timeout=5.0):
        return http(self.mhost, self.mport, raw, timeout)


class MetricsTest(unittest.TestCase):

    def test_off_by_default(self):
        with ct.Server() as srv:
            self.assertNotIn("serving metrics", srv.log_text())

    def test_promtool_and_session(self):
        srv = MetricsServer({"server": {"max_clients": 2,
                                        "idle_timeout": 2}})
        with srv:
            text0 = srv.scrape()
            self.assertEqual(promtool_check(text0), (0, ""))
            m0 = parse(text0)

            a = srv.client()
            b = srv.client()
            a.expect("* %s joined" % b.name)
            for i in range(3):
                a.sendline("hello %d" % i)
                a.expect("[%s]: hello %d" % (a.name, i))
                b.expect("[%s]: hello %d" % (a.name, i))
            a.sendline("who")
            a.read_until(lambda l: l.startswith("*   %s" % b.name))
            b.ask("rename|bea", "* you are now bea")
            a.expect("* %s is now bea" % b.name)
            # A third connection is refused: max_clients = 2.
            c = ct.Client(srv.port)
            self.assertEqual(c.line(), "! server full")
            c.expect_closed()
            a.ask("exit", "* bye")
            a.expect_closed()
            b.expect("* %s left" % a.name)
            b.close()
            self.wait_gauge(srv, "chatd_client_sockets", 0)
            d = srv.client()
            d.expect("* idle timeout, bye", timeout=6)
            d.expect_closed()
            self.wait_gauge(srv, "chatd_client_sockets", 0)

            ok, _ = srv.reload()
            self.assertTrue(ok)
            with open(srv.config_path, "a") as f:
                f.write("[server]\nbogus = 1\n")
            ok, _ = srv.reload()
            self.assertFalse(ok)

            text1 = srv.scrape()
            self.assertEqual(promtool_check(text1), (0, ""))
            m1 = parse(text1)

        def delta(name, labels=""):
            return m1.get((name, labels), 0) - m0.get((name, labels), 0)

        self.assertEqual(delta("chatd_connections_accepted_total"), 3)
        self.assertEqual(delta("chatd_connections_refused_total",
                               '{reason="full"}'), 1)
        self.assertEqual(delta("chatd_connections_refused_total",
                               '{reason="per_ip"}'), 0)
        for reason, n in (("quit", 1), ("closed", 1), ("timeout", 1),
                          ("slow", 0), ("shutdown", 0), ("plugin", 0)):
            self.assertEqual(delta("chatd_disconnects_total",
                                   '{reason="%s"}' % reason), n, reason)
        # hello x3, who, rename|bea, exit
        self.assertEqual(delta("chatd_lines_received_total"), 6)
        received = a.history + b.history + d.history
        self.assertEqual(delta("chatd_lines_sent_total"), len(received))
        self.assertEqual(delta("chatd_sent_bytes_total"),
                         sum(len(l.encode()) + 2 for l in received))
        self.assertGreaterEqual(delta("chatd_broadcasts_total"), 3)
        for call, n in (("join", 3), ("leave", 3), ("line", 3),
                        ("command:who", 1), ("command:rename", 1),
                        ("command:exit", 1)):
            self.assertEqual(delta("chatd_lua_calls_total",
                                   '{call="%s"}' % call), n, call)
            if n:
                self.assertGreater(delta("chatd_lua_seconds_total",
                                         '{call="%s"}' % call), 0, call)
        self.assertEqual(delta("chatd_reloads_total"), 1)
        self.assertEqual(delta("chatd_reload_failures_total"), 1)
        self.assertEqual(m1[("chatd_users", "")], 0)
        self.assertEqual(m1[("chatd_users_max", "")], 2)
        self.assertEqual(m1[("chatd_output_queue_bytes", "")], 0)
        self.assertGreater(m1[("chatd_lua_memory_bytes", "")], 0)
        self.assertGreater(delta("chatd_event_loop_lag_seconds_count"), 0)
        self.assertEqual(m1[("chatd_event_loop_lag_seconds_count", "")],
                         m1[("chatd_event_loop_lag_seconds_bucket",
                             '{le="+Inf"}')])
        # The scrapes in between (wait_gauge) count as well.
        self.assertGreaterEqual(delta("chatd_http_responses_total",
                                      '{code="200"}'), 1)
        self.assertEqual(delta("chatd_http_responses_total",
                               '{code="404"}'), 0)
        self.assertEqual(m1[("chatd_build_info",
                             '{version="%s",lua="5.4"}' % self.version())],
                         1)

    def version(self):
        return ct.run_chatd(["-V"]).stdout.split()[1]

    def wait_gauge(self, srv, name, want, timeout=5.0, labels=""):
        deadline = time.monotonic() + timeout
        while True:
            got = parse(srv.scrape()).get((name, labels))
            if got == want:
                return
            if time.monotonic() > deadline:
                raise AssertionError("%s is %s, not %s" % (name, got, want))
            time.sleep(0.05)

    def test_tls_and_websocket_session(self):
        """N good TLS handshakes, one failure of each kind chatd sorts,
        one that times out, M WebSocket upgrades: the counters move by
        exactly that, and the socket gauges follow the connections."""
        ca = ct.TestCA()
        srv = MetricsServer({
            "tls": dict(ca.tls_section(), handshake_timeout=1),
            "websocket": {"bind": "127.0.0.1", "port": 0,
                          "www": os.path.join(ct.SRCDIR, "www")}})
        srv.ca = ca
        with srv:
            wport = srv.listener_port("websocket")
            m0 = parse(srv.scrape())
            good = [srv.tls_client() for _ in range(3)]
            upgraded = [ct.WsClient(wport) for _ in range(2)]
            for c in upgraded:
                c.join()
            # Refused at the door: no upgrade.
            st, _, _ = http("127.0.0.1", wport, ct.ws_request(
                version="8")[0])
            self.assertEqual(st, 426)
            text = srv.scrape()
            self.assertEqual(promtool_check(text), (0, ""))
            mid = parse(text)
            for transport, n in (("tls", 3), ("websocket", 2), ("tcp", 0)):
                self.assertEqual(mid[("chatd_transport_sockets",
                                      '{transport="%s"}' % transport)]
                                 - m0[("chatd_transport_sockets",
                                       '{transport="%s"}' % transport)],
                                 n, transport)

            def failed(connect):
                m = srv.mark()
                connect()
                srv.wait_log(r"tls handshake with \S+ failed", after=m)

            def garbage():
                g = ct.Client(srv.tls_port)
                g.send(b"hello there\r\n")
                g.expect_closed(partial_ok=True)

            def untrusted():	# verifies against the system's CAs
                with self.assertRaises(ssl.SSLError):
                    srv.tls_client(context=ssl.create_default_context())

            def no_cipher():
                ctx = ca.client_context()
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers("AES128-SHA")
                with self.assertRaises(ssl.SSLError):
                    srv.tls_client(context=ctx)

            def gone():
                ct.Client(srv.tls_port).close()

            def silent():
                ct.Client(srv.tls_port).expect_closed(timeout=5)

            for connect in (garbage, untrusted, no_cipher, gone, silent):
                failed(connect)

            # Each way a WebSocket ends: a close the server echoes, the
            # user's quit (chatd's 1000), a code outside the list.
            upgraded[0].send_close(1000)
            self.assertEqual(upgraded[0].wait_close(), 1000)
            upgraded[1].sendline("quit")
            upgraded[1].read_until("* bye")
            self.assertEqual(upgraded[1].wait_close(), 1000)
            odd = ct.WsClient(wport)
            odd.join()
            odd.send_close(4321)
            self.assertEqual(odd.wait_close(), 4321)
            for c in good:
                c.close()
            for name in ("tls", "websocket"):
                self.wait_gauge(srv, "chatd_transport_sockets",
                                m0[("chatd_transport_sockets",
                                    '{transport="%s"}' % name)],
                                labels='{transport="%s"}' % name)
            text = srv.scrape()
            self.assertEqual(promtool_check(text), (0, ""))
            m1 = parse(text)

        def delta(name, labels=""):
            return m1.get((name, labels), 0) - m0.get((name, labels), 0)

        self.assertEqual(delta("chatd_tls_handshakes_total"), 3)
        for reason, n in (("timeout", 1), ("closed", 1), ("version", 0),
                          ("cipher", 1), ("certificate", 1),
                          ("protocol", 1)):
            self.assertEqual(delta("chatd_tls_handshake_failures_total",
                                   '{reason="%s"}' % reason), n, reason)
        self.assertEqual(delta("chatd_websocket_upgrades_total"), 3)
        self.assertEqual(delta("chatd_http_responses_total",
                               '{code="101"}'), 3)
        self.assertEqual(delta("chatd_http_responses_total",
                               '{code="426"}'), 1)
        for code, n in (("1000", 2), ("1001", 0), ("other", 1),
                        ("none", 0)):
            self.assertEqual(delta("chatd_websocket_closes_total",
                                   '{code="%s"}' % code), n, code)
        # Every admitted socket, whatever became of its handshake.
        self.assertEqual(delta("chatd_connections_accepted_total"),
                         3 + 5 + 3)

    def test_users_and_queue_gauges(self):
        with MetricsServer() as srv:
            clients = srv.room(3)
            m = parse(srv.scrape())
            self.assertEqual(m[("chatd_users", "")], 3)
            self.assertEqual(m[("chatd_client_sockets", "")], 3)
            for c in clients:
                c.close()

    def test_plugin_errors(self):
        bad = ('chat.command("_boom", "", function(user) error("boom") end)\n'
               'chat.on("chat", function(user, text)\n'
               '  if text == "fail" then error("chat failed") end\n'
               'end)\n')
        with MetricsServer(plugins={"50-bad.lua": bad}) as srv:
            c = srv.client()
            c.ask("_boom", "! internal error")
            c.sendline("fail")
            c.expect("[%s]: fail" % c.name)
            c.ask("_boom", "! internal error")
            m = parse(srv.scrape())
            self.assertEqual(m[("chatd_plugin_errors_total",
                                '{plugin="50-bad.lua"}')], 3)
            self.assertNotIn(("chatd_plugin_errors_total",
                              '{plugin="10-room.lua"}'), m)
            c.close()

    def test_http_errors(self):
        with MetricsServer() as srv:
            st, h, body = srv.request(b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual((st, body), (404, b"404 Not Found\n"))
            self.assertEqual(h["connection"], "close")
            st, h, _ = srv.request(b"DELETE /metrics HTTP/1.1\r\nHost: x"
                                   b"\r\n\r\n")
            self.assertEqual((st, h.get("allow")), (405, "GET, HEAD"))
            st, h, body = srv.request(b"HEAD /metrics HTTP/1.0\r\n\r\n")
            self.assertEqual((st, body), (200, b""))
            self.assertGreater(int(h["content-length"]), 1000)
            st, _, _ = srv.request(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")
            self.assertEqual(st, 200, "a query does not change the path")
            st, _, _ = srv.request(b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 100000\r\n\r\n"
                                   + b"x" * 100000)
            self.assertEqual(st, 413)
            st, _, _ = srv.request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                   + b"X-Big: " + b"y" * 9000 + b"\r\n\r\n")
            self.assertEqual(st, 431)
            st, _, _ = srv.request(b"GET /" + b"a" * 3000
                                   + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(st, 414)
            st, _, _ = srv.request(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1")
            self.assertEqual(st, 400)
            st, _, _ = srv.request(b"GET /metrics HTTP/1.1\r\n\r\n")
            self.assertEqual(st, 400, "HTTP/1.1 without Host")
            # Half a request, then EOF: 400, not silence.
            with socket.create_connection((srv.mhost, srv.mport)) as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHo")
                s.shutdown(socket.SHUT_WR)
                self.assertRegex(s.recv(100), rb"^HTTP/1\.1 400 ")
            # A server that is scraped still chats.
            c = srv.client()
            c.close()

    def test_connection_limit_and_timeout(self):
        with MetricsServer() as srv:
            t0 = time.monotonic()
            idle = [socket.create_connection((srv.mhost, srv.mport))
                    for _ in range(16)]
            try:
                # The 17th is answered 503 at once.
                st, h, _ = srv.request(b"GET /metrics HTTP/1.0\r\n\r\n")
                self.assertEqual((st, h.get("retry-after")), (503, "1"))
                # The idle ones are answered 408 after HTTP_TIMEOUT (10 s).
                idle[0].settimeout(20)
                data = idle[0].recv(200)
                self.assertRegex(data, rb"^HTTP/1\.1 408 Request Timeout\r\n")
                self.assertGreaterEqual(time.monotonic() - t0, 9)
            finally:
                for s in idle:
                    s.close()
            # The door frees a slot when it reads a closed peer's EOF,
            # which may come a loop turn after our close(): until then
            # a scrape is still one too many.
            deadline = time.monotonic() + 5
            while True:
                st, _, body = srv.request(
                    b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
                if st != 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(st, 200)
            self.assertEqual(srv.scrape().count("chatd_users 0\n"), 1)

    def test_socket_from_config_bind(self):
        if not ct.ipv6_available():
            self.fail("this test needs IPv6 on loopback")
        with MetricsServer({"metrics": {"bind": "::1"}}) as srv:
            self.assertEqual(srv.mhost, "[::1]")
            st, _, _ = http("::1", srv.mport, b"GET /metrics HTTP/1.0\r\n\r\n")
            self.assertEqual(st, 200)

    def test_restart_keys(self):
        srv = MetricsServer()
        with srv:
            port = srv.mport
            srv.config["metrics"]["port"] = ct.free_port()
            srv.write_config()
            ok, _ = srv.reload()
            self.assertTrue(ok)
            self.assertRegex(srv.log_text(), r"reload: \[metrics\] port "
                             r"changed; it takes effect when chatd is "
                             r"restarted")
            st, _, _ = http("127.0.0.1", port, b"GET /metrics HTTP/1.0\r\n\r\n")
            self.assertEqual(st, 200, "still served where it was")


if __name__ == "__main__":
    ct.main()
