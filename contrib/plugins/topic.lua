-- topic: the room's topic, the same on every server of a cluster.
--
--   topic            shows it:              * topic: <text>
--                    (or                    * no topic)
--   topic|<text>     sets it; everyone gets * <name> set the topic: <text>
--   topiclock|on     (operators only) from now on only operators set it;
--   topiclock|off    anyone may again.  Everyone is told either way:
--                    * <name> locked the topic   /  * <name> unlocked the topic
--                    A user who is not an operator and tries to set a
--                    locked topic gets  ! the topic is locked (operators only)
--
-- A user who joins gets "* topic: <text>" after the welcome, if there is
-- one.  The text is everything after the first '|', without surrounding
-- blanks; a blank one shows the topic instead of setting it.
--
-- In a cluster ([cluster] in chatd.ini), each server keeps the topic and
-- tells the others when it is set, over chat.publish("topic", ...).  Two
-- users of two servers who set it at the same moment may each see their
-- own notice first, but every server ends with the same topic: each
-- setting carries a Lamport stamp (a counter one past the highest seen,
-- and the server's node id), and the highest stamp wins everywhere.  A
-- server that joins the room (or loads this plugin again, on SIGHUP) asks
-- the others for theirs, so a restarted server knows the topic as soon as
-- its link is up.
--
-- The topic, its stamp and the lock are kept (chat.keep): a reload keeps
-- them, and with [lua] state_file in chatd.ini so does a restart.  The
-- lock is each server's own: an operator locks the topic on the servers
-- where it should be locked (a cluster's operators are each server's).
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

-- current: { text = ..., by = ..., count = n, node = id } or nil;
-- clock: the highest stamp count seen; locked: only operators set it.
local kept = chat.keep { clock = 0, locked = false }

-- s without leading and trailing blanks.
local function trim(s)
	return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function node()
	local c = chat.cluster()
	return c and c.node or ""
end

-- Whether a setting stamped (count, node) is newer than the current one.
local function newer(count, from)
	if kept.current == nil then
		return true
	end
	if count ~= kept.current.count then
		return count > kept.current.count
	end
	return from > kept.current.node
end

-- A setting as one message: "set COUNT NODE BY TEXT".
local function encode(t)
	return string.format("set %d %s %s %s", t.count, t.node, t.by, t.text)
end

local function tell_others()
	if kept.current ~= nil then
		chat.publish("topic", encode(kept.current))
	end
end

chat.subscribe("topic", function(data, from)
	if data == "ask" then		-- a server that joined wants ours
		tell_others()
		return
	end
	local count, origin, by, text = data:match("^set (%d+) (%S+) (%S+) (.*)$")
	count = tonumber(count)
	if count == nil then
		chat.log("warn", "a topic message from " .. from ..
		    " that does not parse")
		return
	end
	if count > kept.clock then
		kept.clock = count
	end
	if newer(count, origin) then
		kept.current = { text = text, by = by, count = count, node = origin }
		chat.log("info", "the topic from " .. from .. ", set by " .. by)
	end
end)

-- A server that (re)joins the room asks; so does a reloaded plugin.
chat.on("link", function(up)
	if up then
		chat.publish("topic", "ask")
	end
end)
chat.publish("topic", "ask")

-- In the room's welcome, after its own lines.
chat.on("welcome", function()
	if kept.current ~= nil then
		return "* topic: " .. kept.current.text
	end
end)

chat.command {
	name = "topic",
	args = { 0, 1 },
	usage = "<text>",
	help = "show or set the room's topic",
	run = function(user, args)
		local text = trim(args or "")
		if text == "" then
			if kept.current == nil then
				user:send("* no topic")
			else
				user:send("* topic: " .. kept.current.text)
			end
			return
		end
		if kept.locked and not user.op then
			user:send("! the topic is locked (operators only)")
			return
		end
		kept.clock = kept.clock + 1
		kept.current = { text = text, by = user.name, count = kept.clock,
		    node = node() }
		chat.broadcast("* " .. user.name .. " set the topic: " .. text)
		tell_others()
	end,
}

chat.command {
	name = "topiclock",
	args = { 1, 1 },
	usage = "on|off",
	help = "let only operators set the topic, or anyone (operators only)",
	op = true,
	run = function(user, how)
		how = trim(how)
		if how ~= "on" and how ~= "off" then
			user:send("! usage: topiclock|on|off")
			return
		end
		kept.locked = how == "on"
		chat.broadcast("* " .. user.name .. (kept.locked and " locked" or
		    " unlocked") .. " the topic")
	end,
}
