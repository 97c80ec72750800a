-- The harness itself (chatd --plugin-test): the simulated clock, idle
-- timeouts, reloads, the connection limits, users leaving, and that a
-- failed assertion fails.

test.case("timers fire at their time and in order", function()
	local srv = test.server{ plugins = { "plugins/ticker.lua" } }
	local a = srv:join("alice")
	a:ask("start", "* ticking")
	srv:advance(9.9)
	a:silent()
	srv:advance(0.2)
	a:expect("* tick 1")
	srv:advance(30)
	a:expect("* tick 2", "* tick 3", "* tick 4")
	a:send("later|2.5")
	a:send("later|1")
	srv:advance(3)
	a:expect("* 1 s later", "* 2.5 s later")
	srv:silent()
end)

test.case("no time passes unless the test says so", function()
	local srv = test.server{ config = { server = { idle_timeout = 30 } } }
	local a = srv:join("alice")
	for _ = 1, 5 do
		a:ask("who", "* online (1):", "*   alice")
	end
	srv:advance(29)
	a:silent()
	a:send("hi")			-- activity: the deadline moves
	a:expect("[alice]: hi")
	srv:advance(29.5)
	a:silent()
	srv:advance(1)
	a:expect("* idle timeout, bye")
	test.ok(a:closed(), "timed out")
end)

test.case("the others hear a user leave; its handle reads as gone", function()
	local srv = test.server{}
	local a, b = srv:join("alice"), srv:join("bob")
	b:close()
	a:expect("* bob left")
	test.eq(b:name(), nil)
	test.eq(srv:count(), 1)
	srv:silent()
end)

test.case("a reload keeps the users; a bad one keeps the plugins", function()
	local srv = test.server{ plugins = { "plugins/ticker.lua" } }
	local a = srv:join("alice")
	test.ok(srv:reload(), "reloaded")
	a:ask("who", "* online (1):", "*   alice")
	test.eq(srv:reload{ server = { no_such_key = 1 } }, false)
	a:ask("start", "* ticking")
	srv:silent()
end)

test.case("connections go through the listener's limits", function()
	local srv = test.server{ config = { limits = { max_per_ip = 2 } } }
	srv:connect("10.0.0.1")
	srv:connect("10.0.0.1")
	local third = srv:connect("10.0.0.1")
	third:expect("! too many connections from your address")
	test.ok(third:closed())
	local other = srv:connect("::1")
	other:expect_match("%* welcome (%S+)")
end)

test.case("the flood limit holds until time refills it", function()
	local srv = test.server{ config = {
		limits = { lines_per_second = 1, burst = 2 } } }
	local a = srv:join("alice")	-- the rename took one token
	a:send("one")
	a:send("two")
	a:expect("[alice]: one")
	a:silent()
	srv:advance(1)
	a:expect("[alice]: two")
end)

test.case("assertions fail with what was expected and got", function()
	local err = test.fails(function() test.eq({ 1, "x" }, { 1, "y" }) end)
	test.match(err, 'expected { 1, "y" }, got { 1, "x" }')
	test.fails(function() test.ok(nil, "thing") end, "thing: expected a true")
	test.fails(function() test.match("abc", "^b") end, "expected a match")
	local srv = test.server{}
	local a = srv:join("alice")
	test.fails(function() a:expect("nothing comes") end,
	    'alice: expected "nothing comes", got nothing')
	a:send("x")
	test.fails(function() a:silent() end, 'expected nothing, got "%[alice%]: x"')
	test.fails(function() test.server{} end, "a server is running already")
end)
