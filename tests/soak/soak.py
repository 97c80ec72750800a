#!/usr/bin/env python3
"""chatd's soak test: a private chatd (started on port 0 by the integration
harness) under soakgen's chaos for SOAK_SECONDS, with well-behaved clients
checking that every line they were owed arrived, once and in order.  See
tests/soak/README for what it does and how "owed" is defined.

Environment (all optional):
  SOAK_SECONDS   how long the load runs (300)
  SOAK_CLIENTS   chaos clients connected at any time (2000)
  SOAK_WELL      well-behaved clients connected at any time (16)
  SOAK_STORM     connections in each connect/disconnect storm (300)
  SOAK_STORM_EVERY  seconds between storms (20)
  SOAK_INTERVAL  mean seconds between one chaos client's actions (10)
  SOAK_SEED      the random seed (1)
  SOAK_GEN       the soakgen binary (tests/soak/soakgen of the build)
  CHATD, CHATD_PLUGINS  as for the integration tests

Exit status 0 when owed == received with nothing missing, extra or out of
order, no well-behaved client failed, chatd's memory levelled off, it
logged no error and it exited 0 on SIGTERM.
"""

import collections
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time

SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "2000"))
WELL = int(os.environ.get("SOAK_WELL", "16"))
STORM = int(os.environ.get("SOAK_STORM", "300"))
STORM_EVERY = float(os.environ.get("SOAK_STORM_EVERY", "20"))
INTERVAL = float(os.environ.get("SOAK_INTERVAL", "10"))
SEED = os.environ.get("SOAK_SEED", "1")
MAX_LINE = 1024

# The harness's watchdog must outlast the run.
os.environ.setdefault("CHATD_TEST_TIMEOUT", str(int(SECONDS) + 600))

HERE = os.path.dirname(os.path.abspath(__file__))
import chatdtest as ct  # noqa: E402  (after CHATD_TEST_TIMEOUT is set)

GEN = os.environ.get("SOAK_GEN") or os.path.join(HERE, "soakgen")

LEFT_RE = re.compile(r" info: client \d+ \(.*\) left: (\w+)")
REFUSED_RE = re.compile(r" info: refused [^:]*:\d+: (.*)$", re.M)
LEVEL_RE = re.compile(r"^\S+ chatd\[\d+\] (error|warn): (.*)$")


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        sys.exit("soak: RLIMIT_NOFILE is %d, %d needed for %d clients; "
                 "raise the hard limit (ulimit -Hn)" % (soft, need, CLIENTS))
    return soft


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """VmRSS of the server every `every` seconds."""

    def __init__(self, pid, every=1.0):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples = []  # (seconds since start, kB)
        self.stop = threading.Event()

    def run(self):
        t0 = time.monotonic()
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic() - t0,
                                     ct.rss_kb(self.pid)))
            except (OSError, AssertionError):
                return
            self.stop.wait(self.every)


def rss_verdict(samples):
    """RSS must level off: the median of the last quarter of the run is at
    most 25% (and 8 MB) above the median of the second quarter, once the
    client population has built up.  Returns (ok, text)."""
    if len(samples) < 8:
        return False, "too few RSS samples (%d)" % len(samples)
    kb = [s[1] for s in samples]
    q = len(kb) // 4
    second = statistics.median(kb[q:2 * q])
    last = statistics.median(kb[3 * q:])
    ok = last <= second * 1.25 + 8192
    return ok, ("RSS kB: first %d, middle %d, last %d, peak %d; median of "
                "the 2nd quarter %d, of the last quarter %d (%+.1f%%): %s"
                % (kb[0], kb[len(kb) // 2], kb[-1], max(kb), second, last,
                   100.0 * (last - second) / second,
                   "levels off" if ok else "STILL GROWING"))


def main():
    if not os.access(GEN, os.X_OK):
        sys.exit("soak: no soakgen at %s (make soak builds it)" % GEN)
    nofile = raise_nofile(CLIENTS + WELL + STORM + 256)
    config = {
        "server": {"idle_timeout": 20, "max_clients": 10000},
        # Well-behaved clients send about 4 lines a second, far below the
        # rate; the chaos floods go over the burst and get throttled.  The
        # limits against hostile clients (bytes_per_second, max_per_ip,
        # the connect rate) are the defaults: the hostile mix meets them.
        # (None: the harness's "off" removed, chatd's default applies.)
        "limits": {"lines_per_second": 200, "burst": 400,
                   "bytes_per_second": None, "max_per_ip": None,
                   "connects_per_second": None},
        "buffers": {"max_line": MAX_LINE},
        # What a well-behaved client is owed is judged from the join
        # notices it gets, one per user: a big room's gathered ones ("* 37
        # joined: ada, bob and 35 more") do not name everyone.  The W
        # online when one joins come from "who|127.0.0.2:", in one page
        # (of who_page, 50: there are SOAK_WELL of them at a time).
        "room": {"gather_above": 1000000},
        "log": {"level": "info"},
    }
    print("soak: %d s, %d chaos clients, %d well-behaved, storms of %d "
          "every %g s, seed %s, RLIMIT_NOFILE %d"
          % (SECONDS, CLIENTS, WELL, STORM, STORM_EVERY, SEED, nofile),
          flush=True)
    failures = []
    with ct.Server(config=config, start_timeout=30) as srv:
        sampler = Sampler(srv.pid)
        sampler.start()
        cmd = [GEN, "-p", str(srv.port), "-d", str(SECONDS),
               "-n", str(CLIENTS), "-w", str(WELL), "-S", str(STORM),
               "-E", str(STORM_EVERY), "-i", str(INTERVAL), "-s", SEED,
               "-l", str(MAX_LINE), "-v"]
        gen = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                             timeout=SECONDS + 300)
        sampler.stop.set()
        sampler.join()
        print(gen.stdout, end="")
        if gen.returncode != 0:
            failures.append("soakgen exited %d" % gen.returncode)
        if not srv.alive():
            failures.append("chatd died (status %s)" % srv.proc.returncode)
        else:
            chatd_cpu = cpu_seconds(srv.pid)
            srv.signal(signal.SIGTERM)
            status = srv.wait_exit(30)
            if status != 0:
                failures.append("chatd exited %d on SIGTERM" % status)
            print("soak: chatd CPU %.1f s; exited %d on SIGTERM"
                  % (chatd_cpu, status))
        log = srv.log_text()

    ok, text = rss_verdict(sampler.samples)
    print("soak: " + text)
    if not ok:
        failures.append("RSS still growing")

    left = collections.Counter(LEFT_RE.findall(log))
    refused = collections.Counter(REFUSED_RE.findall(log))
    print("soak: clients that left, by reason (chatd's log): "
          + ", ".join("%s %d" % kv for kv in sorted(left.items())))
    if refused:
        print("soak: connections refused: "
              + ", ".join("%s %d" % kv for kv in sorted(refused.items())))
    levels = collections.Counter()
    examples = {}
    for line in log.splitlines():
        m = LEVEL_RE.match(line)
        if m:
            key = (m.group(1), re.sub(r"\d+", "N", m.group(2))[:100])
            levels[key] += 1
            examples.setdefault(key, line)
    if not levels:
        print("soak: chatd logged no errors or warnings")
    for (level, msg), n in sorted(levels.items()):
        print("soak: logged %d x %s: %s" % (n, level, examples[(level,
                                                                msg)]))
        if level == "error":
            failures.append("chatd logged an error")
    if failures:
        print("soak: FAILED: " + "; ".join(failures))
        return 1
    print("soak: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
