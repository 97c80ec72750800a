-- away: mark yourself away; who shows it beside your name.
--
--   away             you are away:          * you are away
--   away|<reason>    with a reason:         * you are away: <reason>
--   back             you are back:          * you are back
--
-- who shows an away user's row as  *   ada (away: lunch)  (or  (away) ),
-- through a "who" hook: the room's who command stays the room's.  Saying
-- something in the room also brings you back (you get "* you are back").
-- Being away is kept across a reload (chat.keep keeps user.data for the
-- users online); it ends when you leave.  Each server knows its own
-- users' marks: in a cluster, who shows the marks of this server's users.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

chat.keep()	-- and so user.data.away survives a reload

local function trim(s)
	return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

chat.on("who", function(u)
	local away = u.data.away
	if away == nil then
		return nil
	end
	return away == "" and "(away)" or "(away: " .. away .. ")"
end)

chat.command {
	name = "away",
	args = { 0, 1 },
	usage = "<reason>",
	help = "mark yourself away (who shows it) until you are back",
	run = function(user, reason)
		reason = trim(reason or "")
		user.data.away = reason
		user:send("* you are away" .. (reason ~= "" and ": " .. reason or ""))
	end,
}

chat.command {
	name = "back",
	help = "you are no longer away",
	run = function(user)
		if user.data.away == nil then
			user:send("* you were not away")
			return
		end
		user.data.away = nil
		user:send("* you are back")
	end,
}

-- Before the room's chat hook (priority 0): "back" comes before the line.
chat.on("chat", function(user)
	if user.data.away ~= nil then
		user.data.away = nil
		user:send("* you are back")
	end
end, { priority = 10 })
