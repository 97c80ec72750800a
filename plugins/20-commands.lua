-- The default commands: who, rename, exit (or quit) and help.
-- Each is an entry (see chatd-lua(7)): chatd counts its arguments and
-- answers "! usage: ..." itself; a command that takes none ignores any.

-- who: one row per user.  A room of at most who_page users gets them
-- all, in the order they joined; a bigger one, or a prefix, gets a page
-- at a time in the order of the names: "who|ad" lists the names that
-- start with "ad", "who||3" the third page of everyone, "who|ad|2" the
-- second page of the names starting with "ad".  Addresses are shown
-- only with [server] show_addresses: a public room should not hand every
-- user's address to anyone who asks.
local room = chat.config.room

local function trim(s)
	return s and s:match("^%s*(.-)%s*$") or ""
end

-- One row of who: the name, the address if shown, then what the plugins'
-- "who" hooks say of the user ("(away: lunch)"), space-separated.
local function row(u, addrs)
	local marks = chat.collect("who", u)
	return "*   " .. u.name .. (addrs and " " .. u.addr or "") ..
	    (#marks > 0 and " " .. table.concat(marks, " ") or "")
end

chat.command {
	name = "who",
	args = { 0, 2 },
	usage = "[<prefix>[|<page>]]",
	help = "list the users online (a page at a time in a big room), " ..
	    "or those whose names start with <prefix>",
	run = function(user, prefix, page)
		local n = chat.count()
		local addrs = chat.config.server.show_addresses
		local per = room.who_page
		prefix, page = trim(prefix), trim(page)
		if prefix == "" and page == "" and n <= per then
			local users = chat.users()
			user:send("* online (" .. #users .. "):")
			for _, u in ipairs(users) do
				user:send(row(u, addrs))
			end
			return
		end
		local p = 1
		if page ~= "" then
			p = math.tointeger(tonumber(page))
			if p == nil or p < 1 then
				user:send("! the page is a number from 1")
				return
			end
		end
		local users, total = chat.prefix(prefix, per, (p - 1) * per)
		local pages = math.max(1, (total + per - 1) // per)
		if p > pages then
			user:send("! there " .. (pages == 1 and "is 1 page" or
			    "are " .. pages .. " pages"))
			return
		end
		local what = prefix == "" and "" or
		    " " .. total .. " start with \"" .. prefix .. "\";"
		user:send("* online (" .. n .. "):" .. what .. " page " .. p ..
		    " of " .. pages .. " by name" ..
		    (pages > 1 and "; who|" .. prefix .. "|" ..
		    (p < pages and p + 1 or 1) .. " for the " ..
		    (p < pages and "next" or "first") or ""))
		for _, u in ipairs(users) do
			user:send(row(u, addrs))
		end
	end,
}

-- "rename" alone is a rename to the empty name, which the name rules
-- refuse with their own message.
chat.command {
	name = "rename",
	args = { 0, 1 },
	usage = "<name>",
	help = "choose a new name",
	run = function(user, name)
		local ok, err = user:rename(name or "")
		if ok then
			user:send("* you are now " .. user.name)
		else
			user:send("! " .. err)
		end
	end,
}

chat.command {
	name = "exit",
	aliases = { "quit" },
	help = "leave the room",
	run = function(user)
		user:send("* bye")
		user:close("quit")
	end,
}

-- oper|<name>|<password>: become the operator <name> of [operators]
-- (chatd checks the password against its crypt hash, limits attempts
-- per address and logs each one).  An operator may run the commands
-- whose entry says op = true, until they leave.
chat.command {
	name = "oper",
	args = 2,
	usage = "<name>|<password>",
	help = "become an operator",
	run = function(user, name, password)
		local ok, err = user:oper(name, password)
		if ok then
			user:send("* you are now operator " .. user.op)
		else
			user:send("! oper: " .. err)
		end
	end,
}

-- One line per name, aliases included, sorted: "rename|<name>: ...".
local function help_line(name, c)
	if c.usage == nil then	-- the short form: its help says it all
		return c.help ~= "" and c.help or name
	end
	local line = name
	if c.usage ~= "" then
		line = line .. "|" .. c.usage
	end
	if c.help ~= "" then
		line = line .. ": " .. c.help
	end
	return line
end

chat.command {
	name = "help",
	help = "list the commands",
	run = function(user)
		local lines = {}
		for _, c in ipairs(chat.commands()) do
			lines[#lines + 1] = { c.name, help_line(c.name, c) }
			for _, alias in ipairs(c.aliases) do
				lines[#lines + 1] = { alias, help_line(alias, c) }
			end
		end
		table.sort(lines, function(a, b) return a[1] < b[1] end)
		user:send("* commands:")
		for _, l in ipairs(lines) do
			user:send("*   " .. l[2])
		end
	end,
}
