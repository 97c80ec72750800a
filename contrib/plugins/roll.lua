-- roll: roll dice for the room to see, at most once per cooldown.
--
--   roll             one six-sided die:     * ada rolls 1d6: 4
--   roll|<N>d<M>     N dice of M sides:     * ada rolls 2d6: 3 + 5 = 8
--                    (N from 1 to 10, M from 2 to 1000)
--
-- Everyone sees the roll.  A user who rolls again within the cooldown is
-- told, alone,  ! roll: wait <s> s  and nothing is rolled.  The cooldown
-- is each user's and survives a reload (chat.keep keeps user.data); it
-- ends when the user leaves.
--
-- Config, in chatd.ini (optional):
--
--   [plugin.roll]
--   cooldown = 10       ; seconds between two rolls of one user, 0 to 3600
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.

local conf = chat.config.plugin.roll or {}
local cooldown = tonumber(conf.cooldown or 10)
if cooldown == nil or cooldown < 0 or cooldown > 3600 then
	error("[plugin.roll] cooldown must be a number of seconds from 0 to " ..
	    "3600, not '" .. tostring(conf.cooldown) .. "'")
end

chat.keep()	-- and so user.data.rolled survives a reload

chat.command {
	name = "roll",
	args = { 0, 1 },
	usage = "<N>d<M>",
	help = "roll dice for the room (roll|2d6)",
	run = function(user, spec)
		spec = (spec or ""):gsub("%s", "")
		if spec == "" then
			spec = "1d6"
		end
		local n, m = spec:match("^(%d+)[dD](%d+)$")
		n, m = tonumber(n), tonumber(m)
		if n == nil or n < 1 or n > 10 or m < 2 or m > 1000 then
			user:send("! roll: <N>d<M>, N from 1 to 10, M from 2 to 1000")
			return
		end
		local now = chat.now()
		local last = user.data.rolled
		if last ~= nil and now - last < cooldown then
			user:send("! roll: wait " .. math.ceil(cooldown -
			    (now - last)) .. " s")
			return
		end
		user.data.rolled = now
		local dice, sum = {}, 0
		for i = 1, n do
			dice[i] = math.random(m)
			sum = sum + dice[i]
		end
		local shown = table.concat(dice, " + ")
		if n > 1 then
			shown = shown .. " = " .. sum
		end
		chat.broadcast("* " .. user.name .. " rolls " .. n .. "d" .. m ..
		    ": " .. shown)
	end,
}
