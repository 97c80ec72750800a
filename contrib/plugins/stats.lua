-- stats: a few counters of the running server.
--
--   stats
--
-- answers, to the asker only:
--
--   * uptime <d>d <h>h <m>m <s>s     since chatd started (whole seconds)
--   * users <n>                      users online now, as "who" counts them
--   * messages <n>                   chat messages since the plugins loaded
--   * connections <n>                connections accepted since chatd started
--
-- "messages" is counted by this plugin's "chat" hook: lines that reached
-- the room as chat, after every "line" hook (a line a filter drops is not
-- counted; commands, private messages and actions are not chat).  The
-- count starts again at 0 when a SIGHUP reloads the plugins.  Uptime and
-- connections come from chat.stats() and survive reloads.
--
-- In a cluster "users" counts the users of every server, as "who" does;
-- uptime, messages and connections are the answering server's own.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

local messages = 0

chat.on("chat", function()
	messages = messages + 1
end)

-- "1d 2h 3m 4s" for a number of seconds.
local function duration(secs)
	secs = math.floor(secs)
	return string.format("%dd %dh %dm %ds", secs // 86400,
	    secs % 86400 // 3600, secs % 3600 // 60, secs % 60)
end

chat.command {
	name = "stats",
	help = "show the server's uptime and counters",
	run = function(user)
		local s = chat.stats()
		user:send("* uptime " .. duration(s.uptime))
		user:send("* users " .. #chat.users())
		user:send("* messages " .. messages)
		user:send("* connections " .. s.connections)
	end,
}
