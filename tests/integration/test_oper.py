#!/usr/bin/env python3
"""Operators: [operators] crypt hashes, oper|NAME|PASSWORD, the attempt
limit per address, the log line of each attempt, commands kept to
operators (contrib/plugins/kick.lua), SIGHUP re-reading [operators],
chatd -t refusing what is not a hash, and chatd --hash-password."""

import ctypes
import re
import subprocess
import unittest

import chatdtest as ct

PASSWORD = "correct horse"

_libcrypt = ctypes.CDLL("libcrypt.so.1", use_errno=True)
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def crypt(password, setting):
    """libcrypt's crypt(3): the hash of password under setting's method
    and salt (a whole hash works as its own setting)."""
    out = _libcrypt.crypt(password.encode(), setting.encode())
    return out.decode() if out is not None else None


def hash_password(password):
    """chatd --hash-password on password (a pipe: no prompt, no echo)."""
    r = subprocess.run([ct.CHATD, "--hash-password"], input=password + "\n",
                       capture_output=True, text=True, timeout=10,
                       preexec_fn=ct._pdeathsig)
    ct.check_sanitizer(r.stderr, "from chatd --hash-password")
    return r


HASH = hash_password(PASSWORD).stdout.strip()
REFUSED = "! kick: for operators only (oper|<name>|<password> first)"


class HashPasswordTest(unittest.TestCase):

    def test_hash_verifies_with_crypt(self):
        r = hash_password(PASSWORD)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        h = r.stdout.strip()
        self.assertRegex(h, r"^\$y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]+"
                         r"\$[./0-9A-Za-z]{43}$")
        self.assertEqual(crypt(PASSWORD, h), h)
        self.assertNotEqual(crypt(PASSWORD + "x", h), h)
        # A new salt each time.
        self.assertNotEqual(hash_password(PASSWORD).stdout.strip(), h)

    def test_empty_password_refused(self):
        r = hash_password("")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("the password is empty", r.stderr)


class ConfigCheckTest(unittest.TestCase):

    def test_hash_accepted(self):
        rc, out, err = ct.check_config(["kick"], {"operators": {"root": HASH}})
        self.assertEqual(rc, 0, err)
        self.assertIn("[operators]\nroot = %s" % HASH, out)

    def test_not_a_hash(self):
        for bad, why in (("hunter2", "is not a crypt(3) hash"),
                         ("$y$", "is not a crypt(3) hash"),
                         ("$zz$abc$def", "this libcrypt can check"),
                         ("$1$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx",
                          "too weak to trust")):
            rc, out, err = ct.check_config(["kick"],
                                           {"operators": {"root": bad}})
            self.assertEqual((rc, out), (1, ""), bad)
            self.assertIn("[operators] root: ", err)
            self.assertIn(why, err)


class OperTest(unittest.TestCase):

    def setUp(self):
        self.srv = ct.ContribServer(["kick"], {"operators": {"root": HASH}})
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.alice = self.srv.join("alice")
        self.bob = self.srv.join("bob")

    def test_right_and_wrong_password(self):
        self.alice.ask("oper|root|wrong", "! oper: wrong name or password")
        self.srv.wait_log(r"oper: client \d+ \(127\.0\.0\.1:\d+\) as 'root':"
                          r" refused, wrong password")
        self.alice.ask("oper|nobody|" + PASSWORD,
                       "! oper: wrong name or password")
        self.srv.wait_log(r"as 'nobody': refused, no such operator")
        self.alice.ask("oper|root|" + PASSWORD,
                       "* you are now operator root")
        self.srv.wait_log(r"oper: client \d+ \(127\.0\.0\.1:\d+\) 'alice' is"
                          r" now operator 'root'")
        self.assertNotIn(PASSWORD, self.srv.log_text())
        self.assertNotIn("wrong|", self.srv.log_text())
        self.alice.ask("oper|root", "! usage: oper|<name>|<password>")
        self.srv.sync()

    def test_rate_limit_per_address(self):
        for _ in range(3):
            self.bob.ask("oper|root|guess", "! oper: wrong name or password")
        # The right password, but the address has no attempt left.
        self.bob.sendline("oper|root|" + PASSWORD)
        m = self.bob.expect_match(
            r"! oper: too many attempts; try again in (\d+) s")
        self.assertTrue(15 <= int(m.group(1)) <= 20, m.group(0))
        self.srv.wait_log(r"as 'root': refused, too many attempts from its "
                          r"address")
        # Every user at that address shares the limit.
        self.alice.sendline("oper|root|" + PASSWORD)
        self.alice.expect_match(r"! oper: too many attempts; try again in "
                                r"\d+ s")
        self.bob.ask("kick|alice", REFUSED)
        self.srv.sync()

    def test_kick_is_for_operators(self):
        self.bob.ask("kick|alice|spam", REFUSED)
        self.bob.ask("kick", REFUSED)   # refused before its usage
        self.bob.ask("help", "* commands:")
        self.assertIn(
            "*   kick|<name>|<reason>: disconnect a user (operators only)",
            self.bob.read_until(lambda l: l.startswith("*   who|")))
        self.bob.ask("oper|root|" + PASSWORD, "* you are now operator root")
        self.bob.ask("kick|bob", "! you cannot kick yourself")
        self.bob.ask("kick|carol", "! no such user: carol")
        self.bob.ask("kick| ALICE |spam, twice", "* kicked alice")
        self.alice.expect("* you were kicked by bob: spam, twice")
        self.alice.expect_closed()
        self.bob.expect("* alice left")
        self.srv.wait_log(r"bob \(operator root\) kicked alice: spam, twice")

    def test_reload_drops_removed_operator(self):
        self.bob.ask("oper|root|" + PASSWORD, "* you are now operator root")
        # Same hash: still an operator after a reload.
        self.srv.reload()
        self.bob.ask("kick|nobody", "! no such user: nobody")
        # A new password for root: the old one's operator is one no more.
        self.srv.rewrite_config({"operators": {
            "root": hash_password("another").stdout.strip()}})
        self.srv.reload()
        self.srv.wait_log(r"is operator 'root' no more: its hash changed")
        self.bob.ask("kick|alice", REFUSED)
        self.bob.ask("oper|root|another", "* you are now operator root")
        self.srv.rewrite_config({})
        self.srv.reload()
        self.srv.wait_log(r"is operator 'root' no more: gone from "
                          r"\[operators\]")
        self.bob.ask("kick|alice", REFUSED)
        self.srv.sync()


if __name__ == "__main__":
    ct.main()
