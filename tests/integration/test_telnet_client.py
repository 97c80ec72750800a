#!/usr/bin/env python3
"""A real telnet client, driven in a terminal (tmux), talks to chatd: its
text reaches the others clean, in line mode (CR LF) and after it switches
to character mode (IAC DO SGA, IAC DO ECHO, then Return as CR NUL), and an
"Are You There" it sends shows nowhere.

Needs telnet and tmux, and fails naming what is missing.  The tmux server runs on a private socket (tmux -L) and only it is killed."""

import os
import subprocess
import time
import unittest

import chatdtest as ct

TELNET = ct.need("telnet")
TMUX = ct.need("tmux")


class Tmux:
    """A private tmux server running one command in a detached session."""

    def __init__(self, command):
        self.sock = "chatd-test-%d" % os.getpid()
        self.env = dict(os.environ, TERM="xterm")
        self.env.pop("TMUX", None)
        self.run("-f", "/dev/null", "new-session", "-d", "-x", "120",
                 "-y", "40", "-s", "t", command)

    def run(self, *args):
        return subprocess.run([TMUX, "-L", self.sock] + list(args),
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env, timeout=10, text=True,
                              check=True).stdout

    def keys(self, *keys):
        self.run("send-keys", "-t", "t", *keys)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_screen(self, text, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError("%r not on the telnet screen within "
                                     "%.1fs:\n%s" % (text, timeout, screen))
            time.sleep(0.05)

    def kill(self):
        subprocess.run([TMUX, "-L", self.sock, "kill-server"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=self.env, timeout=10)


class TelnetClientTest(unittest.TestCase):

    def test_real_telnet(self):
        with ct.Server() as srv:
            b = srv.client()
            tmux = Tmux("%s %s %d" % (TELNET, srv.host, srv.port))
            self.addCleanup(tmux.kill)
            m = b.expect_match(r"\* (\S+) joined")
            name = m.group(1)
            tmux.wait_screen("* welcome " + name)

            # line mode: the terminal sends the line, telnet CR LF
            tmux.keys("hello from telnet", "Enter")
            b.expect("[%s]: hello from telnet" % name)

            # telnet's escape prompt: "send ayt" sends IAC AYT
            tmux.keys("C-]")
            tmux.wait_screen("telnet>")
            tmux.keys("send ayt", "Enter")
            tmux.keys("after ayt", "Enter")
            b.expect("[%s]: after ayt" % name)

            # character mode: telnet negotiates (IAC DO SGA, IAC DO ECHO)
            # and sends each key as typed, Return as CR NUL
            tmux.keys("C-]")
            tmux.wait_screen("telnet> send ayt")
            tmux.keys("mode character", "Enter")
            time.sleep(0.3)
            tmux.keys("in character mode", "Enter")
            b.expect("[%s]: in character mode" % name)
            tmux.keys("rename|Duke", "Enter")
            b.expect("* %s is now Duke" % name)
            tmux.wait_screen("* you are now Duke")
            tmux.keys("bye now", "Enter")
            b.expect("[Duke]: bye now")

            # nothing else reached b: the next line is its own
            b.sendline("sync")
            b.expect("[%s]: sync" % b.name)
            tmux.wait_screen("[%s]: sync" % b.name)
            tmux.keys("quit", "Enter")
            b.expect("* Duke left")
            self.assertTrue(srv.alive())


if __name__ == "__main__":
    unittest.main()
