-- contrib/plugins/roll.lua: dice everyone sees, a per-user cooldown on
-- the loop's clock that survives a reload, and the errors.

local ROLL = "../../contrib/plugins/roll.lua"

local function room()
	local srv = test.server{ plugins = { ROLL },
	    config = { ["plugin.roll"] = { cooldown = 10 } } }
	return srv, srv:join("alice"), srv:join("bob")
end

-- u rolls spec; both see the same roll of n dice of m sides.
local function roll(u, others, spec, n, m)
	u:send(spec and "roll|" .. spec or "roll")
	local pat = "%* " .. u:name() .. " rolls " .. n .. "d" .. m .. ": (.*)"
	local shown = u:expect_match(pat)
	local line = shown
	for _, o in ipairs(others) do
		test.eq(o:expect_match(pat), shown)
	end
	local dice, sum = shown:match("^(.-) = (%d+)$")
	dice = dice or shown
	local total = 0
	for d in dice:gmatch("%d+") do
		d = tonumber(d)
		test.ok(d >= 1 and d <= m, line)
		total = total + d
		n = n - 1
	end
	test.eq(n, 0, "the number of dice in " .. line)
	if sum then
		test.eq(tonumber(sum), total, line)
	end
end

test.case("rolls, and each user's cooldown", function()
	local srv, alice, bob = room()
	roll(alice, { bob }, nil, 1, 6)
	roll(bob, { alice }, "3d20", 3, 20)
	srv:advance(4)
	alice:ask("roll|2d6", "! roll: wait 6 s")
	srv:advance(6)
	roll(alice, { bob }, "2D6", 2, 6)
	srv:silent()
end)

test.case("the cooldown survives a reload", function()
	local srv, alice, bob = room()
	roll(alice, { bob }, nil, 1, 6)
	test.ok(srv:reload())
	alice:ask("roll", "! roll: wait 10 s")
	srv:silent()
end)

test.case("bad dice, and a bad cooldown", function()
	local srv, alice = room()
	for _, spec in ipairs{ "0d6", "11d6", "1d1", "1d1001", "d6", "two" } do
		alice:ask("roll|" .. spec,
		    "! roll: <N>d<M>, N from 1 to 10, M from 2 to 1000")
	end
	srv:silent()
	srv:close()
	test.fails(function()
		test.server{ plugins = { ROLL },
		    config = { ["plugin.roll"] = { cooldown = -1 } } }
	end, "cooldown must be a number of seconds from 0 to 3600")
end)
