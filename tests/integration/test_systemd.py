#!/usr/bin/env python3
"""systemd without systemd: the notifications read from a NOTIFY_SOCKET
of the test's own (READY=1 once listening, STATUS= with users and
lines/s, RELOADING=1 and READY=1 around SIGHUP, MAINPID= and the new
pid's READY=1 at an upgrade, STOPPING=1), the watchdog
pings and how a loop held by a runaway call stops them, and socket
activation through systemd-socket-activate (sockets matched by name to
the chat and metrics listeners; a lone unnamed one is the chat one; a
name no listener takes is an error; an upgrade hands them on)."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

import chatdtest as ct


class Notify:
    """An AF_UNIX datagram socket standing in for systemd's."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "chatd-test-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(ct.mkdtemp(), "notify")
            self.sock.bind(self.env)
        # The sender's pid comes with each datagram, as systemd sees it.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.got = []  # (monotonic time, {key: value})
        self.pid = None  # the sender of the last datagram read

    def read(self, timeout=5.0):
        """The next datagram as {key: value}, or AssertionError."""
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(
                4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            raise AssertionError("no notification within %ss; got %r"
                                 % (timeout, self.got[-5:]))
        for level, kind, cred in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                self.pid = int.from_bytes(cred[:4], sys.byteorder)
        msg = dict(l.split("=", 1) for l in data.decode().split("\n"))
        self.got.append((time.monotonic(), msg))
        return msg

    def until(self, key, timeout=5.0):
        """Read until a datagram with key; returns it (others are kept in
        .got)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read(max(deadline - time.monotonic(), 0.01))
            if key in msg:
                return msg

    def close(self):
        self.sock.close()


class EnvServer(ct.Server):
    """A Server started with extra environment variables."""

    def __init__(self, env, *a, **kw):
        super().__init__(*a, **kw)
        self.env = env

    def start(self):
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return super().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    del os.environ[k]
                else:
                    os.environ[k] = v


SPIN = """
chat.command("_spin", "", function(user, secs)
    local t = os.clock() + tonumber(secs)
    while os.clock() < t do end
    user:send("_spun")
end)
"""


class NotifyTest(unittest.TestCase):

    def check_lifecycle(self, abstract):
        n = Notify(abstract)
        try:
            srv = EnvServer({"NOTIFY_SOCKET": n.env})
            with srv:
                msg = n.until("READY")
                self.assertEqual(msg["READY"], "1")
                self.assertEqual(msg["STATUS"], "0 users, 0.0 lines/s")
                self.assertIn("listening on", srv.log_text(),
                              "READY only once listening")
                a, b = srv.room(2)
                for i in range(10):
                    a.sendline("line %d" % i)
                    b.expect("[%s]: line %d" % (a.name, i))
                srv.signal(signal.SIGHUP)
                msg = n.until("RELOADING")
                self.assertEqual(msg["RELOADING"], "1")
                self.assertRegex(msg["MONOTONIC_USEC"], r"^\d+$")
                msg = n.until("READY")
                self.assertRegex(msg["STATUS"], r"^2 users, [\d.]+ lines/s$")
                srv.wait_log("reload done")
                # A failed reload is also followed by READY=1.
                with open(srv.config_path, "a") as f:
                    f.write("[server]\nnonsense = 1\n")
                srv.signal(signal.SIGHUP)
                n.until("RELOADING")
                self.assertEqual(n.until("READY")["READY"], "1")
                srv.wait_log("reload failed")
                # The periodic STATUS= (every 5 s) counts lines read.
                for i in range(20):
                    a.sendline("more %d" % i)
                b.read_until("[%s]: more 19" % a.name)
                msg = n.until("STATUS", timeout=8)
                m = re.fullmatch(r"2 users, ([\d.]+) lines/s", msg["STATUS"])
                self.assertIsNotNone(m, msg)
                self.assertGreater(float(m.group(1)), 0)
                self.assertNotIn("READY", msg)
                a.close()
                b.close()
                srv.signal(signal.SIGTERM)
                msg = n.until("STOPPING")
                self.assertEqual(msg["STOPPING"], "1")
                self.assertEqual(srv.wait_exit(8), 0)
        finally:
            n.close()

    def test_lifecycle(self):
        self.check_lifecycle(abstract=False)

    def test_lifecycle_abstract_socket(self):
        self.check_lifecycle(abstract=True)

    def test_watchdog_pings(self):
        n = Notify()
        try:
            srv = EnvServer({"NOTIFY_SOCKET": n.env,
                             "WATCHDOG_USEC": "200000"})
            with srv:
                n.until("READY")
                self.assertIn("systemd watchdog: a ping every 0.1 s",
                              srv.log_text())
                for _ in range(5):
                    self.assertEqual(n.until("WATCHDOG")["WATCHDOG"], "1")
        finally:
            n.close()

    def test_upgrade_hands_over_mainpid(self):
        """SIGUSR2: the old main process names the new one (MAINPID=)
        before it exits; READY=1 and the watchdog pings then come from
        the new pid, which got NOTIFY_SOCKET and the watchdog for
        itself."""
        n = Notify()
        try:
            binary = os.path.join(ct.mkdtemp(), "chatd")
            ct.shutil.copy(ct.CHATD, binary)
            srv = EnvServer({"NOTIFY_SOCKET": n.env,
                             "WATCHDOG_USEC": "400000"}, binary=binary)
            with srv:
                n.until("READY")
                old = srv.pid
                self.assertEqual(n.pid, old)
                a = srv.client()
                ok, line = srv.upgrade()
                self.assertTrue(ok, line)
                msg = n.until("MAINPID")
                self.assertEqual((n.pid, int(msg["MAINPID"])),
                                 (old, srv.pid), "sent by the old process")
                msg = n.until("READY")
                self.assertEqual(n.pid, srv.pid)
                self.assertRegex(msg["STATUS"], r"^1 users, ")
                self.assertEqual(n.until("WATCHDOG")["WATCHDOG"], "1")
                self.assertEqual(n.pid, srv.pid)
                a.expect_match(r"\* server upgraded to chatd \S+")
                a.close()
                srv.signal(signal.SIGTERM)
                n.until("STOPPING")
                self.assertEqual(n.pid, srv.pid)
                self.assertEqual(srv.wait_exit(8), 0)
        finally:
            n.close()

    def test_watchdog_gap_while_wedged(self):
        n = Notify()
        try:
            srv = EnvServer({"NOTIFY_SOCKET": n.env,
                             "WATCHDOG_USEC": "200000"},
                            {"lua": {"max_instructions": 1000000000000,
                                     "max_time": 60000}},
                            plugins={"50-spin.lua": SPIN})
            with srv:
                n.until("READY")
                for _ in range(3):
                    n.until("WATCHDOG")
                c = srv.client()
                # Take what is queued, up to a ping just received; from
                # there on, chatd's loop is held for 1.5 s.
                n.until("WATCHDOG")
                while True:
                    try:
                        n.read(0.01)
                    except AssertionError:
                        break
                times = [time.monotonic()]
                c.sendline("_spin|1.5")
                t0 = time.monotonic()
                while time.monotonic() - t0 < 3.0:
                    try:
                        msg = n.read(0.5)
                    except AssertionError:
                        continue
                    if "WATCHDOG" in msg:
                        times.append(time.monotonic())
                c.expect("_spun", timeout=30)
                # On a loaded machine 1.5 s of CPU time (os.clock) can
                # outlast the window: wait for the first ping after it.
                deadline = time.monotonic() + 5.0
                while len(times) < 2 and time.monotonic() < deadline:
                    try:
                        msg = n.read(0.5)
                    except AssertionError:
                        continue
                    if "WATCHDOG" in msg:
                        times.append(time.monotonic())
                gaps = [b - a for a, b in zip(times, times[1:])]
                self.assertTrue(gaps, "pings resumed after the spin")
                self.assertGreaterEqual(max(gaps), 1.0,
                                        "a ping came while the loop was "
                                        "held: %r" % gaps)
                c.close()
        finally:
            n.close()

    def test_watchdog_for_another_pid(self):
        n = Notify()
        try:
            srv = EnvServer({"NOTIFY_SOCKET": n.env,
                             "WATCHDOG_USEC": "100000",
                             "WATCHDOG_PID": "1"})
            with srv:
                n.until("READY")
                t0 = time.monotonic()
                while time.monotonic() - t0 < 0.6:
                    try:
                        msg = n.read(0.2)
                    except AssertionError:
                        continue
                    self.assertNotIn("WATCHDOG", msg)
                self.assertNotIn("watchdog", srv.log_text())
        finally:
            n.close()


class SocketActivationTest(unittest.TestCase):

    def activate(self, sockets, config):
        """systemd-socket-activate with [(port, name or None)]; chatd
        starts on the first connection.  Returns (proc, log path)."""
        tool = ct.need("systemd-socket-activate", "systemd")
        d = ct.mkdtemp()
        cfg = ct.write_file(os.path.join(d, "chatd.ini"), ct.format_ini(
            ct.merge_config({"lua": {"path": ct.PLUGINS},
                             "server": {"show_addresses": True},
                             "limits": {"lines_per_second": 0}}, config)))
        args = [tool]
        for port, name in sockets:
            args += ["-l", "127.0.0.1:%d" % port]
            if name is not None:
                args.append("--fdname=" + name)
        args += [ct.CHATD, "-c", cfg]
        log = os.path.join(d, "chatd.log")
        with open(log, "wb") as f:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=f,
                                    preexec_fn=ct._pdeathsig)
        self.addCleanup(self.end, proc)
        # It listens before it starts chatd: wait for its sockets.
        deadline = time.monotonic() + 10
        while True:
            with open(log) as f:
                if f.read().count("Listening on") == len(sockets):
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("systemd-socket-activate did not "
                                     "listen:\n" + open(log).read())
            time.sleep(0.05)
        return proc, log

    def end(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def wait_log(self, log, rx, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            with open(log) as f:
                text = f.read()
            m = re.search(rx, text)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("log lacks %r:\n%s" % (rx, text))
            time.sleep(0.05)

    def test_named_sockets(self):
        chat, metrics = ct.free_port(), ct.free_port()
        # [server] port 1 would fail to bind: the socket must be systemd's.
        proc, log = self.activate([(chat, "chat"), (metrics, "metrics")],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}})
        c = ct.Client(chat)
        c.join(timeout=10)
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(descriptor 3 "
                      r"\(chat\) from systemd\)" % chat)
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(metrics, "
                      r"descriptor 4 \(metrics\) from systemd\)" % metrics)
        self.wait_log(log, r"serving metrics at http://127\.0\.0\.1:%d/"
                      r"metrics\n" % metrics)
        with socket.create_connection(("127.0.0.1", metrics)) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:100])
        self.assertIn(b"\nchatd_users 1\n", data)
        c.close()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)

    def test_upgrade_keeps_systemd_sockets(self):
        """The sockets systemd passed go to the new process of an upgrade
        (which could bind nothing itself: [server] port 1), the metrics
        one included."""
        chat, metrics = ct.free_port(), ct.free_port()
        ct.subreaper()  # the new process is waited for here
        proc, log = self.activate([(chat, "chat"), (metrics, "metrics")],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}})
        c = ct.Client(chat)
        c.join(timeout=10)
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(metrics" %
                      metrics)
        proc.send_signal(signal.SIGUSR2)
        new = int(self.wait_log(log, r"handed to pid (\d+)").group(1))
        self.assertEqual(proc.wait(10), 0)
        try:
            self.wait_log(log, r"chatd\[%d\] info: listening on "
                          r"127\.0\.0\.1:%d \(handed over\)" % (new, chat))
            c.expect_match(r"\* server upgraded to chatd \S+")
            d = ct.Client(chat)
            d.join()
            c.expect("* %s joined" % d.name)
            with socket.create_connection(("127.0.0.1", metrics)) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.assertIn(b"\nchatd_users 2\n", data)
            c.close()
            d.close()
        finally:
            os.kill(new, signal.SIGTERM)
            _, status = os.waitpid(new, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)

    def test_tls_socket(self):
        """A socket named tls is served with the [tls] certificate; without
        one it is a startup error, not a listener that fails every
        client."""
        ca = ct.TestCA()
        chat, tls = ct.free_port(), ct.free_port()
        sec = ca.tls_section()
        del sec["port"]
        proc, log = self.activate([(chat, "chat"), (tls, "tls")],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}, "tls": sec})
        c = ct.Client(tls, tls=ca.client_context())
        c.join(timeout=10)
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(tls, "
                      r"descriptor 4 \(tls\) from systemd\)" % tls)
        c.close()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)
        chat, tls = ct.free_port(), ct.free_port()
        proc, log = self.activate([(chat, "chat"), (tls, "tls")],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}})
        socket.create_connection(("127.0.0.1", chat)).close()
        self.assertEqual(proc.wait(10), 1)
        self.wait_log(log, r"error: descriptor 4 \(tls\) from systemd: "
                      r"\[tls\] has no cert and key to serve it with")

    def test_websocket_socket(self):
        """A socket named websocket is the [websocket] door: a browser's
        upgrade there joins the room of the chat socket's users."""
        chat, web = ct.free_port(), ct.free_port()
        proc, log = self.activate([(chat, "chat"), (web, "websocket")],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}})
        c = ct.Client(chat)
        c.join(timeout=10)
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(websocket, "
                      r"descriptor 4 \(websocket\) from systemd\)" % web)
        w = ct.WsClient(web)
        w.join()
        c.read_until("* %s joined" % w.name)
        w.close()
        c.close()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)

    def test_lone_unnamed_socket_is_chat(self):
        port = ct.free_port()
        proc, log = self.activate([(port, None)],
                                  {"server": {"bind": "127.0.0.1",
                                              "port": 1}})
        c = ct.Client(port)
        c.join(timeout=10)
        c.ask("who", "* online (1):", "*   %s %s" % (c.name, c.name))
        self.wait_log(log, r"listening on 127\.0\.0\.1:%d \(descriptor 3 "
                      r"from systemd\)" % port)
        with open(log) as f:
            self.assertNotIn("serving metrics", f.read())
        c.close()

    def test_unknown_name_is_an_error(self):
        chat, other = ct.free_port(), ct.free_port()
        proc, log = self.activate([(chat, "chat"), (other, "gopher")],
                                  {})
        try:
            socket.create_connection(("127.0.0.1", chat), timeout=5).close()
        except OSError:
            pass
        self.assertEqual(proc.wait(10), 1)
        self.wait_log(log, r"systemd passed socket 4 named 'gopher', "
                      r"which no listener takes \(FileDescriptorName= must "
                      r"be one of chat, tls, metrics, websocket\)")


if __name__ == "__main__":
    ct.main()
