#!/usr/bin/env python3
"""contrib/plugins/stats.lua: uptime, users, messages, connections."""

import unittest

import chatdtest as ct

UPTIME = r"\* uptime 0d 0h 0m \d+s"

# stats.lua run with a chat table whose stats() reports a given uptime, to
# check the d/h/m/s arithmetic without waiting days.  (Each plugin has its
# globals and chat is read-only, so one plugin cannot fake it for another:
# the shim is part of the same file.)
FAKE_UPTIME = """
local real = chat
local chat = setmetatable({
	stats = function()
		local s = real.stats()
		s.uptime = tonumber(real.config.plugin.fake.uptime)
		return s
	end,
}, { __index = real })
""" + ct.contrib_sources(["stats"])["stats.lua"]


class StatsTest(unittest.TestCase):

    def start(self, plugins=("stats",), **kw):
        srv = ct.ContribServer(list(plugins), **kw).start()
        self.addCleanup(srv.stop)
        return srv

    def stats(self, client, users, messages, connections):
        client.sendline("stats")
        client.expect_match(UPTIME)
        client.expect("* users %d" % users)
        client.expect("* messages %d" % messages)
        client.expect("* connections %d" % connections)

    def test_config_check(self):
        rc, out, err = ct.check_config(["stats"])
        self.assertEqual((rc, out.splitlines()[-1:]), (0, ["ok"]), err)

    def test_fresh(self):
        srv = self.start()
        alice = srv.join("alice")
        self.stats(alice, users=1, messages=0, connections=1)

    def test_counts(self):
        srv = self.start()
        alice = srv.join("alice")
        bob = srv.join("bob")
        carol = srv.join("carol")
        for text in ("one", "two", "three"):
            alice.sendline(text)
            for c in (alice, bob, carol):
                c.expect("[alice]: " + text)
        # Commands are not chat messages.
        bob.ask("who", "* online (3):")
        for _ in range(3):
            bob.line()
        carol.ask("quit", "* bye")
        alice.expect("* carol left")
        bob.expect("* carol left")
        srv.joined.remove(carol)
        carol.close()
        self.stats(bob, users=2, messages=3, connections=3)
        srv.join("dave")
        self.stats(alice, users=3, messages=3, connections=4)

    def test_only_to_asker(self):
        srv = self.start()
        alice = srv.join("alice")
        srv.join("bob")
        self.stats(alice, users=2, messages=0, connections=2)
        srv.sync()              # bob got nothing before the marker

    def test_uptime_format(self):
        for secs, want in ((0, "0d 0h 0m 0s"),
                           (59.9, "0d 0h 0m 59s"),
                           (3600, "0d 1h 0m 0s"),
                           (90061.7, "1d 1h 1m 1s"),
                           (10 * 86400 + 23 * 3600 + 59 * 60 + 59,
                            "10d 23h 59m 59s")):
            with self.subTest(secs=secs):
                srv = self.start(
                    plugins=(), extra={"stats.lua": FAKE_UPTIME},
                    sections={"plugin.fake": {"uptime": secs}})
                alice = srv.join("alice")
                alice.ask("stats", "* uptime " + want, "* users 1",
                          "* messages 0", "* connections 1")
                srv.stop()

    def test_dropped_lines_are_not_messages(self):
        srv = self.start(
            plugins=("stats", "wordfilter"),
            sections={"plugin.wordfilter": {"words": "heck",
                                            "action": "drop"}})
        alice = srv.join("alice")
        alice.ask("what the heck", "! message blocked")
        alice.ask("fine", "[alice]: fine")
        self.stats(alice, users=1, messages=1, connections=1)

    def test_reload_restarts_messages_only(self):
        srv = self.start()
        alice = srv.join("alice")
        alice.ask("hello", "[alice]: hello")
        self.stats(alice, users=1, messages=1, connections=1)
        self.assertTrue(srv.reload()[0], srv.log_text())
        self.stats(alice, users=1, messages=0, connections=1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
