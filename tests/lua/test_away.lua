-- contrib/plugins/away.lua: away and back; who marks away users through
-- a "who" hook, beside the room's own rows; the mark survives a reload.

local AWAY = "../../contrib/plugins/away.lua"

local function room()
	local srv = test.server{ plugins = { AWAY } }
	return srv, srv:join("alice"), srv:join("bob")
end

test.case("away marks who without replacing it", function()
	local srv, alice, bob = room()
	bob:ask("who", "* online (2):", "*   alice", "*   bob")
	alice:ask("away|lunch", "* you are away: lunch")
	bob:ask("away", "* you are away")
	bob:ask("who", "* online (2):", "*   alice (away: lunch)",
	    "*   bob (away)")
	bob:ask("back", "* you are back")
	bob:ask("back", "* you were not away")
	alice:ask("who", "* online (2):", "*   alice (away: lunch)", "*   bob")
	srv:silent()
end)

test.case("saying something brings you back", function()
	local srv, alice, bob = room()
	alice:ask("away|lunch", "* you are away: lunch")
	alice:ask("I'm here", "* you are back", "[alice]: I'm here")
	bob:expect("[alice]: I'm here")
	bob:ask("who", "* online (2):", "*   alice", "*   bob")
	srv:silent()
end)

test.case("kept across a reload", function()
	local srv, alice, bob = room()
	alice:ask("away|lunch", "* you are away: lunch")
	test.ok(srv:reload())
	bob:ask("who", "* online (2):", "*   alice (away: lunch)", "*   bob")
	srv:silent()
end)
