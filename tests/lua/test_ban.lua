-- contrib/plugins/ban.lua: operators ban names and addresses; a banned
-- address is refused before the room is told anything (no "joined", no
-- "left"), a banned name cannot be taken, and the bans survive a reload
-- and, with [lua] state_file, a restart.

local BAN = "../../contrib/plugins/ban.lua"
-- The hash of "s3cret" (chatd --hash-password).
local HASH = "$y$j9T$gdndzkFJRyDpJM9h0B147/$M3.h9m6aks6LGcf2475eZxJPEyg90bGv/..QVSqir7/"
local ONLY_OPS = "! %s: for operators only (oper|<name>|<password> first)"

local function server(state)
	return test.server{ plugins = { BAN }, config = {
		operators = { root = HASH },
		lua = { state_file = state },
		log = { level = "info" },
	} }
end

-- root (an operator) and mallory, from 192.0.2.7.
local function room(state)
	local srv = server(state)
	local root = srv:join("root")
	root:ask("oper|root|s3cret", "* you are now operator root")
	local m = srv:connect("192.0.2.7")
	local first = m:expect_match("%* welcome (%S+)")
	m:lines()
	root:expect("* " .. first .. " joined")
	m:ask("rename|mallory", "* you are now mallory")
	root:expect("* " .. first .. " is now mallory")
	return srv, root, m
end

-- A connection from addr is refused, alone, with the ban's line.
local function refused(srv, addr, line)
	local u = srv:connect(addr)
	u:expect(line)
	u:expect_closed()
end

local function tmpfile()
	local p = os.tmpname()
	os.remove(p)
	return p
end

test.case("only operators ban", function()
	local srv, root, m = room(tmpfile())
	for _, cmd in ipairs{ "ban|root", "unban|root", "bans" } do
		m:ask(cmd, ONLY_OPS:format(cmd:match("^[^|]+")))
	end
	srv:silent()
	m:silent()
end)

test.case("an address ban refuses before the join is told", function()
	local srv, root, m = room(tmpfile())
	root:ask("ban|192.0.2.7|go away", "* banned address 192.0.2.7")
	m:expect("* you are banned from this room: go away")
	m:expect_closed()
	root:expect("* mallory left")
	refused(srv, "192.0.2.7", "* you are banned from this room: go away")
	local log = table.concat(srv:log(), "\n")
	test.match(log, "ban: refused 192%.0%.2%.7:%d+ %(address 192%.0%.2%.7%)")
	test.match(log, "client 3 %(%S+%) left: refused")
	root:silent()			-- no "joined", no "left"
	test.eq(srv:count(), 1)
	root:ask("bans", "* bans (1):", "*   address 192.0.2.7 by root: go away")
	root:ask("unban|192.0.2.7", "* unbanned 192.0.2.7")
	root:ask("unban|192.0.2.7", "! no ban on 192.0.2.7")
	local again = srv:connect("192.0.2.7")
	again:expect_match("%* welcome (%S+)")
	root:expect_match("%* %S+ joined")
end)

test.case("a name ban sends the user out and keeps the name free", function()
	local srv, root, m = room(tmpfile())
	root:ask("ban|Mallory", "* banned name Mallory")
	m:expect("* you are banned from this room")
	m:expect_closed()
	root:expect("* mallory left")
	local carol = srv:join("carol")
	carol:ask("rename|MALLORY", "! the name MALLORY is banned")
	carol:ask("rename|mallory2", "* you are now mallory2")
	root:expect("* carol is now mallory2")
	srv:expect_log("ban: root %(operator root%) banned name Mallory")
	srv:silent()
end)

test.case("bans survive a reload and a restart", function()
	local state = tmpfile()
	local srv, root = room(state)
	root:ask("ban|192.0.2.7|go away", "* banned address 192.0.2.7")
	test.ok(srv:reload())
	refused(srv, "192.0.2.7", "* you are banned from this room: go away")
	srv:close()
	srv = server(state)
	refused(srv, "192.0.2.7", "* you are banned from this room: go away")
	srv:close()
	os.remove(state)
end)
