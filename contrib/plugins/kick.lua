-- kick: an operator sends a user out of the room.
--
--   kick|<name>[|<reason>]
--
-- Only operators may run it (op = true in its entry: chatd refuses it to
-- others with "! kick: for operators only ..."; see oper in chatd(8)).
-- The user is told "* you were kicked by <operator>[: <reason>]" and
-- disconnected; the room then sees the usual leave line, with the reason
-- "kicked".  The name is matched as chat.find matches it.
--
-- Errors, to the operator only:
--   ! usage: kick|<name>|<reason>   name missing or blank (chatd's)
--   ! no such user: <name>          nobody online has that name
--   ! you cannot kick yourself      (exit does that)
--   ! <name> is on another server   in a cluster: kick there
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

local function trim(s)
	return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

chat.command {
	name = "kick",
	args = { 1, 2 },
	usage = "<name>|<reason>",
	help = "disconnect a user (operators only)",
	op = true,
	run = function(user, name, reason)
		name, reason = trim(name), trim(reason or "")
		local who = chat.find(name)
		if who == nil then
			user:send("! no such user: " .. name)
			return
		end
		if who.id == user.id then
			user:send("! you cannot kick yourself")
			return
		end
		if who.remote then
			user:send("! " .. who.name .. " is on another server")
			return
		end
		local whom = who.name
		who:send("* you were kicked by " .. user.name ..
		    (reason ~= "" and ": " .. reason or ""))
		who:close("kicked")
		user:send("* kicked " .. whom)
		chat.log("info", user.name .. " (operator " .. user.op ..
		    ") kicked " .. whom .. (reason ~= "" and ": " .. reason or ""))
	end,
}
