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
		return nil	-- everyone is told the same
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

chat.on("rename", function(user, old, new)
	chat.broadcast("* " .. old .. " is now " .. new, user)
end)
