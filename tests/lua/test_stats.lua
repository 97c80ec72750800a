-- contrib/plugins/stats.lua: uptime, users, messages, connections.

local STATS = "../../contrib/plugins/stats.lua"
local WF = "../../contrib/plugins/wordfilter.lua"

local function stats(u, uptime, users, messages, connections)
	u:ask("stats", "* uptime " .. uptime, "* users " .. users,
	    "* messages " .. messages, "* connections " .. connections)
end

test.case("a fresh server", function()
	local srv = test.server{ plugins = { STATS } }
	stats(srv:join("alice"), "0d 0h 0m 0s", 1, 0, 1)
end)

test.case("the counts: chat lines, not commands; users who left", function()
	local srv = test.server{ plugins = { STATS } }
	local alice, bob, carol = srv:join("alice"), srv:join("bob"),
	    srv:join("carol")
	for _, text in ipairs{ "one", "two", "three" } do
		alice:send(text)
		for _, u in ipairs{ alice, bob, carol } do
			u:expect("[alice]: " .. text)
		end
	end
	bob:ask("who", "* online (3):", "*   alice", "*   bob", "*   carol")
	carol:ask("quit", "* bye")
	alice:expect("* carol left")
	bob:expect("* carol left")
	stats(bob, "0d 0h 0m 0s", 2, 3, 3)
	srv:join("dave")
	stats(alice, "0d 0h 0m 0s", 3, 3, 4)
end)

test.case("to the asker only", function()
	local srv = test.server{ plugins = { STATS } }
	local alice = srv:join("alice")
	srv:join("bob")
	stats(alice, "0d 0h 0m 0s", 2, 0, 2)
	srv:silent()
end)

test.case("the uptime in days, hours, minutes and seconds", function()
	local srv = test.server{ plugins = { STATS },
	    config = { server = { idle_timeout = 0 } } }
	local alice = srv:join("alice")
	srv:advance(59.9)
	stats(alice, "0d 0h 0m 59s", 1, 0, 1)
	srv:advance(3600 - 59.9, 60)
	stats(alice, "0d 1h 0m 0s", 1, 0, 1)
	srv:advance(90061.7 - 3600, 3600)
	stats(alice, "1d 1h 1m 1s", 1, 0, 1)
	srv:advance(10 * 86400 + 23 * 3600 + 59 * 60 + 59 - 90061.7, 3600)
	stats(alice, "10d 23h 59m 59s", 1, 0, 1)
end)

test.case("lines another plugin drops are not messages", function()
	local srv = test.server{ plugins = { STATS, WF }, config = {
	    ["plugin.wordfilter"] = { words = "heck", action = "drop" } } }
	local alice = srv:join("alice")
	alice:ask("what the heck", "! message blocked")
	alice:ask("fine", "[alice]: fine")
	stats(alice, "0d 0h 0m 0s", 1, 1, 1)
end)

test.case("a reload starts the messages again, nothing else", function()
	local srv = test.server{ plugins = { STATS } }
	local alice = srv:join("alice")
	alice:ask("hello", "[alice]: hello")
	stats(alice, "0d 0h 0m 0s", 1, 1, 1)
	test.ok(srv:reload())
	stats(alice, "0d 0h 0m 0s", 1, 0, 1)
end)
