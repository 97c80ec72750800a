-- topic: the room's topic, the same on every server of a cluster.
--
--   topic            shows it:              * topic: <text>
--                    (or                    * no topic)
--   topic|<text>     sets it; everyone gets * <name> set the topic: <text>
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
-- its link is up.  On a server alone the topic is lost on a reload, like
-- any plugin's state.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  No config keys.

local current = nil	-- { text = ..., by = ..., count = n, node = id }
local clock = 0		-- the highest stamp count seen

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
	if current == nil then
		return true
	end
	if count ~= current.count then
		return count > current.count
	end
	return from > current.node
end

-- A setting as one message: "set COUNT NODE BY TEXT".
local function encode(t)
	return string.format("set %d %s %s %s", t.count, t.node, t.by, t.text)
end

local function tell_others()
	if current ~= nil then
		chat.publish("topic", encode(current))
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
	if count > clock then
		clock = count
	end
	if newer(count, origin) then
		current = { text = text, by = by, count = count, node = origin }
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

chat.on("join", function(user)
	if current ~= nil then
		user:send("* topic: " .. current.text)
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
			if current == nil then
				user:send("* no topic")
			else
				user:send("* topic: " .. current.text)
			end
			return
		end
		clock = clock + 1
		current = { text = text, by = user.name, count = clock,
		    node = node() }
		chat.broadcast("* " .. user.name .. " set the topic: " .. text)
		tell_others()
	end,
}
