#!/usr/bin/env python3
"""Names across nodes: users of different nodes racing for one name,
many times over, get exactly one winner each time (Redis decides; the
loser gets the usual "! name is taken"); a name Redis holds for another
server's user is refused even before this server hears of it, from a
command (which waits for Redis) and from a timer (renamed at once, and
given back when Redis says no)."""

import re
import unittest

import chatdtest as ct

ROUNDS = 60
TAKEN = "! name is taken"


class NameRace(unittest.TestCase):

    def race(self, cl, users, rounds, form):
        """Every user asks for the same name at once, rounds times; the
        name of round k is form(k, i) for user i (so that forms may
        differ: "Bob" and "bob" are one name).  Returns how many races
        Redis itself decided."""
        for k in range(rounds):
            names = [form(k, i) for i in range(len(users))]
            # One write each, back to back: the claims cross in flight.
            for u, n in zip(users, names):
                u.sendline("rename|" + n)
            winners, seen = [], []
            for i, u in enumerate(users):
                got = u.read_until(lambda l: l.startswith("* you are now ")
                                   or l == TAKEN)
                seen.append(got)
                if got[-1] != TAKEN:
                    self.assertEqual(got[-1], "* you are now " + names[i])
                    winners.append(i)
            self.assertEqual(len(winners), 1, "round %d: winners %r"
                             % (k, [users[i].name for i in winners]))
            w = winners[0]
            old = users[w].name
            users[w].name = names[w]
            # the others hear of the winner's rename once (before or after
            # their own answer)
            notice = "* %s is now %s" % (old, names[w])
            for i, u in enumerate(users):
                if i != w and notice not in seen[i]:
                    u.read_until(notice)
        for u, extra in zip(users, ct.sync_all(users)):
            self.assertEqual([l for l in extra if " is now " in l
                              or l.startswith("* you are now")], [],
                             "%s: a rename told twice" % u.name)
        return sum(n.log_text().count("is taken in Redis")
                   for n in cl.nodes)

    def test_two_nodes_race_many_times(self):
        with ct.Cluster(2) as cl:
            users = [cl.join(0), cl.join(1)]
            decided = self.race(cl, users, ROUNDS, lambda k, i: "name%d" % k)
            print("  %d of %d races decided by Redis" % (decided, ROUNDS))
            # Most races are decided by Redis, not by a name one node had
            # already heard of: both claims were really in flight.
            self.assertGreater(decided, 0, "no race reached Redis")

    def test_three_nodes_and_forms_of_one_name(self):
        with ct.Cluster(3) as cl:
            users = [cl.join(i) for i in range(3)]
            forms = [lambda k: "Bob%d" % k, lambda k: "bob%d" % k,
                     lambda k: "\uff42\uff4f\uff42%d" % k]
            self.race(cl, users, ROUNDS // 3, lambda k, i: forms[i](k))

    def test_a_name_redis_holds_for_another_server(self):
        """Redis holds "victim" for a user of n2 that n1 has not heard
        of: n1's users cannot have it, whether they ask (the command
        waits for Redis's no) or a timer of a plugin renames them (the
        name is given back)."""
        timer = """
chat.command("later", "", function(user, name)
    chat.timer(0.01, function()
        local ok, err = user:rename(name)
        user:send("timer: " .. tostring(ok) .. " " .. tostring(err))
    end)
end)
"""
        with ct.Cluster(2, plugins={"50-later.lua": timer}) as cl:
            a = cl.join(0, "alice")
            b = cl.join(1, "bob")
            cl.redis.command("HSET", "chatd:{chatd}:names",
                             ct.name_key("victim"),
                             "n2 999999")
            a.ask("rename|victim", TAKEN)
            a.ask("rename|Victim", TAKEN)
            # From a timer: renamed at once (the answer must not wait),
            # then Redis says no, and the name goes back.
            a.sendline("later|victim")
            a.expect("timer: true nil")
            a.expect("* the name victim is taken on another server; you "
                     "are now alice")
            b.expect("* alice is now victim")
            b.expect("* victim is now alice")
            a.ask("who", "* online (2):")
            self.assertEqual(sorted([a.line(), a.line()]), sorted(
                ["*   alice " + ct.sockname(a.sock),
                 "*   bob " + ct.sockname(b.sock)]))
            # and Redis still has alice's name for her, and only one
            names = cl.redis.command("HGETALL", "chatd:{chatd}:names")
            owners = dict(zip(names[::2], names[1::2]))
            key = lambda n: ct.name_key(n).encode()  # noqa: E731
            self.assertEqual(owners[key("victim")], b"n2 999999")
            self.assertTrue(owners[key("alice")].startswith(b"n1 "), owners)
            self.assertEqual(sorted(owners), sorted(
                key(n) for n in ("alice", "bob", "victim")))

    def test_a_default_name_another_server_holds(self):
        """Two servers may see one peer address at once: Redis gives the
        later user its address with "#2", and it is told."""
        with ct.Cluster(2) as cl:
            a = cl.join(1, "alice")
            port = ct.free_port()
            addr = "127.0.0.1:%d" % port
            cl.redis.command("HSET", "chatd:{chatd}:names", addr,
                             "n2 999999")
            c = ct.Client(cl.nodes[0].port, source=("127.0.0.1", port))
            self.assertEqual(c.name, addr)
            c.join()
            c.expect("* the name %s is taken on another server; you are "
                     "now %s#2" % (addr, addr))
            a.expect("* %s joined" % addr)
            a.expect("* %s is now %s#2" % (addr, addr))
            owners = cl.redis.command("HGETALL", "chatd:{chatd}:names")
            owners = dict(zip(owners[::2], owners[1::2]))
            self.assertEqual(owners[addr.encode()], b"n2 999999")
            self.assertTrue(owners[(addr + "#2").encode()].startswith(
                b"n1 "))

    def test_lines_wait_behind_a_rename(self):
        """While a rename waits for Redis, the user's next lines wait
        too: they come out after it, in order, under the new name."""
        with ct.Cluster(2) as cl:
            a = cl.join(0)
            b = cl.join(1, "bob")
            a.send("rename|ada\none\ntwo\nrename|bob\nthree\n")
            a.expect("* you are now ada")
            a.expect("[ada]: one")
            a.expect("[ada]: two")
            a.expect(TAKEN)
            a.expect("[ada]: three")
            b.expect("* %s is now ada" % a.name)
            b.expect("[ada]: one")
            b.expect("[ada]: two")
            b.expect("[ada]: three")


if __name__ == "__main__":
    ct.main()
