-- The default commands: who, rename, exit, quit and help.
-- Commands ignore arguments they do not take: "who|x" is "who".

chat.command("who", "who: list the users online and their addresses",
	function(user)
		local users = chat.users()
		user:send("* online (" .. #users .. "):")
		for _, u in ipairs(users) do
			user:send("*   " .. u.name .. " " .. u.addr)
		end
	end)

chat.command("rename", "rename|<name>: choose a new name",
	function(user, name)
		local ok, err = user:rename(name or "")
		if ok then
			user:send("* you are now " .. user.name)
		else
			user:send("! " .. err)
		end
	end)

local function bye(user)
	user:send("* bye")
	user:close("quit")
end
chat.command("exit", "exit: leave the room", bye)
chat.command("quit", "quit: leave the room", bye)

chat.command("help", "help: list the commands", function(user)
	user:send("* commands:")
	for _, c in ipairs(chat.commands()) do
		user:send("*   " .. (c.help ~= "" and c.help or c.name))
	end
end)
