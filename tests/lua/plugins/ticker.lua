-- A plugin for tests/lua/test_harness.lua: "tick" every 10 s to everyone
-- while ticking; "ticks" says how many so far; "later|<s>" answers after
-- <s> seconds.
local n, timer = 0, nil

chat.command {
	name = "start",
	help = "tick every 10 s",
	run = function(user)
		timer = timer or chat.every(10, function()
			n = n + 1
			chat.broadcast("* tick " .. n)
		end)
		user:send("* ticking")
	end,
}

chat.command {
	name = "later",
	args = 1,
	usage = "<seconds>",
	run = function(user, s)
		chat.timer(tonumber(s), function()
			user:send("* " .. s .. " s later")
		end)
	end,
}
