-- The room: what everyone sees when people come, talk and go.
-- chatd's default behaviour, written with the same public API as any
-- operator's plugin (see chatd-lua(7)).

local room = chat.config.room

-- "a, b, c and 37 more": the first names of a list of n, and a count of
-- the rest, so that the line stays short in a room of any size.
local function some_names(names, n)
	local line = table.concat(names, ", ")
	if n > #names then
		line = line .. (#names > 0 and " and " or "") .. (n - #names) ..
		    " more"
	end
	return line
end

-- The newcomer's line of who is online: everyone, in the order they
-- joined, where the room has at most online_names users; else the first
-- online_names of them, a count of the others, and where to find them.
local function online_line()
	local n = chat.count()
	local names = chat.names(room.online_names)
	local line = "* online (" .. n .. "): " .. some_names(names, n)
	if n > #names then
		line = line .. "; type who to list them"
	end
	return line
end

-- A big room (more than gather_above users) hears of joins and leaves
-- gathered: one line per kind per gather_interval, such as "* 37 joined:
-- ada, bob and 35 more", so that a crowd at the door costs everyone a
-- line a second, not a line a newcomer.  A smaller room hears of each.
local gathered = {}	-- kind -> { n = count, names = {...} }, in order
local kinds = {}	-- the kinds gathered, in the order they first came
local flush_timer

local function flush()
	flush_timer = nil
	for _, kind in ipairs(kinds) do
		local g = gathered[kind]
		local line = "* " .. g.n .. " " .. kind
		if #g.names > 0 then
			line = line .. ": " .. some_names(g.names, g.n)
		end
		chat.broadcast(line)
		gathered[kind] = nil
	end
	kinds = {}
end

local function gather(kind, name)
	local g = gathered[kind]
	if g == nil then
		g = { n = 0, names = {} }
		gathered[kind] = g
		kinds[#kinds + 1] = kind
	end
	g.n = g.n + 1
	if #g.names < room.online_names then
		g.names[#g.names + 1] = name
	end
	if flush_timer == nil then
		flush_timer = chat.timer(room.gather_interval, flush)
	end
end

local function big()
	return chat.count() > room.gather_above
end

-- The welcome: the room's two lines, then what the plugins' "welcome"
-- hooks add (a topic, a message of the day, the last lines said), in
-- their order (chatd-lua(7)), before the room is told of the newcomer.
chat.on("join", function(user)
	user:send("* welcome " .. user.name)
	user:send(online_line())
	for _, line in ipairs(chat.collect("welcome", user)) do
		user:send(line)
	end
	if big() then
		gather("joined", user.name)
	else
		chat.broadcast("* " .. user.name .. " joined", user)
	end
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
	if what == nil then
		return
	end
	-- A server shutting down has no next interval to tell it in.
	if big() and reason ~= "shutdown" then
		gather(what:sub(2), user.name)
	else
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
		    chat.count() .. " online")
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
