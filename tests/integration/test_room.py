#!/usr/bin/env python3
"""The default room: join, chat, who, rename, exit/quit, leaving."""

import socket
import time
import unittest

import chatdtest as ct


class RoomTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.srv = ct.Server()
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        code = cls.srv.stop()
        cls.srv.kill()
        assert code == 0, "chatd exit status %r" % code

    def setUp(self):
        self.clients = []
        self.assertTrue(self.srv.alive(), "chatd died")

    def tearDown(self):
        # Leave the room empty for the next test: close everyone, then
        # probe until a fresh client is alone.  Probes leave with "exit"
        # and wait for the close, so they are gone when the next test runs.
        for c in self.clients:
            c.close()
        self.clients = []
        self.srv.close_clients()  # also any a failed test left open
        deadline = time.monotonic() + 5
        while True:
            probe = ct.Client(self.srv.port)
            names = probe.join()
            probe.sendline("exit")
            probe.read_until("* bye")
            probe.expect_closed()
            probe.close()
            if len(names) == 1:
                break
            if time.monotonic() > deadline:
                self.fail("room not empty after the test: %r" % names)
            time.sleep(0.05)

    def room(self, n):
        cs = self.srv.room(n)
        self.clients.extend(cs)
        return cs

    def one(self):
        c = self.srv.client()
        self.clients.append(c)
        return c

    def sync(self, sender, *others, text="sync", name=None):
        """A chat line from sender that everyone gets: proves nothing else
        was queued for them before it.  name: sender's current name when
        renamed."""
        sender.sendline(text)
        for c in (sender,) + others:
            c.expect("[%s]: %s" % (name or sender.name, text))

    # -- connect -------------------------------------------------------
    def test_connect_welcome_and_online(self):
        a = self.one()
        self.assertEqual(a.welcome, "* welcome %s" % a.name)
        self.assertEqual(a.online, [a.name])
        self.assertRegex(a.name, r"^127\.0\.0\.1:\d+$")
        b = self.one()
        a.expect("* %s joined" % b.name)
        self.assertEqual(b.online, [a.name, b.name])
        c = self.one()
        a.expect("* %s joined" % c.name)
        b.expect("* %s joined" % c.name)
        self.assertEqual(c.online, [a.name, b.name, c.name])
        # the exact line format
        d = ct.Client(self.srv.port)
        self.clients.append(d)
        d.expect("* welcome %s" % d.name)
        d.expect("* online (4): %s, %s, %s, %s"
                 % (a.name, b.name, c.name, d.name))
        for o in (a, b, c):
            o.expect("* %s joined" % d.name)
        # the newcomer does not get its own joined notice
        self.sync(d, a, b, c)

    def test_online_list_in_join_order_after_leave_and_rename(self):
        a, b, c = self.room(3)
        b.sendline("rename|bee")
        b.expect("* you are now bee")
        a.expect("* %s is now bee" % b.name)
        c.expect("* %s is now bee" % b.name)
        a.close()
        self.clients.remove(a)
        b.expect("* %s left" % a.name)
        c.expect("* %s left" % a.name)
        d = self.one()
        self.assertEqual(d.online, ["bee", c.name, d.name])

    # -- chat ----------------------------------------------------------
    def test_chat_reaches_everyone_including_sender(self):
        a, b, c = self.room(3)
        b.sendline("hello world")
        for x in (a, b, c):
            x.expect("[%s]: hello world" % b.name)
        a.sendline("  spaced   text\t ")
        for x in (a, b, c):
            x.expect("[%s]:   spaced   text\t " % a.name)

    def test_chat_order_from_one_sender(self):
        a, b = self.room(2)
        for i in range(50):
            a.sendline("msg %d" % i)
        for x in (a, b):
            for i in range(50):
                x.expect("[%s]: msg %d" % (a.name, i))

    def test_unicode_chat(self):
        a, b = self.room(2)
        a.sendline("héllo 杜克 😀")
        for x in (a, b):
            x.expect("[%s]: héllo 杜克 😀" % a.name)

    def test_commands_are_case_sensitive_and_whole_word(self):
        a, b = self.room(2)
        for text in ("WHO", "Who", "who is here", "EXIT", "Quit",
                     "RENAME|x", "exit now", "quit please", "whoami",
                     " who", "who ", "rename x", "|who", "hello|world"):
            with self.subTest(text=text):
                a.sendline(text)
                a.expect("[%s]: %s" % (a.name, text))
                b.expect("[%s]: %s" % (a.name, text))

    def test_unknown_command_with_bar_is_chat(self):
        a, b = self.room(2)
        a.sendline("foo|bar")
        a.expect("[%s]: foo|bar" % a.name)
        b.expect("[%s]: foo|bar" % a.name)

    # -- who -----------------------------------------------------------
    def test_who(self):
        a, b, c = self.room(3)
        b.sendline("who")
        b.expect("* online (3):")
        for x in (a, b, c):
            b.expect("*   %s %s" % (x.name, x.name))
        # sender only
        self.sync(c, a, b)

    def test_who_with_argument_and_after_rename(self):
        a, b = self.room(2)
        a.sendline("rename|alice")
        a.expect("* you are now alice")
        b.expect("* %s is now alice" % a.name)
        a.sendline("who|x")
        a.expect('* online (2): 0 start with "x"; page 1 of 1 by name')
        a.sendline("who|AL")
        a.expect('* online (2): 1 start with "AL"; page 1 of 1 by name')
        a.expect("*   alice %s" % a.name)
        b.sendline("who|")
        b.expect("* online (2):")
        b.expect("*   alice %s" % a.name)
        b.expect("*   %s %s" % (b.name, b.name))
        self.sync(a, b, name="alice")

    def test_who_alone(self):
        a = self.one()
        a.sendline("who")
        a.expect("* online (1):")
        a.expect("*   %s %s" % (a.name, a.name))
        a.no_line(0.3)

    # -- rename --------------------------------------------------------
    def test_rename(self):
        a, b, c = self.room(3)
        old = a.name
        a.sendline("rename|alice")
        a.expect("* you are now alice")
        b.expect("* %s is now alice" % old)
        c.expect("* %s is now alice" % old)
        a.sendline("hi")
        for x in (a, b, c):
            x.expect("[alice]: hi")
        a.sendline("rename|alice2")
        a.expect("* you are now alice2")
        b.expect("* alice is now alice2")
        c.expect("* alice is now alice2")
        # the old name is free again
        b.sendline("rename|alice")
        b.expect("* you are now alice")
        a.expect("* %s is now alice" % b.name)
        c.expect("* %s is now alice" % b.name)

    def test_rename_with_crlf(self):
        a, b = self.room(2)
        a.send(b"rename|bob\r\n")
        a.expect("* you are now bob")
        b.expect("* %s is now bob" % a.name)

    def test_rename_utf8(self):
        a, b = self.room(2)
        a.sendline("rename|杜克")
        a.expect("* you are now 杜克")
        b.expect("* %s is now 杜克" % a.name)
        a.sendline("你好")
        a.expect("[杜克]: 你好")
        b.expect("[杜克]: 你好")

    def test_rename_to_own_name(self):
        a, b = self.room(2)
        a.sendline("rename|same")
        a.expect("* you are now same")
        b.expect("* %s is now same" % a.name)
        a.sendline("rename|same")
        a.expect("* you are now same")
        # nothing for the others
        self.sync(a, b, name="same")
        # not the default name: an address is not a name one may choose
        b.sendline("rename|%s" % b.name)
        b.expect("! name contains ':'")
        self.sync(b, a)

    def test_rename_length_limit(self):
        a, b = self.room(2)
        ok = "n" * 32
        a.sendline("rename|" + ok)
        a.expect("* you are now " + ok)
        b.expect("* %s is now %s" % (a.name, ok))
        a.sendline("rename|" + "n" * 33)
        a.expect("! name is longer than 32 bytes")
        # bytes, not characters: 11 x 3 bytes = 33
        a.sendline("rename|" + "杜" * 11)
        a.expect("! name is longer than 32 bytes")
        a.sendline("rename|" + "杜" * 10 + "xy")  # 32 bytes
        a.expect("* you are now " + "杜" * 10 + "xy")
        b.expect("* %s is now %s" % (ok, "杜" * 10 + "xy"))
        self.sync(a, b, name="杜" * 10 + "xy")

    def test_rename_errors(self):
        a, b = self.room(2)
        cases = [
            (b"rename|", "! name is empty"),
            (b"rename|a b", "! name contains a space"),
            (b"rename| lead", "! name contains a space"),
            (b"rename|trail ", "! name contains a space"),
            (b"rename|a\x01b", "! name contains a control character"),
            (b"rename|a\x7fb", "! name contains a control character"),
            (b"rename|a\xc2\x85b", "! name contains a control character"),
            (b"rename|a\x1bb", "! name contains a control character"),
            (b"rename|a|b", "! name contains '|'"),
            (b"rename||", "! name contains '|'"),
            (b"rename|\xfe", "! name is not valid UTF-8"),
            (b"rename|ab\xe2\x82", "! name is not valid UTF-8"),
            (b"rename|\xc0\xaf", "! name is not valid UTF-8"),
            (b"rename|" + b"x" * 40, "! name is longer than 32 bytes"),
            # a default name is an address: no chosen name holds a ':'
            (("rename|" + b.name).encode(), "! name contains ':'"),
        ]
        for raw, want in cases:
            with self.subTest(line=raw):
                a.send(raw + b"\n")
                a.expect(want)
        # a name with a TAB is refused (TAB is a control character and
        # white space: either reason will do)
        a.send(b"rename|a\tb\n")
        got = a.line()
        self.assertIn(got, ("! name contains a control character",
                            "! name contains a space"))
        # nothing reached the other client, and a is unchanged
        self.sync(a, b)
        a.sendline("who")
        a.expect("* online (2):")
        a.expect("*   %s %s" % (a.name, a.name))
        a.expect("*   %s %s" % (b.name, b.name))

    def test_rename_taken_by_chosen_name(self):
        a, b = self.room(2)
        a.sendline("rename|zed")
        a.expect("* you are now zed")
        b.expect("* %s is now zed" % a.name)
        b.sendline("rename|zed")
        b.expect("! name is taken")
        self.sync(b, a)

    # -- leaving -------------------------------------------------------
    def _leave(self, word):
        a, b, c = self.room(3)
        b.sendline(word)
        b.expect("* bye")
        self.assertEqual(b.expect_closed(), [])
        self.clients.remove(b)
        a.expect("* %s left" % b.name)
        c.expect("* %s left" % b.name)
        self.sync(a, c)
        d = self.one()
        self.assertEqual(d.online, [a.name, c.name, d.name])

    def test_exit(self):
        self._leave("exit")

    def test_quit(self):
        self._leave("quit")

    def test_exit_with_argument(self):
        self._leave("exit|x")

    def test_quit_with_argument(self):
        self._leave("quit|now please")

    def test_exit_crlf_after_rename(self):
        a, b = self.room(2)
        a.sendline("rename|leaver")
        a.expect("* you are now leaver")
        b.expect("* %s is now leaver" % a.name)
        a.send(b"exit\r\n")
        a.expect("* bye")
        a.expect_closed()
        self.clients.remove(a)
        b.expect("* leaver left")

    def test_exit_discards_rest_of_segment(self):
        # Lines after exit in the same segment are not acted upon.
        a, b = self.room(2)
        a.send(b"exit\nthis is after exit\n")
        a.expect("* bye")
        a.expect_closed()
        self.clients.remove(a)
        b.expect("* %s left" % a.name)
        b.sendline("check")
        b.expect("[%s]: check" % b.name)

    def test_client_close(self):
        a, b, c = self.room(3)
        b.close()
        self.clients.remove(b)
        a.expect("* %s left" % b.name)
        c.expect("* %s left" % b.name)
        self.sync(a, c)

    def test_client_reset(self):
        a, b, c = self.room(3)
        b.abort()
        self.clients.remove(b)
        a.expect("* %s left" % b.name)
        c.expect("* %s left" % b.name)
        self.sync(c, a)

    def test_close_with_partial_line(self):
        a, b = self.room(2)
        b.send(b"unterminated")
        b.close()
        self.clients.remove(b)
        a.expect("* %s left" % b.name)
        self.sync(a)

    def test_half_close(self):
        # shutdown(SHUT_WR) after a line: the line is handled, then left.
        a, b = self.room(2)
        b.send(b"last words\n")
        b.sock.shutdown(socket.SHUT_WR)
        a.expect("[%s]: last words" % b.name)
        a.expect("* %s left" % b.name)


if __name__ == "__main__":
    unittest.main()
