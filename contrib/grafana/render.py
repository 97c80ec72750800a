#!/usr/bin/python3
"""Render contrib/grafana/chatd-dashboard.json with real data, without
Grafana: start chatd with its metrics port, a private Prometheus scraping
it every second, and a few minutes of mixed load (chatbench fan-out at
several rates, users joining, chatting, quitting, timing out and being
refused, a slow reader dropped, a plugin that fails now and then and one
command that holds the loop, reloads that work and one that fails, users
over TLS and WebSocket beside them, TLS handshakes that fail or time
out); then evaluate every panel's queries with Prometheus's query_range
API, exactly as the dashboard writes them, and draw the panels on the
dashboard's own grid with cairo.

    contrib/grafana/render.py [OUT.png]   (default doc/dashboard.png)

Needs the built chatd and chatbench at the top of the tree, prometheus,
openssl and python3-cairo (Debian).  Everything listens on 127.0.0.1 and
is stopped by its PID at the end.  Run it from a quiet shell: it takes about
four minutes.
"""

import json
import math
import os
import random
import base64
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import cairo

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CHATD = os.path.join(TOP, "chatd")
CHATBENCH = os.path.join(TOP, "chatbench")
DASHBOARD = os.path.join(HERE, "chatd-dashboard.json")
RATE_INTERVAL = "15s"   # what Grafana's $__rate_interval is for 1 s scrapes
STEP = 2

DEMO_PLUGIN = """
-- For the picture only: a command that fails one time in three, and one
-- that keeps the loop busy for 30 ms.
local n = 0
chat.command("flaky", "", function(user)
    n = n + 1
    if n % 3 == 0 then error("flaky failed") end
    user:send("* fine")
end)
chat.command("busy", "", function(user)
    local t = os.clock() + 0.03
    while os.clock() < t do end
    user:send("* done")
end)
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.1)


class Line:
    """A chat client that reads in a thread of its own; over TLS with an
    ssl.SSLContext as tls."""

    def __init__(self, port, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port))
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock,
                                        server_hostname="localhost")
        self.alive = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.alive = False

    def send(self, text):
        try:
            self.sock.sendall(text.encode() + b"\n")
        except OSError:
            self.alive = False

    def close(self):
        self.sock.close()


class WsLine(Line):
    """A chat client over WebSocket: a line is one masked text frame;
    what comes back is only read, not decoded."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                          + base64.b64encode(os.urandom(16)) + b"\r\n\r\n")
        self.alive = True
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, text):
        data, key = text.encode(), os.urandom(4)
        frame = bytes([0x81, 0x80 | len(data)]) + key + bytes(
            b ^ key[i % 4] for i, b in enumerate(data))
        try:
            self.sock.sendall(frame)
        except OSError:
            self.alive = False

    def close(self):
        self.send_close()
        self.sock.close()

    def send_close(self):
        try:
            self.sock.sendall(bytes([0x88, 0x82]) + b"\0\0\0\0\x03\xe8")
        except OSError:
            pass


def bad_tls(tport, rnd):
    """A TLS handshake that fails: plain text, a client that does not
    trust the certificate, or one that says nothing until the timeout."""
    kind = rnd.choice(["text", "untrusted", "silent"])
    try:
        s = socket.create_connection(("127.0.0.1", tport))
        if kind == "text":
            s.sendall(b"hello?\r\n")
        elif kind == "untrusted":
            s = ssl.create_default_context().wrap_socket(
                s, server_hostname="localhost")
        threading.Timer(5, s.close).start()
    except (OSError, ssl.SSLError):
        pass


def load(port, pid, config_path, stop_at, tport, wport):
    """The scripted few minutes."""
    rnd = random.Random(17)
    users = []
    bench = []
    trusting = ssl.create_default_context()
    trusting.check_hostname = False
    trusting.verify_mode = ssl.CERT_NONE  # the picture's own certificate

    def newcomer():
        kind = rnd.random()
        try:
            if kind < 0.25:
                return Line(tport, tls=trusting)
            if kind < 0.45:
                return WsLine(wport)
            return Line(port)
        except (OSError, ssl.SSLError):  # refused: full, say
            return None

    def chatbench(n, s, rate, secs, slow=0):
        args = [CHATBENCH, "-p", str(port), "-n", str(n), "-s", str(s),
                "-r", str(rate), "-t", str(secs), "-b", "64"]
        if slow:
            args += ["-k", str(slow)]
        bench.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))

    t0 = time.monotonic()
    events = [(5, lambda: chatbench(200, 5, 500, 40)),
              (50, lambda: chatbench(300, 10, 3000, 40)),
              (60, lambda: os.kill(pid, signal.SIGHUP)),
              (95, lambda: chatbench(300, 10, 0, 20)),
              (120, lambda: chatbench(200, 5, 1000, 30, slow=1)),
              (130, lambda: bad_reload(config_path, pid)),
              (160, lambda: os.kill(pid, signal.SIGHUP)),
              (165, lambda: chatbench(150, 5, 8000, 30))]
    while time.monotonic() < stop_at:
        now = time.monotonic() - t0
        while events and events[0][0] <= now:
            events.pop(0)[1]()
        # People come and go; some talk, some run commands.
        if len(users) < 60 and rnd.random() < 0.5:
            u = newcomer()
            if u is not None:
                users.append(u)
        if rnd.random() < 0.05:
            bad_tls(tport, rnd)
        for u in list(users):
            r = rnd.random()
            if not u.alive:
                users.remove(u)
            elif r < 0.01:
                u.send("quit")
                users.remove(u)
            elif r < 0.015:
                u.close()
                users.remove(u)
            elif r < 0.06:
                u.send("hello from the picture")
            elif r < 0.07:
                u.send(rnd.choice(["flaky", "who", "busy", "help"]))
        if 80 < now < 90:
            # Past max_clients: refused.
            try:
                Line(port)
            except OSError:
                pass
        time.sleep(0.25)
    for p in bench:
        p.wait()
    for u in users:
        u.close()


def bad_reload(config_path, pid):
    with open(config_path) as f:
        good = f.read()
    with open(config_path, "a") as f:
        f.write("[server]\nno_such_key = 1\n")
    os.kill(pid, signal.SIGHUP)
    time.sleep(1)
    with open(config_path, "w") as f:
        f.write(good)


def query_range(prom, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end,
                                "step": STEP})
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query_range?%s"
                                % (prom, q), timeout=30) as r:
        data = json.load(r)
    if data["status"] != "success":
        raise SystemExit("query failed: %s: %s" % (expr, data))
    return data["data"]["result"]


def legend(fmt, metric):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}",
                  lambda m: metric.get(m.group(1), ""), fmt) or str(metric)


UNITS = {"bytes": (1 / 1024, "KiB"), "Bps": (1 / 1024, "KiB/s"),
         "s": (1000, "ms"), "percentunit": (100, "% of a core"),
         "cps": (1, "per second"), "ops": (1, "per second"),
         "short": (1, "")}


COLOURS = [(0.12, 0.47, 0.71), (1.0, 0.50, 0.05), (0.17, 0.63, 0.17),
           (0.84, 0.15, 0.16), (0.58, 0.40, 0.74), (0.55, 0.34, 0.29),
           (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13),
           (0.09, 0.75, 0.81)]
PX_PER_ROW = 34         # the dashboard's grid rows, drawn
WIDTH = 1280


def nice_ticks(top, n=4):
    """Round tick values from 0 to at least top."""
    if top <= 0:
        top = 1
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def tick_label(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return "%gM" % (v / 1e6)
    if abs(v) >= 1e4:
        return "%gk" % (v / 1e3)
    return "%g" % round(v, 6)


def text(cr, x, y, s, size, align="left", colour=(0, 0, 0)):
    cr.set_font_size(size)
    cr.set_source_rgb(*colour)
    w = cr.text_extents(s).x_advance
    cr.move_to(x - (w if align == "right" else w / 2 if align == "centre"
                    else 0), y)
    cr.show_text(s)
    return w


def draw_panel(cr, box, title, ylabel, series, span, last_row):
    """One panel: series is [(label, [(minute, value)])]."""
    x0, y0, w, h = box
    text(cr, x0, y0 + 13, title, 12)
    left, right = x0 + 52, x0 + w - 8
    top, bottom = y0 + 22, y0 + h - (34 if last_row else 22)
    ymax = max([v for _, pts in series for _, v in pts] or [0])
    ticks = nice_ticks(ymax)
    ytop = ticks[-1]
    cr.set_line_width(1)
    for t in ticks:
        y = bottom - (bottom - top) * t / ytop
        cr.set_source_rgba(0, 0, 0, 0.12)
        cr.move_to(left, y)
        cr.line_to(right, y)
        cr.stroke()
        text(cr, left - 4, y + 3, tick_label(t), 9, "right")
    for m in range(0, int(span) + 1):
        x = left + (right - left) * m / span
        cr.set_source_rgba(0, 0, 0, 0.12)
        cr.move_to(x, top)
        cr.line_to(x, bottom)
        cr.stroke()
        text(cr, x, bottom + 11, str(m), 9, "centre")
    if last_row:
        text(cr, (left + right) / 2, bottom + 24, "minutes", 9, "centre")
    cr.save()
    cr.translate(x0 + 10, (top + bottom) / 2)
    cr.rotate(-math.pi / 2)
    text(cr, 0, 0, ylabel, 9, "centre")
    cr.restore()
    cr.set_source_rgb(0, 0, 0)
    cr.rectangle(left, top, right - left, bottom - top)
    cr.stroke()
    if not series:
        text(cr, (left + right) / 2, (top + bottom) / 2, "no data", 11,
             "centre", (0.5, 0.5, 0.5))
        return
    cr.save()
    cr.rectangle(left, top, right - left, bottom - top)
    cr.clip()
    for i, (_, pts) in enumerate(series):
        cr.set_source_rgb(*COLOURS[i % len(COLOURS)])
        for j, (m, v) in enumerate(pts):
            x = left + (right - left) * m / span
            y = bottom - (bottom - top) * v / ytop
            (cr.line_to if j else cr.move_to)(x, y)
        cr.stroke()
    cr.restore()
    lx, ly = left + 6, top + 12
    for i, (label, _) in enumerate(series):
        cr.set_source_rgb(*COLOURS[i % len(COLOURS)])
        cr.rectangle(lx, ly - 6, 12, 3)
        cr.fill()
        adv = text(cr, lx + 16, ly, label, 9)
        lx += adv + 30
        if lx > right - 120:
            lx, ly = left + 6, ly + 12


def render(out, prom, start, end, job, instance):
    """Every panel's queries, as Grafana would run them, drawn on the
    dashboard's own grid (pycairo: Debian's python3-cairo)."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    head = 30
    surface = cairo.ImageSurface(cairo.FORMAT_RGB24, WIDTH,
                                 head + rows * PX_PER_ROW)
    cr = cairo.Context(surface)
    cr.set_source_rgb(1, 1, 1)
    cr.paint()
    cr.select_font_face("sans-serif")
    span = (end - start) / 60
    text(cr, WIDTH / 2, 20, "%s — %s, %d minutes of mixed load, scraped "
         "every second" % (dash["title"], instance, round(span)), 14,
         "centre")
    for p in dash["panels"]:
        g = p["gridPos"]
        unit = p["fieldConfig"]["defaults"].get("unit", "short")
        scale, label = UNITS.get(unit, (1, unit))
        series = []
        for t in p["targets"]:
            expr = (t["expr"].replace("$__rate_interval", RATE_INTERVAL)
                    .replace("$job", job).replace("$instance", instance))
            for r in query_range(prom, expr, start, end):
                pts = [((float(v[0]) - start) / 60, float(v[1]) * scale)
                       for v in r["values"] if v[1] not in ("NaN", "+Inf")]
                series.append((legend(t.get("legendFormat", ""),
                                      r["metric"]), pts))
        box = (g["x"] / 24 * WIDTH + 4, head + g["y"] * PX_PER_ROW + 4,
               g["w"] / 24 * WIDTH - 8, g["h"] * PX_PER_ROW - 8)
        draw_panel(cr, box, p["title"], label, series, span,
                   g["y"] + g["h"] == rows)
    surface.write_to_png(out)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        TOP, "doc", "dashboard.png")
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        raise SystemExit("needs prometheus (apt-get install prometheus)")
    work = tempfile.mkdtemp(prefix="chatd-dashboard-")
    procs = []
    try:
        plugins = os.path.join(work, "plugins")
        os.makedirs(plugins)
        for name in os.listdir(os.path.join(TOP, "plugins")):
            shutil.copy(os.path.join(TOP, "plugins", name), plugins)
        with open(os.path.join(plugins, "50-demo.lua"), "w") as f:
            f.write(DEMO_PLUGIN)
        port, mport, prom = free_port(), free_port(), free_port()
        tport, wport = free_port(), free_port()
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work,
                                                                 "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=localhost", "-keyout",
                        key, "-out", cert], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cfg = os.path.join(work, "chatd.ini")
        with open(cfg, "w") as f:
            f.write("[server]\nbind = 127.0.0.1\nport = %d\nmax_clients = "
                    "380\nidle_timeout = 20\n[limits]\nlines_per_second = "
                    "0\nmax_per_ip = 0\nconnects_per_second = 0\n[lua]\npath = %s\nmax_instructions = 1000000000\n"
                    "[log]\nlevel = warn\n[metrics]\nport = %d\n"
                    "[tls]\nbind = 127.0.0.1\nport = %d\ncert = %s\n"
                    "key = %s\nhandshake_timeout = 2\n"
                    "[websocket]\nbind = 127.0.0.1\nport = %d\n"
                    % (port, plugins, mport, tport, cert, key, wport))
        log = open(os.path.join(work, "chatd.log"), "wb")
        chatd = subprocess.Popen([CHATD, "-c", cfg], stderr=log)
        procs.append(chatd)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: chatd\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % mport)
        procs.append(subprocess.Popen(
            [prometheus, "--config.file=" + os.path.join(work,
                                                         "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % prom],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def up():
            try:
                return bool(query_range(prom, "up", time.time() - 5,
                                        time.time()))
            except OSError:
                return False
        wait_for(up, "prometheus")
        start = time.time()
        load(port, chatd.pid, cfg, time.monotonic() + 200, tport, wport)
        time.sleep(15)
        end = time.time()
        render(out, prom, start, end, "chatd", "127.0.0.1:%d" % mport)
        print("wrote", out)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, True)


if __name__ == "__main__":
    main()
