#!/usr/bin/env python3
"""The memcheck scenario: one chatd (CHATD, which tests/memcheck/run points
at a valgrind wrapper) driven through every path a client and an operator
can take, then stopped with SIGTERM.  It asserts what the clients see, so a
path that silently stopped working fails here, and exits 0 when chatd
exited 0.  Valgrind's verdict is checked by tests/memcheck/run.

Steps: join, chat, rename (names refused as taken by folding and as
server-like), who, a line over max_line, invalid UTF-8 with control and NUL
bytes, telnet negotiation and a CR NUL line end, a line sent a byte at a
time, a plugin error, a plugin timer, an abrupt close (RST), a plain close,
a flood through the input throttle while a client that never reads is
dropped as too slow, WebSocket clients (the page, chat both ways,
fragments and a ping, each kind of bad frame, an oversized message, the
close handshake, an abrupt close), exit, a SIGHUP whose new plugin does not compile, a
SIGHUP that changes idle_timeout and an idle client timed out, then SIGTERM
with clients connected, one of them not reading.  Over TLS: a client that
chats, one that sends garbage instead of a ClientHello, one gone in the
middle of its handshake, one that never finishes it (handshake_timeout), a
SIGHUP with a broken certificate (the running one kept), and a TLS client
still connected at SIGTERM (close_notify on the way out)."""

import os
import signal
import sys
import time

import chatdtest as ct

T = float(os.environ.get("MEMCHECK_TIMEOUT", "30"))  # per wait, valgrind is slow

PLUGIN = r"""
chat.command("boom", "boom: raises an error", function(user)
    local t = nil
    return t.field
end)
chat.command("later", "later: answers from a timer", function(user)
    chat.timer(0.1, function() user:send("* later") end)
    local n = 0
    local t
    t = chat.every(0.05, function()
        n = n + 1
        if n == 2 then t:cancel() end
    end)
end)
"""

# output_limit is above one flood batch (100 lines, about 7.5 KB), so the
# clients that read are never at risk even when the kernel takes nothing
# for a moment (valgrind is slow, and chatd sizes a client's send buffer
# by output_limit); the one that never reads is dropped after about three
# times it.  A rate of 100 lines/s with a burst of 50 sends half of each
# batch through the throttle.
CONFIG = {
    "server": {"idle_timeout": 0},
    "websocket": {"bind": "127.0.0.1", "port": 0,
                  "www": os.path.join(ct.SRCDIR, "www")},
    "limits": {"lines_per_second": 100, "burst": 50, "max_per_ip": 0,
               "connects_per_second": 0},
    "buffers": {"max_line": 64, "output_limit": 16384},
    "tls": {"handshake_timeout": 3},
}


def step(msg):
    print("# " + msg, flush=True)


def main():
    ca = ct.TestCA()
    srv = ct.Server(config=CONFIG, plugins={"50-memcheck.lua": PLUGIN},
                    start_timeout=60, ca=ca)
    with srv:
        def client(**kw):
            kw.setdefault("timeout", T)
            return srv.client(**kw)

        step("join")
        a, b, c = client(), client(), client()
        a.read_until("* %s joined" % b.name)
        for x in (a, b):
            x.read_until("* %s joined" % c.name)

        def everyone(lines, who=None):
            for x in who or (a, b, c):
                for l in lines:
                    x.read_until(l)

        step("chat, rename, who")
        a.sendline("hello")
        everyone(["[%s]: hello" % a.name])
        b.sendline("rename|bob")
        b.read_until("* you are now bob")
        everyone(["* %s is now bob" % b.name], (a, c))
        b.sendline("rename|bob|x")
        b.read_until(lambda l: l.startswith("! name contains"))
        a.sendline("rename|\uff22\uff2f\uff22")     # fullwidth BOB
        a.read_until("! name is taken")
        a.sendline("rename|*server")
        a.read_until(lambda l: l.startswith("! name starts with"))
        c.sendline("who")
        c.read_until(lambda l: l.startswith("*   bob "))

        step("oversized line, bad UTF-8, NUL bytes, telnet commands, byte at a time")
        a.sendline("x" * 200)
        a.read_until("! line too long (max 64 bytes)")
        b.send(b"bad \xfe\xc0\x80 \x00nul\x1b[31m\xed\xa0\x80\r\n")
        everyone(["[bob]: bad \ufffd\ufffd\ufffd nul[31m\ufffd\ufffd\ufffd"])
        # telnet negotiation and a CR NUL line end are taken out
        c.send(b"\xff\xfb\x18\xff\xfa\x18\x00xterm\xff\xf0tel\xff\xffnet\r\x00")
        everyone(["[%s]: tel\ufffdnet" % c.name])
        for ch in b"one byte at a time\r\n":
            c.send(bytes([ch]))
        everyone(["[%s]: one byte at a time" % c.name])

        step("plugin error and timers")
        a.sendline("boom")
        a.read_until("! internal error")
        a.sendline("later")
        a.read_until("* later")

        step("abrupt close and plain close")
        d = client()
        d.abort()
        everyone(["* %s left" % d.name])
        e = client()
        e.sendline("half a line without its end")
        everyone(["[%s]: half a line without its end" % e.name])
        e.send(b"partial")
        e.close()
        everyone(["* %s left" % e.name])

        step("TLS: a client chats; garbage, a vanished and a silent handshake")
        t = srv.tls_client(timeout=T)
        everyone(["* %s joined" % t.name])
        t.sendline("over tls")
        everyone(["[%s]: over tls" % t.name], (a, b, c, t))
        junk = ct.Client(srv.tls_port, timeout=T)
        junk.send(b"GET / HTTP/1.0\r\n\r\n")
        srv.wait_log(r"tls handshake with %s failed: TLS error"
                     % junk.name, T)
        junk.close()
        gone = ct.Client(srv.tls_port, timeout=T)
        gone.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        gone.abort()
        srv.wait_log(r"tls handshake with %s failed" % gone.name, T)
        silent = ct.Client(srv.tls_port, timeout=T)
        srv.wait_log(r"tls handshake with %s failed: not done within"
                     % silent.name, T)
        silent.close()

        step("SIGHUP with a broken certificate: the running one kept")
        cert = srv.config["tls"]["cert"]
        with open(cert) as f:
            good = f.read()
        ct.write_file(cert, "-----BEGIN CERTIFICATE-----\nbroken\n")
        m0 = srv.mark()
        srv.signal(signal.SIGHUP)
        srv.wait_log(r"reload: TLS: .*keeping the running certificate", T,
                     m0)
        srv.wait_log(r"reload done", T, m0)
        ct.write_file(cert, good)
        t2 = srv.tls_client(timeout=T)
        t2.close()
        for x in (a, b, t):
            x.read_until("* %s left" % t2.name)

        step("a client that never reads is dropped as too slow")
        f = client(rcvbuf=4096)
        everyone(["* %s joined" % f.name])
        sent = 0
        dropped = "* %s dropped (too slow)" % f.name
        seen = {x: False for x in (a, b, c)}
        while sent < 3000 and not all(seen.values()):
            batch = ["flood %05d %s" % (i, "y" * 40)
                     for i in range(sent, sent + 100)]
            a.send("".join(l + "\n" for l in batch))
            sent += 100
            for x in (a, b, c, t):
                lines = x.read_until("[%s]: %s" % (a.name, batch[-1]))
                if x in seen:
                    seen[x] = seen[x] or dropped in lines
        if not all(seen.values()):
            everyone([dropped], [x for x in seen if not seen[x]])
        srv.wait_log(r"client \d+ \(%s\) left: slow" % f.name, T)
        f.close()

        step("WebSocket: the page, chat, fragments, bad frames, closes")
        wport = srv.listener_port("websocket", T)
        status, _, body = ct.http("127.0.0.1", wport, b"GET / HTTP/1.1\r\n"
                                      b"Host: x\r\n\r\n", timeout=T)
        assert status == 200 and b"chat.js" in body, status
        req, _ = ct.ws_request(origin="https://elsewhere.example")
        assert ct.http("127.0.0.1", wport, req, timeout=T)[0] == 403
        w = ct.WsClient(wport, timeout=T)
        w.join()
        everyone(["* %s joined" % w.name], (a, b))
        w.sendline("from the web")
        everyone(["[%s]: from the web" % w.name], (a, b))
        w.read_until("[%s]: from the web" % w.name)
        a.sendline("to the web")
        w.read_until("[%s]: to the web" % a.name)
        w.send(ct.ws_frame(0x1, "frag", fin=False) + ct.ws_frame(0x9, "p") +
               ct.ws_frame(0x0, "mented"))
        w.read_until("[%s]: fragmented" % w.name)
        w.sendline("y" * 200)
        w.read_until("! line too long (max 64 bytes)")
        for frame in (ct.ws_frame(0x1, "x", mask=False),
                      ct.ws_frame(0x1, b"\xff"), ct.ws_frame(0x2, b"\0"),
                      ct.ws_frame(0x9, "x" * 126)):
            v = ct.WsClient(wport, timeout=T)
            v.join()
            v.send(frame)
            v.expect_closed(T, partial_ok=True)
            assert v.closes and v.closes[0][0] in (1002, 1003, 1007), \
                v.closes
        v = ct.WsClient(wport, timeout=T)
        v.join()
        v.send(ct.ws_frame(0x1, "cut", fin=False))
        v.abort()
        w.send_close(1000)
        assert w.wait_close(T) == 1000
        everyone(["* %s left" % w.name], (a, b))

        step("exit")
        c.sendline("exit")
        c.read_until("* bye")
        c.expect_closed()
        everyone(["* %s left" % c.name], (a, b))

        step("SIGHUP with a plugin that does not compile: kept running")
        broken = os.path.join(srv.dir, "plugins", "60-broken.lua")
        ct.write_file(broken, "chat.command(\n")
        srv.signal(signal.SIGHUP)
        srv.wait_log(r"reload failed: .*60-broken\.lua", T)
        os.unlink(broken)
        # a, b and t active just now: the 2 s timeout set next spares them
        for x in (a, b, t):
            x.sendline("later")
            x.read_until("* later")

        step("SIGHUP setting idle_timeout = 2; an idle client times out")
        cfg = ct.merge_config(srv.config, {"server": {"idle_timeout": 2}})
        ct.write_file(srv.config_path, ct.format_ini(cfg))
        m0 = srv.mark()
        srv.signal(signal.SIGHUP)
        srv.wait_log(r"reload done", T, m0)
        g = client()
        deadline = time.monotonic() + T
        while "idle timeout" not in " ".join(g.drain()):
            if time.monotonic() > deadline:
                raise AssertionError("no idle timeout for %s" % g.name)
            for x in (a, b, t):
                x.sendline("")  # activity: a, b and t stay
            time.sleep(0.3)
        g.expect_closed()
        for x in (a, b, t):
            x.read_until("* %s timed out" % g.name)

        step("SIGTERM with clients connected, one not reading")
        wz = ct.WsClient(wport, timeout=T)
        wz.join()
        h = client(rcvbuf=4096)
        for x in (a, b, t):
            x.read_until("* %s joined" % h.name)
        a.send("".join("queued %d\n" % i for i in range(20)))
        a.read_until("[%s]: queued 19" % a.name)
        srv.signal(signal.SIGTERM)
        for x in (a, b, t):
            x.read_until("* server shutting down")
            x.expect_closed(partial_ok=True)
        h.close()
        assert wz.wait_close(T) == 1001
        status = srv.wait_exit(120)
        step("chatd exited with status %d" % status)
        if status != 0:
            print("chatd log:\n" + srv.log_text()[-4000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
