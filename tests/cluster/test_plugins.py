#!/usr/bin/env python3
"""The example plugins on a room of two nodes: msg reaches a user
wherever they are, me reaches the whole room, motd is each node's own,
stats counts the room's users, wordfilter filters a line before it
leaves its sender's node."""

import unittest

import chatdtest as ct

PLUGINS = ["msg", "me", "motd", "stats", "wordfilter"]
SECTIONS = {
    "plugin.motd": {"text": "Welcome to the lobby."},
    "plugin.wordfilter": {"words": "darn, heck"},
}


class ContribAcrossNodes(unittest.TestCase):

    def setUp(self):
        self.cl = ct.Cluster(2, plugins=ct.contrib_sources(PLUGINS),
                             config=SECTIONS).start()
        self.addCleanup(self.cl.stop)
        # every user is greeted by the motd of its own node
        self.alice = self.join(0, "alice")
        self.bob = self.join(1, "bob")
        self.carol = self.join(1, "carol")

    def join(self, i, name):
        marks = [n.mark() for n in self.cl.nodes]
        c = self.cl.nodes[i].client(join=False)
        c.expect("* welcome %s" % c.name)
        c.expect_match(r"\* online \(\d+\): .*")
        c.expect("* motd: Welcome to the lobby.")
        self.cl.others_know(i, marks, r"cluster: \S+ of node n%d is here"
                            % (i + 1))
        for o in self.cl.users:
            o.expect("* %s joined" % c.name)
        self.cl.rename(i, c, name)
        self.cl.users.append(c)
        return c

    def test_msg_reaches_a_user_of_another_node(self):
        self.alice.sendline("msg|bob|hello there")
        self.bob.expect("* [alice -> you]: hello there")
        self.alice.expect("* [you -> bob]: hello there")
        self.carol.sendline("msg|ALICE|and hi")
        self.alice.expect("* [carol -> you]: and hi")
        self.carol.expect("* [you -> alice]: and hi")
        self.alice.ask("msg|dave|anyone?", "! no such user: dave")
        for u, extra in zip(self.cl.users, self.cl.sync()):
            self.assertEqual(extra, [], "%s saw a private line" % u.name)

    def test_me_reaches_the_room(self):
        self.bob.sendline("me|waves")
        for u in self.cl.users:
            u.expect("* [bob] waves")

    def test_stats_counts_the_room(self):
        self.alice.ask("stats")
        self.assertEqual(self.alice.line(), "* users 3")
        self.alice.line()	# messages, counted on this node
        self.alice.expect_match(r"\* connections \d+")

    def test_wordfilter_filters_before_the_line_leaves(self):
        self.alice.sendline("oh heck")
        for u in self.cl.users:
            u.expect("[alice]: oh ****")



class TopicAcrossNodes(unittest.TestCase):
    """contrib/plugins/topic.lua agrees across nodes, even when two users
    of two nodes set it at once, and a node that joins later learns it."""

    def setUp(self):
        self.cl = ct.Cluster(2, plugins=ct.contrib_sources(["topic"])).start()
        self.addCleanup(self.cl.stop)

    def test_set_on_one_node_seen_on_the_other(self):
        a = self.cl.join(0, "alice")
        b = self.cl.join(1, "bob")
        mark = self.cl.nodes[1].mark()
        a.sendline("topic|release day")
        for u in (a, b):
            u.expect("* alice set the topic: release day")
        self.cl.nodes[1].wait_log(r"the topic from n1, set by alice",
                                  after=mark)
        b.ask("topic", "* topic: release day")
        # a newcomer on either node is told
        c = self.cl.nodes[1].client(join=False)
        c.expect_match(r"\* welcome .*")
        c.expect_match(r"\* online .*")
        c.expect("* topic: release day")

    def test_set_at_once_on_two_nodes_converges(self):
        a = self.cl.join(0, "alice")
        b = self.cl.join(1, "bob")
        for k in range(10):
            a.sendline("topic|from alice %d" % k)
            b.sendline("topic|from bob %d" % k)
            for u in (a, b):
                got = sorted(u.line() for _ in range(2))
                self.assertEqual(got, ["* alice set the topic: from alice %d"
                                       % k, "* bob set the topic: from bob %d"
                                       % k])
            ct.sync_all([a, b])	# both topic messages have arrived
            ta, tb = a.ask("topic"), b.ask("topic")
            self.assertEqual(ta, tb, "round %d: the nodes disagree" % k)

    def test_a_node_that_joins_later_asks(self):
        a = self.cl.join(0, "alice")
        a.sendline("topic|set before n3")
        a.expect("* alice set the topic: set before n3")
        n3 = self.cl.add_node(plugins=ct.contrib_sources(["topic"]))
        n3.wait_log(r"the topic from n[12], set by alice")
        c = n3.client(join=False)
        c.expect_match(r"\* welcome .*")
        c.expect_match(r"\* online .*")
        c.expect("* topic: set before n3")


if __name__ == "__main__":
    ct.main()
