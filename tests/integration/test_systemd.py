#!/usr/bin/env python3
"""systemd without systemd: the notifications read from a NOTIFY_SOCKET
of the test's own (READY=1 once listening, STATUS= with users and
lines/s, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1), the watchdog
pings and how a loop held by a runaway call stops them, and socket
activation through systemd-socket-activate (sockets matched by name to
the chat and metrics listeners; a lone unnamed one is the chat one; a
name no listener takes is an error)."""

import os
import re
import signal
import socket
import subprocess
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
        self.got = []  # (monotonic time, {key: value})

    def read(self, timeout=5.0):
        """The next datagram as {key: value}, or AssertionError."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise AssertionError("no notification within %ss; got %r"
                                 % (timeout, self.got[-5:]))
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

    def test_watchdog_gap_while_wedged(self):
        n = Notify()
        try:
            srv = EnvServer({"NOTIFY_SOCKET": n.env,
                             "WATCHDOG_USEC": "200000"},
                            {"lua": {"max_instructions": 1000000000000}},
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
                # Pings as they come, while the spin lasts (1.5 s of CPU:
                # longer on a busy machine) and for a second after it.
                spun, deadline = None, time.monotonic() + 30
                while spun is None or time.monotonic() - spun < 1.0:
                    self.assertLess(time.monotonic(), deadline, "no _spun")
                    try:
                        msg = n.read(0.1)
                        if "WATCHDOG" in msg:
                            times.append(time.monotonic())
                    except AssertionError:
                        pass
                    if spun is None:
                        try:
                            self.assertEqual(c.line(timeout=0.01), "_spun")
                            spun = time.monotonic()
                        except AssertionError as e:
                            if "no line within" not in str(e):
                                raise
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
                      r"be one of chat, metrics, websocket\)")


if __name__ == "__main__":
    ct.main()
