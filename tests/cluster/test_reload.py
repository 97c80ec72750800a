#!/usr/bin/env python3
"""SIGHUP of one node: the room goes on, nobody leaves or joins, the new
Lua state sees the remote users, heartbeat and node_timeout apply at
once, and the keys that need a restart say so."""

import re
import time
import unittest

import chatdtest as ct

# A command that lists what this node's plugins see of the room.
SEEN = """
chat.command("seen", "", function(user)
    local out = {}
    for _, u in ipairs(chat.users()) do out[#out + 1] = u.name end
    user:send("seen " .. table.concat(out, ","))
end)
chat.command("room", "", function(user)
    local c = chat.config.cluster
    user:send("room " .. c.room .. " " .. c.heartbeat .. " " ..
        c.node_timeout)
end)
"""


class Reload(unittest.TestCase):

    def test_sighup_of_one_node(self):
        with ct.Cluster(2, plugins={"50-seen.lua": SEEN}) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            c = cl.join(0, "carol")
            n1 = cl.nodes[0]
            cfg = n1.config
            cfg["cluster"]["heartbeat"] = 2
            cfg["cluster"]["node_timeout"] = 7
            cfg["cluster"]["room"] = "elsewhere"
            n1.write_config(cfg)
            mark = n1.mark()
            ok, line = n1.reload()
            self.assertTrue(ok, line)
            self.assertRegex(n1.log_text()[mark:], r"reload: \[cluster\] "
                             r"room changed; it takes effect when chatd is "
                             r"restarted")
            self.assertNotRegex(n1.log_text()[mark:], r"\[cluster\] "
                                r"(heartbeat|node_timeout) changed")
            # What needs a restart keeps its running value; the rest
            # applies.
            self.assertEqual(a.ask("room"), "room chatd 2 7")
            # The new state sees everyone, remote users included.
            self.assertEqual(a.ask("seen"), "seen alice,bob,carol")
            self.assertEqual(b.ask("seen"), "seen alice,bob,carol")
            # The room goes on both ways; nobody left or joined.
            a.sendline("after the reload")
            for u in (a, b, c):
                u.expect("[alice]: after the reload")
            b.sendline("and back")
            for u in (a, b, c):
                u.expect("[bob]: and back")
            for u, extra in zip(cl.users, cl.sync()):
                self.assertEqual(extra, [], "%s: more lines" % u.name)
            # Names are still claimed across the nodes.
            b.ask("rename|Carol", "! name is taken")
            self.assertTrue(all(n.alive() for n in cl.nodes))
            # The new heartbeat is the one the node keeps: its lease in
            # Redis (Redis's clock, ms) now moves every 2 s, not every 1.
            # (A measure over 5 s, not a synchronisation.)
            scores, t0 = [], time.monotonic()
            while time.monotonic() - t0 < 5:
                v = int(cl.redis.command("ZSCORE", "chatd:{chatd}:nodes",
                                         "n1"))
                if not scores or v != scores[-1]:
                    scores.append(v)
                time.sleep(0.05)
            steps = [b - a for a, b in zip(scores[1:], scores[2:])]
            self.assertTrue(steps, scores)
            self.assertTrue(all(1700 < d < 2600 for d in steps), steps)
            # n2 still has node_timeout 2 s, shorter than n1's new
            # heartbeat: n1's lease is its own node_timeout (7 s), so n2
            # never reaps it.
            self.assertNotIn("node n1 lost", cl.nodes[1].log_text())
            self.assertEqual(b.ask("seen"), "seen alice,bob,carol")
            for u, extra in zip(cl.users, cl.sync()):
                self.assertEqual(extra, [], "%s: more lines" % u.name)
            # Reloaded twice, with a bad file in between: nothing moves.
            n1.write_config({"server": {"port": "nope"}})
            ok, line = n1.reload()
            self.assertFalse(ok, line)
            self.assertEqual(c.ask("seen"), "seen alice,bob,carol")


if __name__ == "__main__":
    ct.main()
