-- contrib/plugins/kick.lua: only operators may kick; the kicked user is
-- told why and leaves, the room sees the leave, the operator is told.

-- The hash of "s3cret" (chatd --hash-password).
local HASH = "$y$j9T$gdndzkFJRyDpJM9h0B147/$M3.h9m6aks6LGcf2475eZxJPEyg90bGv/..QVSqir7/"
local REFUSED = "! kick: for operators only (oper|<name>|<password> first)"

local function room()
	local srv = test.server{
		plugins = { "../../contrib/plugins/kick.lua" },
		config = { operators = { root = HASH } },
	}
	return srv, srv:join("alice"), srv:join("bob"), srv:join("carol")
end

test.case("refused to a user who is not an operator", function()
	local srv, alice, bob = room()
	bob:ask("kick|alice|spam", REFUSED)
	bob:ask("kick", REFUSED)	-- before its usage: nothing more is said
	bob:ask("oper|root|wrong", "! oper: wrong name or password")
	bob:ask("kick|alice", REFUSED)
	test.ok(not alice:closed())
	srv:silent()
end)

test.case("an operator kicks, with and without a reason", function()
	local srv, alice, bob, carol = room()
	alice:ask("oper|root|s3cret", "* you are now operator root")
	alice:ask("kick| BOB |flooding, twice", "* kicked bob")
	bob:expect("* you were kicked by alice: flooding, twice")
	test.ok(bob:closed(), "bob is disconnected")
	alice:expect("* bob left")
	carol:expect("* bob left")
	alice:ask("kick|carol", "* kicked carol")
	carol:expect("* you were kicked by alice")
	alice:expect("* carol left")
	test.eq(srv:count(), 1)
	srv:silent()
end)

test.case("mistakes are the operator's to hear", function()
	local srv, alice, bob = room()
	alice:ask("oper|root|s3cret", "* you are now operator root")
	alice:ask("kick|alice", "! you cannot kick yourself")
	alice:ask("kick|dave", "! no such user: dave")
	alice:ask("kick|  ", "! usage: kick|<name>|<reason>")
	test.ok(not bob:closed())
	srv:silent()
end)

test.case("an operator whose password changes is one no more", function()
	local srv, alice, bob = room()
	alice:ask("oper|root|s3cret", "* you are now operator root")
	test.ok(srv:reload(), "same [operators]")
	alice:ask("kick|nobody", "! no such user: nobody")
	-- [operators] without root: alice is not an operator any more.
	test.ok(srv:reload{ operators = {} })
	alice:ask("kick|bob", REFUSED)
	srv:silent()
end)
