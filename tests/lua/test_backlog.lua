-- contrib/plugins/backlog.lua: a newcomer is shown the last lines said,
-- in the welcome; the lines survive a reload and, with [lua] state_file,
-- a restart.

local BACKLOG = "../../contrib/plugins/backlog.lua"

-- A user that connects, and the lines of its welcome after the room's.
local function newcomer(srv)
	local u = srv:connect()
	u:expect_match("%* welcome (%S+)")
	u:expect_match("%* online %(%d+%): .*")
	return u, u:lines()
end

local function backlog(lines)
	local out = { "* backlog (" .. #lines ..
	    (#lines == 1 and " line):" or " lines):") }
	for i, l in ipairs(lines) do
		out[i + 1] = "*   " .. l
	end
	return out
end

test.case("the last lines, for newcomers only", function()
	local srv = test.server{ plugins = { BACKLOG },
	    config = { ["plugin.backlog"] = { lines = 3 } } }
	local _, greeting = newcomer(srv)
	test.eq(greeting, {}, "nothing said yet: no backlog")
	srv:close()
	srv = test.server{ plugins = { BACKLOG },
	    config = { ["plugin.backlog"] = { lines = 3 } } }
	local alice = srv:join("alice")
	alice:ask("who", "* online (1):", "*   alice")	-- a command: not kept
	local said = {}
	for i = 1, 4 do
		alice:ask("line " .. i, "[alice]: line " .. i)
		said[#said + 1] = "[alice]: line " .. i
	end
	local bob, lines = newcomer(srv)
	test.eq(lines, backlog{ said[2], said[3], said[4] })
	alice:expect_match("%* %S+ joined")
	bob:send("hi")
	alice:expect("[" .. bob:name() .. "]: hi")
	bob:expect("[" .. bob:name() .. "]: hi")
	local _, lines2 = newcomer(srv)
	test.eq(lines2, backlog{ said[3], said[4], "[" .. bob:name() .. "]: hi" })
end)

test.case("a bad [plugin.backlog] lines fails the load", function()
	test.fails(function()
		test.server{ plugins = { BACKLOG },
		    config = { ["plugin.backlog"] = { lines = 0 } } }
	end, "lines must be a whole number from 1 to 200, not '0'")
end)

test.case("kept across a reload and a restart", function()
	local state = os.tmpname()
	os.remove(state)
	local config = { lua = { state_file = state } }
	local srv = test.server{ plugins = { BACKLOG }, config = config }
	local alice = srv:join("alice")
	alice:ask("before the reload", "[alice]: before the reload")
	test.ok(srv:reload())
	local _, lines = newcomer(srv)
	test.eq(lines, backlog{ "[alice]: before the reload" })
	srv:close()			-- chatd stops: the file is written
	srv = test.server{ plugins = { BACKLOG }, config = config }
	local _, again = newcomer(srv)
	test.eq(again, backlog{ "[alice]: before the reload" })
	srv:close()
	os.remove(state)
end)
