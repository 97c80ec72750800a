-- contrib/plugins/me.lua: me|<action> actions.

local USAGE = "! usage: me|<action>"

local function room()
	local srv = test.server{ plugins = { "../../contrib/plugins/me.lua" } }
	return srv, srv:join("alice"), srv:join("bob")
end

test.case("an action goes to everyone", function()
	local srv, alice, bob = room()
	alice:send("me|waves")
	alice:expect("* [alice] waves")
	bob:expect("* [alice] waves")
	srv:silent()
end)

test.case("outer blanks go, inner ones and further bars stay", function()
	local srv, alice, bob = room()
	bob:send("me|  shrugs  a|b  ")
	alice:expect("* [bob] shrugs  a|b")
	bob:expect("* [bob] shrugs  a|b")
	srv:silent()
end)

test.case("me|joined cannot pass for the server's join notice", function()
	local srv, alice, bob = room()
	alice:send("me|joined")
	bob:expect("* [alice] joined")
	alice:expect("* [alice] joined")
	srv:silent()
end)

test.case("usage", function()
	local srv, alice = room()
	for _, line in ipairs{ "me", "me|", "me|   ", "me|\u{200b}\u{2800}" } do
		alice:ask(line, USAGE)
	end
	srv:silent()		-- bob got nothing
end)

test.case("the current name", function()
	local srv, alice, bob = room()
	alice:ask("rename|ally", "* you are now ally")
	bob:expect("* alice is now ally")
	alice:send("me|is back")
	alice:expect("* [ally] is back")
	bob:expect("* [ally] is back")
	srv:silent()
end)
