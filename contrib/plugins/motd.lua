-- motd: a message of the day, sent to every user who connects.
--
-- Each line of the message reaches the user as    * motd: <line>
-- in the room's welcome (a "welcome" hook), and again on the command
--
--   motd            (answers "* no message of the day" if there is none)
--
-- Config, in chatd.ini:
--
--   [plugin.motd]
--   text = Welcome to the chat!       ; the first line
--   text2 = Be nice.                  ; more lines: text2, text3, ...
--   text3 = Type help for the commands.
--
-- The lines are sent in the order of their numbers ("text" is 1); gaps
-- are allowed and empty values are skipped.  Give each line its own key:
-- chatd.ini ends a value at a ';' that follows a blank (a comment), a
-- key may appear once per section (an indented continuation line counts
-- as a second time), and a line of chatd.ini holds at most 198 bytes.
-- Without a [plugin.motd] section, or with no text in it, the plugin logs
-- a warning when it loads and sends nothing on join.  A changed message
-- applies on SIGHUP.  In a cluster each server greets the users who join
-- it with its own [plugin.motd]: give every server the same section.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.

local conf = chat.config.plugin.motd

-- The lines of the message, from text, text2, text3, ... in order.
local function motd_lines()
	local keyed = {}
	for key, value in pairs(conf or {}) do
		local n = key:match("^text(%d*)$")
		if n ~= nil and value:match("%S") then
			n = n == "" and 1 or tonumber(n)
			keyed[#keyed + 1] = { n = n, key = key, text = value }
		end
	end
	table.sort(keyed, function(a, b)
		if a.n ~= b.n then
			return a.n < b.n
		end
		return a.key < b.key
	end)
	local lines = {}
	for i, k in ipairs(keyed) do
		lines[i] = "* motd: " .. k.text
	end
	return lines
end

local lines = motd_lines()
if #lines == 0 then
	chat.log("warn", "no [plugin.motd] text configured; " ..
	    "the message of the day is empty")
end

-- Its lines go into the room's welcome (10-room.lua sends them).
chat.on("welcome", function()
	return lines
end)

chat.command {
	name = "motd",
	help = "show the message of the day",
	run = function(user)
		if #lines == 0 then
			user:send("* no message of the day")
		end
		for _, line in ipairs(lines) do
			user:send(line)
		end
	end,
}
