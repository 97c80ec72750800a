-- contrib/plugins/topic.lua on one server: show, set, told on joining.
-- Across the servers of a cluster: tests/cluster/test_plugins.py.

local TOPIC = "../../contrib/plugins/topic.lua"

test.case("show, set, and told on joining", function()
	local srv = test.server{ plugins = { TOPIC } }
	local alice, bob = srv:join("alice"), srv:join("bob")
	alice:ask("topic", "* no topic")
	alice:send("topic|  chatd 1.0 is out  ")
	alice:expect("* alice set the topic: chatd 1.0 is out")
	bob:expect("* alice set the topic: chatd 1.0 is out")
	bob:ask("topic", "* topic: chatd 1.0 is out")
	bob:ask("topic|   ", "* topic: chatd 1.0 is out")
	-- A newcomer hears it after the welcome.
	local carol = srv:connect()
	carol:expect_match("%* welcome (%S+)")
	carol:expect_match("%* online %(%d+%): .*")
	carol:expect("* topic: chatd 1.0 is out")
	alice:expect_match("%* %S+ joined")
	bob:expect_match("%* %S+ joined")
	bob:send("topic|a | bar")
	for _, u in ipairs{ alice, bob, carol } do
		u:expect("* bob set the topic: a | bar")
	end
	srv:silent()
	carol:silent()
end)
