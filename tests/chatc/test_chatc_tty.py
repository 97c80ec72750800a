#!/usr/bin/env python3
"""chatc in a terminal, driven like a person would: a private tmux server
runs chatc against the real chatd, send-keys types, capture-pane reads the
screen.  Fails, naming the package, where tmux is not installed."""

import os
import re
import sys
import unittest

import chatdtest as ct

PROMPT = ">>> "
PING = '''chat.command("ping", "ping: answers pong", function(user)
	user:send("* pong")
end)
'''


class ChatcTerminal(unittest.TestCase):

    def setUp(self):
        self.srv = ct.Server(plugins={"50-ping.lua": PING}).start()
        self.addCleanup(self.srv.kill)

    def chatc(self, *args, env=None, server=None):
        """chatc on the test's server (or `server`); waits for the prompt
        and returns the ct.Tmux with .name set to chatc's default name."""
        srv = server or self.srv
        t = ct.Tmux()
        self.addCleanup(t.kill)
        t.start(list(args) + ["-p", str(srv.port), "127.0.0.1"], env=env)
        lines = t.wait(re.compile(r"^\* welcome "))
        t.name = [l for l in lines if l.startswith("* welcome ")][0][10:]
        t.wait_last(PROMPT.rstrip())
        return t

    def rename(self, t, name):
        t.type("rename|" + name)
        t.keys("Enter")
        t.wait("* you are now " + name)
        t.wait_last(PROMPT.rstrip())

    def test_message_above_half_typed_line(self):
        t = self.chatc()
        self.rename(t, "ada")
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        bob.sendline("rename|bob")
        bob.expect("* you are now bob")
        t.wait("* %s is now bob" % bob.name)

        t.type("hello wor")
        t.wait_last(PROMPT + "hello wor")
        bob.sendline("are you there?")
        bob.expect("[bob]: are you there?")
        lines = t.wait("[bob]: are you there?")
        # The message went above; the half-typed line is intact below it.
        self.assertEqual(lines[-1], PROMPT + "hello wor")
        self.assertEqual(lines[-2], "[bob]: are you there?")
        self.assertEqual(sum(l.startswith(PROMPT + "hello") for l in lines),
                         1, lines)

        t.type("ld")
        t.keys("Enter")
        bob.expect("[ada]: hello world")
        t.wait("[ada]: hello world")
        t.wait_last(PROMPT.rstrip())
        # The typed line stays as typed, then comes the server's echo.
        lines = t.screen()
        i = lines.index(PROMPT + "hello world")
        self.assertEqual(lines[i + 1], "[ada]: hello world", lines)

    def test_completion_from_help_and_who(self):
        t = self.chatc()
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        bob.sendline("rename|bobby")
        bob.expect("* you are now bobby")
        t.wait("* %s is now bobby" % bob.name)
        # chatc asked the server for its commands without showing it, and
        # without anyone seeing a chat line.
        self.assertFalse(any("commands" in l for l in t.screen()))
        bob.no_line(0.3)

        # "ping" exists only in the server's help.
        t.type("pi")
        t.keys("Tab")
        t.wait_last(PROMPT + "ping")
        t.keys("Enter")
        t.wait("* pong")

        # A command with an argument completes with its "|".
        t.type("ren")
        t.keys("Tab")
        t.wait_last(PROMPT + "rename|")
        t.keys("C-u")

        # A name, anywhere in a line, gets a space after it.
        t.type("hi bo")
        t.keys("Tab")
        t.wait_last(PROMPT + "hi bobby")
        t.type("!")
        t.keys("Enter")
        bob.expect("[%s]: hi bobby !" % t.name)

        # After "|", a name completes with nothing after it.
        bob2 = self.srv.client()
        t.wait("* %s joined" % bob2.name)
        bob2.sendline("rename|carol")
        t.wait("* %s is now carol" % bob2.name)
        t.type("x|ca")
        t.keys("Tab")
        t.wait_last(PROMPT + "x|carol")
        t.keys("C-u")

        # Names that left are no longer offered.
        bob2.sendline("exit")
        t.wait("* carol left")
        t.type("x|ca")
        t.keys("Tab")
        t.wait_last(PROMPT + "x|ca")

    def test_history_and_empty_lines(self):
        t = self.chatc()
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        t.type("first")
        t.keys("Enter")
        bob.expect("[%s]: first" % t.name)
        t.keys("Enter")
        t.type("   ")
        t.keys("Enter")
        bob.no_line(0.3)        # empty and blank lines are not sent
        t.keys("Up")
        t.wait_last(PROMPT + "first")
        t.keys("Enter")
        bob.expect("[%s]: first" % t.name)

    def test_exit_command(self):
        t = self.chatc()
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        t.type("exit")
        t.keys("Enter")
        t.wait("* bye")
        self.assertEqual(t.exit_status(), 0)
        bob.expect("* %s left" % t.name)

    def test_ctrl_d(self):
        t = self.chatc()
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        t.keys("C-d")
        self.assertEqual(t.exit_status(), 0)
        bob.expect("* %s left" % t.name)

    def test_ctrl_c(self):
        t = self.chatc()
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        t.type("half")
        t.keys("C-c")
        self.assertEqual(t.exit_status(), 0)
        bob.expect("* %s left" % t.name)

    def test_ctrl_z(self):
        ct.need("bash")
        t = ct.Tmux().start_shell()
        self.addCleanup(t.kill)
        t.wait_last("$")
        t.type("%s -p %d 127.0.0.1" % (ct.CHATC, self.srv.port))
        t.keys("Enter")
        t.wait_last(PROMPT.rstrip())
        t.type("half typed")
        # Ctrl-Z flushes the terminal's unread input: wait until chatc
        # has read the text.
        t.wait_last(PROMPT + "half typed")
        t.keys("C-z")
        t.wait(re.compile(r"Stopped"))
        t.wait_last("$")
        # The shell has its terminal back: what is typed is echoed.
        t.type("echo back")
        t.keys("Enter")
        t.wait("back")
        t.type("fg")
        t.keys("Enter")
        t.wait_last(PROMPT + "half typed")
        t.type(" again")
        t.keys("Enter")
        t.wait(re.compile(r"^\[[^]]+\]: half typed again$"))
        t.keys("C-d")
        t.wait_last("$")

    def test_server_goes_away(self):
        t = self.chatc()
        self.srv.stop()
        t.wait("* server shutting down")
        t.wait("-- connection closed by the server")
        self.assertEqual(t.exit_status(), 1)

    def test_reconnect(self):
        t = self.chatc("--reconnect")
        port = self.srv.port
        self.srv.stop()
        t.wait("-- connection closed by the server; reconnecting in 1 s")
        # Nothing listens now: the next attempts fail and back off.
        t.wait(re.compile(r"^-- cannot connect to 127\.0\.0\.1:%d: "
                          r"Connection refused; retrying in 2 s$" % port))
        t.type("lost?")
        t.keys("Enter")
        t.wait("-- not connected: line not sent")

        srv2 = ct.Server(config={"server": {"port": port}}).start()
        self.addCleanup(srv2.kill)
        bob = srv2.client()
        t.wait(lambda lines: sum(l.startswith("* welcome ") for l in lines)
               == 2, timeout=10)
        t.wait_last(PROMPT.rstrip())
        name = [l for l in t.screen() if l.startswith("* welcome ")][-1][10:]
        bob.expect("* %s joined" % name)
        t.keys("Up")
        t.wait_last(PROMPT + "lost?")
        t.keys("Enter")
        bob.expect("[%s]: lost?" % name)

    def test_colors(self):
        t = self.chatc(env={"TERM": "screen"})
        self.rename(t, "ada")
        bob = self.srv.client()
        t.wait("* %s joined" % bob.name)
        bob.sendline("hi")
        t.wait("[%s]: hi" % bob.name)
        t.type("rename|a b")
        t.keys("Enter")
        t.wait("! name contains a space")
        t.type("yo")
        t.keys("Enter")
        t.wait("[ada]: yo")
        esc = "\n".join(t.screen(escapes=True))
        sgr = r"(?:\x1b\[[0-9;]*m)+"
        # Errors red, notices cyan, your name green, another name in a
        # color of its own; the text itself in the terminal's default.
        self.assertRegex(esc, r"\x1b\[[0-9;]*31[0-9;]*m! name contains a "
                         r"space")
        self.assertRegex(esc, r"\x1b\[[0-9;]*36[0-9;]*m\* you are now ada")
        self.assertRegex(esc, r"\[(?:%s)?\x1b\[[0-9;]*32[0-9;]*mada%s\]: yo"
                         % (sgr, sgr))
        m = re.search(r"\[(?:%s)?\x1b\[([0-9;]*)m%s%s\]: hi"
                      % (sgr, re.escape(bob.name), sgr), esc)
        self.assertIsNotNone(m, esc)
        self.assertNotIn("32", m.group(1).split(";"))
        self.assertNotIn("31", m.group(1).split(";"))

    def test_no_color(self):
        for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
            with self.subTest(env=env):
                t = self.chatc(env=env)
                t.type("rename|a b")
                t.keys("Enter")
                t.wait("! name contains a space")
                esc = "\n".join(t.screen(escapes=True))
                self.assertNotIn("\x1b[", esc)
                t.kill()

    def test_hostile_server(self):
        with ct.FakeServer() as fake:
            t = ct.Tmux()
            self.addCleanup(t.kill)
            t.start(["-p", str(fake.port), "127.0.0.1"])
            fake.accept()
            title = t.tmux("display-message", "-p", "#{pane_title}")
            fake.send(b"* welcome x\r\n"
                      b"\x1b]2;pwned\x07\x1b[2Jclear?\x9b31mred\r\n"
                      b"\xc2\x9b\x1b[1;1Hhome \xe6\x9d\x9c\r\n"
                      b"bare lf\nback\rspace\x08\x7f\r\n")
            # All four lines drawn and the prompt back under them: chatc
            # writes them as they come, so one may show before the next.
            lines = t.wait(lambda lines: "back^Mspace^H^?" in lines and
                           lines[-1:] == [PROMPT.rstrip()])
            self.assertIn("bare lf", lines)
            self.assertIn("^[]2;pwned^G^[[2Jclear?\ufffd31mred", lines)
            self.assertIn("\ufffd^[[1;1Hhome \u675c", lines)
            self.assertIn("back^Mspace^H^?", lines)
            self.assertEqual(t.tmux("display-message", "-p",
                                    "#{pane_title}"), title)
            self.assertEqual(lines[-1], PROMPT.rstrip())


if __name__ == "__main__":
    ct.need("tmux")
    if not os.access(ct.CHATC, os.X_OK):
        print("chatc not found at %s (set ct.CHATC)" % ct.CHATC)
        sys.exit(1)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
