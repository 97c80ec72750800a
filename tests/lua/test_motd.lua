-- contrib/plugins/motd.lua: the message of the day.

local MOTD = "../../contrib/plugins/motd.lua"
-- Keys out of order, a gap (no text4), an empty text5, and an inline
-- comment: the lines come by number, empty ones skipped.
local CONFIG = { ["plugin.motd"] = {
	text3 = "Type help for the commands.",
	text = "Welcome to the chat!",
	text6 = "Have fun.  ; not part of the line",
	text5 = "",
	text2 = "Be nice.",
	note = "not a text key",
} }
local LINES = {
	"* motd: Welcome to the chat!",
	"* motd: Be nice.",
	"* motd: Type help for the commands.",
	"* motd: Have fun.",
}

local function server(config)
	return test.server{ plugins = { MOTD }, config = config }
end

-- A user who connects: its welcome, then the greeting lines.
local function greeted(srv, want)
	local u = srv:connect()
	u:expect_match("%* welcome (%S+)")
	u:expect_match("%* online %(%d+%): .*")
	u:expect(table.unpack(want))
	u:silent()
	return u
end

test.case("sent on joining, once, to the one who joins", function()
	local srv = server(CONFIG)
	local alice = greeted(srv, LINES)
	greeted(srv, LINES)
	alice:expect_match("%* %S+ joined")
	alice:silent()
end)

test.case("the command sends it again, to the asker only", function()
	local srv = server(CONFIG)
	local alice = srv:join("alice")
	srv:join("bob")
	alice:ask("motd", table.unpack(LINES))
	srv:silent()
end)

test.case("a single text", function()
	local srv = server{ ["plugin.motd"] = { text = "Hello, world" } }
	greeted(srv, { "* motd: Hello, world" }):ask("motd",
	    "* motd: Hello, world")
end)

test.case("without a text it says so in the log and is quiet", function()
	local srv = server()
	srv:expect_log("^warn: lua: %S*/motd%.lua:%d+: no %[plugin%.motd%] " ..
	    "text configured")
	local alice = srv:join("alice")
	alice:ask("motd", "* no message of the day")
end)

test.case("blank texts are none", function()
	local srv = server{ ["plugin.motd"] = { text = "", text2 = "" } }
	srv:expect_log("motd%.lua:%d+: no %[plugin%.motd%] text configured")
	srv:join("alice"):ask("motd", "* no message of the day")
end)

test.case("a reload applies new text", function()
	local srv = server{ ["plugin.motd"] = { text = "old news" } }
	local alice = greeted(srv, { "* motd: old news" })
	test.ok(srv:reload{ ["plugin.motd"] = { text = "fresh news",
	    text2 = "second line" } })
	alice:ask("motd", "* motd: fresh news", "* motd: second line")
	greeted(srv, { "* motd: fresh news", "* motd: second line" })
end)
