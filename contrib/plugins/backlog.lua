-- backlog: a newcomer is shown the last lines said in the room.
--
-- After the room's welcome, a user who joins gets, if anything was said:
--
--   * backlog (3 lines):
--   *   [ada]: hello
--   *   [bob]: hi ada
--   *   [ada]: anyone seen the release notes?
--
-- Only chat lines are kept (what the room shows as "[name]: text", as
-- the "chat" hooks see it: after wordfilter and other "line" hooks);
-- notices and commands are not.  The lines are kept (chat.keep): a
-- reload keeps them, and with [lua] state_file in chatd.ini a restart
-- too.  In a cluster each server keeps the lines its own users said and
-- the ones other servers' users said (both reach the "chat" hooks), so
-- every server shows much the same backlog; a server that restarts
-- without a state file starts with none.
--
-- Config, in chatd.ini (optional):
--
--   [plugin.backlog]
--   lines = 20          ; how many lines to keep and show, 1 to 200
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.

local conf = chat.config.plugin.backlog or {}
local max = math.tointeger(tonumber(conf.lines or 20))
if max == nil or max < 1 or max > 200 then
	error("[plugin.backlog] lines must be a whole number from 1 to 200, " ..
	    "not '" .. tostring(conf.lines) .. "'")
end

local kept = chat.keep { lines = {} }
local lines = kept.lines

-- After a reload with a smaller [plugin.backlog] lines, show the newest.
while #lines > max do
	table.remove(lines, 1)
end

-- Last, so that it sees the line as it was said.
chat.on("chat", function(user, text)
	lines[#lines + 1] = "[" .. user.name .. "]: " .. text
	if #lines > max then
		table.remove(lines, 1)
	end
end, { priority = -100 })

chat.on("welcome", function()
	if #lines == 0 then
		return nil
	end
	local out = { "* backlog (" .. #lines ..
	    (#lines == 1 and " line):" or " lines):") }
	for i, line in ipairs(lines) do
		out[i + 1] = "*   " .. line
	end
	return out
end, { priority = -100 })
