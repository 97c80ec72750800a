-- ban: operators keep users out, by name or by address.
--
--   ban|<name>[|<reason>]      (operators only) the name may no longer be
--                              taken, and its user, if online, is sent out
--   ban|<address>[|<reason>]   (operators only) no one may join from the
--                              address (an IPv4 address, or an IPv6 one:
--                              a word with a ':'), and its users online
--                              who are not operators are sent out
--   unban|<name or address>    (operators only) lift a ban
--   bans                       (operators only) list the bans:
--                              * bans (2):
--                              *   address 192.0.2.7 by root: spam
--                              *   name mallory by root
--
-- A banned address is refused before the room is told anything: a join
-- hook of priority 100 (before the room's own, 0) returns chat.refuse,
-- so the user gets, alone,  * you are banned from this room[: <reason>]
-- and is disconnected; no one sees it join or leave.  A user sent out
-- by a new ban is told the same and the room sees it leave ("banned").
-- Taking a banned name is refused with  ! the name <name> is banned
-- (a "command" hook stops the rename; the name is compared as chat.fold
-- compares names).  Every ban and unban is logged.
--
-- The bans are kept (chat.keep): a reload keeps them, and with [lua]
-- state_file in chatd.ini so does a restart; without a state file a
-- restart forgets them.  Each server of a cluster has its own bans.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  Operators come
-- from [operators] in chatd.ini (see oper in chatd(8)).  No config keys.

local kept = chat.keep { bans = {} }	-- key -> { kind, what, by, reason }

local function trim(s)
	return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- "address" for an IPv4 or IPv6 address, else "name".
local function kind_of(word)
	if word:find(":", 1, true) or word:find("^%d+%.%d+%.%d+%.%d+$") then
		return "address"
	end
	return "name"
end

local function key(kind, word)
	return kind == "address" and "a " .. word:lower() or
	    "n " .. chat.fold(word)
end

-- The address a user connected from, without its port.
local function host(user)
	local addr = user.addr or ""
	return addr:match("^%[(.*)%]:%d+$") or addr:match("^(.*):%d+$") or addr
end

local function banned_line(ban)
	return "* you are banned from this room" ..
	    (ban.reason ~= "" and ": " .. ban.reason or "")
end

-- The ban that keeps this user out, if any.
local function ban_of(user)
	return kept.bans[key("address", host(user))] or
	    kept.bans[key("name", user.name)]
end

chat.on("join", function(user)
	local ban = ban_of(user)
	if ban ~= nil then
		chat.log("info", "ban: refused " .. user.addr .. " (" ..
		    ban.kind .. " " .. ban.what .. ")")
		return chat.refuse(banned_line(ban))
	end
end, { priority = 100 })

chat.on("command", function(user, name, wanted)
	if name ~= "rename" or wanted == nil then
		return nil
	end
	wanted = trim(wanted)
	if wanted ~= "" and kept.bans[key("name", wanted)] ~= nil then
		user:send("! the name " .. wanted .. " is banned")
		return chat.stop
	end
end, { priority = 100 })

chat.command {
	name = "ban",
	args = { 1, 2 },
	usage = "<name or address>|<reason>",
	help = "keep a name or an address out of the room (operators only)",
	op = true,
	run = function(user, what, reason)
		what, reason = trim(what), trim(reason or "")
		local kind = kind_of(what)
		local ban = { kind = kind, what = what, by = user.name,
		    reason = reason }
		kept.bans[key(kind, what)] = ban
		chat.log("info", "ban: " .. user.name .. " (operator " ..
		    tostring(user.op) .. ") banned " .. kind .. " " .. what)
		user:send("* banned " .. kind .. " " .. what)
		for _, u in ipairs(chat.users()) do
			if not u.remote and not u.op and ban_of(u) == ban then
				u:send(banned_line(ban))
				u:close("banned")
			end
		end
	end,
}

chat.command {
	name = "unban",
	args = { 1, 1 },
	usage = "<name or address>",
	help = "lift a ban (operators only)",
	op = true,
	run = function(user, what)
		what = trim(what)
		local k = key(kind_of(what), what)
		if kept.bans[k] == nil then
			user:send("! no ban on " .. what)
			return
		end
		kept.bans[k] = nil
		chat.log("info", "ban: " .. user.name .. " lifted the ban on " ..
		    what)
		user:send("* unbanned " .. what)
	end,
}

chat.command {
	name = "bans",
	help = "list the bans (operators only)",
	op = true,
	run = function(user)
		local rows = {}
		for _, b in pairs(kept.bans) do
			rows[#rows + 1] = b
		end
		table.sort(rows, function(a, b)
			if a.kind ~= b.kind then
				return a.kind < b.kind
			end
			return a.what < b.what
		end)
		user:send("* bans (" .. #rows .. "):")
		for _, b in ipairs(rows) do
			user:send("*   " .. b.kind .. " " .. b.what .. " by " ..
			    b.by .. (b.reason ~= "" and ": " .. b.reason or ""))
		end
	end,
}
