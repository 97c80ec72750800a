-- The default commands: who, rename, exit (or quit) and help.
-- Each is an entry (see chatd-lua(7)): chatd counts its arguments and
-- answers "! usage: ..." itself; a command that takes none ignores any.

-- Addresses are shown only with [server] show_addresses: a public room
-- should not hand every user's address to anyone who asks.
chat.command {
	name = "who",
	help = "list the users online",
	run = function(user)
		local users = chat.users()
		local addrs = chat.config.server.show_addresses
		user:send("* online (" .. #users .. "):")
		for _, u in ipairs(users) do
			user:send("*   " .. u.name .. (addrs and " " .. u.addr or ""))
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
