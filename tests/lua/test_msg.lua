-- contrib/plugins/msg.lua: msg|<name>|<text> private messages.

local USAGE = "! usage: msg|<name>|<text>"
local MSG = "../../contrib/plugins/msg.lua"

local function room()
	local srv = test.server{ plugins = { MSG } }
	return srv, srv:join("alice"), srv:join("bob"), srv:join("carol")
end

test.case("a private message reaches only its recipient", function()
	local srv, alice, bob = room()
	alice:send("msg|bob|hello there")
	bob:expect("* [alice -> you]: hello there")
	alice:expect("* [you -> bob]: hello there")
	srv:silent()		-- carol got nothing
end)

test.case("the text keeps its bars, loses its outer blanks", function()
	local srv, _, bob, carol = room()
	bob:send("msg| carol |  a | b|c  ")
	carol:expect("* [bob -> you]: a | b|c")
	bob:expect("* [you -> carol]: a | b|c")
	srv:silent()
end)

test.case("usage", function()
	local srv, alice = room()
	for _, line in ipairs{ "msg", "msg|", "msg|bob", "msg|bob|",
	    "msg|bob|   ", "msg||hi", "msg|  |hi" } do
		alice:ask(line, USAGE)
	end
	srv:silent()
end)

test.case("names match whatever their case or width", function()
	local srv, alice, bob = room()
	alice:ask("msg|dave|hi", "! no such user: dave")
	alice:ask("msg|BOB|hi", "* [you -> bob]: hi")
	bob:expect("* [alice -> you]: hi")
	alice:ask("msg|\u{ff42}\u{ff4f}\u{ff42}|yo", "* [you -> bob]: yo")
	bob:expect("* [alice -> you]: yo")
	srv:silent()
end)

test.case("no message to oneself", function()
	local srv, alice = room()
	alice:ask("msg|alice|note to self", "! you cannot message yourself")
	srv:silent()
end)

test.case("it follows renames", function()
	local srv, alice, bob, carol = room()
	bob:ask("rename|robert", "* you are now robert")
	alice:expect("* bob is now robert")
	carol:expect("* bob is now robert")
	alice:ask("msg|bob|hi", "! no such user: bob")
	alice:send("msg|robert|hi")
	bob:expect("* [alice -> you]: hi")
	alice:expect("* [you -> robert]: hi")
	alice:ask("rename|al", "* you are now al")
	bob:expect("* alice is now al")
	carol:expect("* alice is now al")
	bob:send("msg|al|back")
	alice:expect("* [robert -> you]: back")
	bob:expect("* [you -> al]: back")
	srv:silent()
end)

test.case("help lists it", function()
	local srv, alice = room()
	alice:ask("help", "* commands:")
	local found = false
	for _, l in ipairs(alice:lines()) do
		found = found or l == "*   msg|<name>|<text>: send a private message"
	end
	test.ok(found, "msg in help")
	srv:silent()
end)

test.case("enabled by linking it in and reloading", function()
	local srv = test.server{}
	local alice, bob = srv:join("alice"), srv:join("bob")
	alice:send("msg|bob|hi")	-- not a command yet: chat
	alice:expect("[alice]: msg|bob|hi")
	bob:expect("[alice]: msg|bob|hi")
	srv:install(MSG)
	test.ok(srv:reload(), "reloaded")
	alice:send("msg|bob|hi")
	bob:expect("* [alice -> you]: hi")
	alice:expect("* [you -> bob]: hi")
	srv:silent()
end)
