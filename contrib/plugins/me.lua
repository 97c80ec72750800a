-- me: actions, as in IRC.
--
--   me|<action>
--
-- tells everyone, the sender included:   * [<name>] <action>
-- The action is everything after the first '|', without surrounding
-- blanks; for a missing or blank one chatd answers "! usage: me|<action>".
--
-- The name is in brackets, as msg.lua's "* [alice -> you]: ...": a line
-- "* <name> <words>" is the server's (a join, a rename, a leave), and
-- "me|joined" must not print "* alice joined".  No name holds a bracket,
-- so no notice starts "* [".
--
-- Actions are commands, so "line" hooks (such as wordfilter) do not see
-- them.  In a cluster the action reaches the users of every server.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

chat.command {
	name = "me",
	args = 1,
	usage = "<action>",
	help = "tell the room what you are doing",
	run = function(user, action)
		action = action:gsub("^%s+", ""):gsub("%s+$", "")
		chat.broadcast("* [" .. user.name .. "] " .. action)
	end,
}
