-- me: actions, as in IRC.
--
--   me|<action>
--
-- tells everyone, the sender included:   * <name> <action>
-- The action is everything after the first '|', without surrounding
-- blanks; a missing or blank one gets "! usage: me|<action>".
--
-- Actions are commands, so "line" hooks (such as wordfilter) do not see
-- them.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

chat.command("me", "me|<action>: tell the room what you are doing",
	function(user, args)
		local action = (args or ""):gsub("^%s+", ""):gsub("%s+$", "")
		if action == "" then
			user:send("! usage: me|<action>")
			return
		end
		chat.broadcast("* " .. user.name .. " " .. action)
	end)
