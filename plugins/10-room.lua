-- The room: what everyone sees when people come, talk and go.
-- chatd's default behaviour, written with the same public API as any
-- operator's plugin (see chatd-lua(7)).

-- One line listing everyone online, newest last.
local function online_line()
	local names = chat.names()
	return "* online (" .. #names .. "): " .. table.concat(names, ", ")
end

chat.on("join", function(user)
	user:send("* welcome " .. user.name)
	user:send(online_line())
	chat.broadcast("* " .. user.name .. " joined", user)
end)

-- What the others are told, by the reason a user left.
local farewell = {
	timeout = function(user)
		user:send("* idle timeout, bye")
		return " timed out"
	end,
	slow = function()
		return " dropped (too slow)"
	end,
	shutdown = function(user)
		user:send("* server shutting down")
		-- This server's users are all leaving too, and a broadcast
		-- skips those on their way out: only the users of the other
		-- servers of a cluster hear this.
		return " left (server shutting down)"
	end,
	lost = function()	-- the user's server stopped answering
		return " left (server lost)"
	end,
	-- A new chatd binary takes over (SIGUSR2), and this user's
	-- connection cannot move to it (TLS): it is closed.
	upgrade = function(user)
		user:send("* server upgrading; please reconnect")
		return " left (server upgrade; reconnect)"
	end,
}

chat.on("leave", function(user, reason)
	local f = farewell[reason]
	local what = " left"
	if f then
		what = f(user)
	end
	if what then
		chat.broadcast("* " .. user.name .. what, user)
	end
end)

chat.on("chat", function(user, text)
	chat.broadcast("[" .. user.name .. "]: " .. text)
end)

chat.on("rename", function(user, old, new, why)
	chat.broadcast("* " .. old .. " is now " .. new, user)
	if why == "taken" then	-- in a cluster: another server's user has it
		user:send("* the name " .. old .. " is taken on another " ..
		    "server; you are now " .. new)
	end
end)

-- In a cluster: this server lost its link to the others, or has it back.
-- Only this server's users are told: the others did not notice.
chat.on("link", function(up)
	if up then
		chat.local_broadcast("* connected to the other servers: " ..
		    #chat.names() .. " online")
	else
		chat.local_broadcast("* lost the link to the other servers; " ..
		    "you see only the users of this server")
	end
end)

-- This server's process was replaced by a new binary without dropping
-- anyone (SIGUSR2, see chatd(8) "Upgrading"): one line says so.
chat.on("upgrade", function(from, to)
	chat.local_broadcast("* server upgraded to chatd " .. to)
end)
