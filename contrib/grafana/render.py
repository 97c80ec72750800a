#!/usr/bin/python3
"""Render contrib/grafana/chatd-dashboard.json with real data, without
Grafana: start chatd with its metrics port, a private Prometheus scraping
it every second, and a few minutes of mixed load (chatbench fan-out at
several rates, users joining, chatting, quitting, timing out and being
refused, a slow reader dropped, a plugin that fails now and then and one
command that holds the loop, reloads that work and one that fails); then
evaluate every panel's queries with Prometheus's query_range API, exactly
as the dashboard writes them, and draw the panels on the dashboard's own
grid with matplotlib.

    contrib/grafana/render.py [OUT.png]   (default doc/dashboard.png)

Needs the built chatd and chatbench at the top of the tree, prometheus
and python3-matplotlib (Debian).  Everything listens on 127.0.0.1 and is
stopped by its PID at the end.  Run it from a quiet shell: it takes about
four minutes.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
    """A chat client that reads in a thread of its own."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
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


def load(port, pid, config_path, stop_at):
    """The scripted few minutes."""
    rnd = random.Random(17)
    users = []
    bench = []

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
            users.append(Line(port))
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


def render(out, prom, start, end, job, instance):
    with open(DASHBOARD) as f:
        dash = json.load(f)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    fig = plt.figure(figsize=(16, rows * 0.42))
    fig.suptitle("%s — %s, %d minutes of mixed load, scraped every second"
                 % (dash["title"], instance, round((end - start) / 60)),
                 fontsize=13)
    for p in dash["panels"]:
        g = p["gridPos"]
        ax = fig.add_axes([g["x"] / 24 + 0.035, 1 - (g["y"] + g["h"]) / rows
                           + 0.035, g["w"] / 24 - 0.05, g["h"] / rows - 0.08])
        unit = p["fieldConfig"]["defaults"].get("unit", "short")
        scale, label = UNITS.get(unit, (1, unit))
        drawn = 0
        for t in p["targets"]:
            expr = (t["expr"].replace("$__rate_interval", RATE_INTERVAL)
                    .replace("$job", job).replace("$instance", instance))
            for series in query_range(prom, expr, start, end):
                xs = [(float(v[0]) - start) / 60 for v in series["values"]]
                ys = [float(v[1]) * scale for v in series["values"]]
                ax.plot(xs, ys, linewidth=1,
                        label=legend(t.get("legendFormat", ""),
                                     series["metric"]))
                drawn += 1
        ax.set_title(p["title"], fontsize=10, loc="left")
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, (end - start) / 60)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=7, loc="upper left", ncol=3, frameon=False)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center",
                    transform=ax.transAxes, color="grey")
        if g["y"] + g["h"] == rows:
            ax.set_xlabel("minutes", fontsize=8)
    fig.savefig(out, dpi=80)


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
        cfg = os.path.join(work, "chatd.ini")
        with open(cfg, "w") as f:
            f.write("[server]\nbind = 127.0.0.1\nport = %d\nmax_clients = "
                    "380\nidle_timeout = 20\n[limits]\nlines_per_second = "
                    "0\n[lua]\npath = %s\nmax_instructions = 1000000000\n"
                    "[log]\nlevel = warn\n[metrics]\nport = %d\n"
                    % (port, plugins, mport))
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
        load(port, chatd.pid, cfg, time.monotonic() + 200)
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
