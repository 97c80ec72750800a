-- msg: private messages between two users.
--
--   msg|<name>|<text>
--
-- The recipient gets       * [<sender> -> you]: <text>
-- and the sender gets      * [you -> <name>]: <text>
-- Nobody else sees anything.  The name is matched as chat.find matches
-- it, so case and compatibility forms do not count ("BOB" reaches bob);
-- the text is everything after the second '|' (it may hold more '|'),
-- without surrounding blanks.
--
-- Errors, to the sender only:
--   ! usage: msg|<name>|<text>      name or text missing or blank (chatd's)
--   ! no such user: <name>          nobody online has that name
--   ! you cannot message yourself   the name is the sender's own
--
-- Private messages are commands, so "line" hooks (such as wordfilter)
-- do not see them.
--
-- In a cluster the name is looked up among the users of every server,
-- and the line goes to the recipient's own server: msg|bob|hi reaches
-- bob wherever he is connected.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

-- s without leading and trailing blanks.
local function trim(s)
	return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

chat.command {
	name = "msg",
	args = 2,
	usage = "<name>|<text>",
	help = "send a private message",
	run = function(user, name, text)
		name, text = trim(name), trim(text)
		local to = chat.find(name)
		if to == nil then
			user:send("! no such user: " .. name)
			return
		end
		if to.id == user.id then
			user:send("! you cannot message yourself")
			return
		end
		to:send("* [" .. user.name .. " -> you]: " .. text)
		user:send("* [you -> " .. to.name .. "]: " .. text)
	end,
}
