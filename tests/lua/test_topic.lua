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

-- The hash of "s3cret" (chatd --hash-password).
local HASH = "$y$j9T$gdndzkFJRyDpJM9h0B147/$M3.h9m6aks6LGcf2475eZxJPEyg90bGv/..QVSqir7/"

local function kept_server(state)
	return test.server{ plugins = { TOPIC }, config = {
		operators = { root = HASH },
		lua = { state_file = state },
	} }
end

test.case("kept across a reload and a restart", function()
	local state = os.tmpname()
	os.remove(state)
	local srv = kept_server(state)
	local alice = srv:join("alice")
	alice:ask("topic|kept", "* alice set the topic: kept")
	test.ok(srv:reload())
	alice:ask("topic", "* topic: kept")
	srv:close()
	srv = kept_server(state)
	local bob = srv:connect()
	bob:expect_match("%* welcome (%S+)")
	bob:expect_match("%* online %(%d+%): .*")
	bob:expect("* topic: kept")
	srv:close()
	os.remove(state)
end)

test.case("operators lock it, and the lock is kept", function()
	local state = os.tmpname()
	os.remove(state)
	local srv = kept_server(state)
	local root, bob = srv:join("root"), srv:join("bob")
	bob:ask("topiclock|on", "! topiclock: for operators only " ..
	    "(oper|<name>|<password> first)")
	root:ask("oper|root|s3cret", "* you are now operator root")
	root:ask("topiclock|on", "* root locked the topic")
	bob:expect("* root locked the topic")
	bob:ask("topic|mine", "! the topic is locked (operators only)")
	root:ask("topic|ours", "* root set the topic: ours")
	bob:expect("* root set the topic: ours")
	test.ok(srv:reload())
	bob:ask("topic|mine", "! the topic is locked (operators only)")
	root:ask("topiclock|maybe", "! usage: topiclock|on|off")
	root:ask("topiclock|off", "* root unlocked the topic")
	bob:expect("* root unlocked the topic")
	bob:ask("topic|mine", "* bob set the topic: mine")
	root:expect("* bob set the topic: mine")
	srv:silent()
	srv:close()
	os.remove(state)
end)
