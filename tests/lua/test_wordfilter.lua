-- contrib/plugins/wordfilter.lua: masking or dropping words in chat.

local WF = "../../contrib/plugins/wordfilter.lua"

local function words(list, action, more)
	local config = more or {}
	config["plugin.wordfilter"] = { words = list, action = action }
	return config
end

local function server(config)
	return test.server{ plugins = { WF }, config = config }
end

-- sender says text; every user in users gets [sender]: want.
local function says(users, sender, text, want)
	sender:send(text)
	for _, u in ipairs(users) do
		u:expect("[" .. sender:name() .. "]: " .. want)
	end
end

test.case("the plugin loads with and without its section", function()
	for _, config in ipairs{ {}, words("heck"), words("heck", "drop"),
	    words("heck", "Mask") } do
		server(config):close()
	end
end)

test.case("an action other than mask or drop is refused", function()
	test.fails(function() server(words("heck", "Kick")) end,
	    "wordfilter%.lua:%d+: %[plugin%.wordfilter%] action must be " ..
	    "mask or drop, not 'Kick'")
end)

test.case("mask: any case, whole words only, same length", function()
	local srv = server(words(" heck ,DARN,, frak"))
	local alice, bob = srv:join("alice"), srv:join("bob")
	local all = { alice, bob }
	says(all, alice, "Heck, that darn thing. heckle, DaRn!",
	    "****, that **** thing. heckle, ****!")
	says(all, alice, "heck", "****")
	-- Letters and digits join words; "_" does not.
	says(all, alice, "frakking heck_ xheck 2heck heck2",
	    "frakking ****_ xheck 2heck heck2")
	says(all, alice, "nothing to see", "nothing to see")
	srv:silent()
end)

test.case("lookalikes and invisibles do not hide a word", function()
	-- Words are compared by fold: a zero-width space, a Cyrillic
	-- letter, fullwidth letters or a capital I for l change nothing.
	local srv = server(words("heck, hell"))
	local alice, bob = srv:join("alice"), srv:join("bob")
	for _, w in ipairs{ "he\u{200b}ck", "h\u{435}ck",
	    "\u{ff48}\u{ff45}\u{ff43}\u{ff4b}", "heII" } do
		says({ alice, bob }, alice, "oh " .. w .. " there",
		    "oh " .. ("*"):rep(utf8.len(w)) .. " there")
	end
	says({ alice, bob }, alice, "oh he\u{2060}ck! there",
	    "oh *****! there")
	says({ alice, bob }, alice, "heckle hello", "heckle hello")
	srv:silent()
end)

test.case("a lookalike is dropped too", function()
	local srv = server(words("heck", "drop"))
	local alice, bob = srv:join("alice"), srv:join("bob")
	alice:ask("h\u{435}ck", "! message blocked")
	says({ alice, bob }, alice, "fine", "fine")
	srv:silent()
end)

test.case("non-ASCII words, one asterisk per character", function()
	local srv = server(words("café, heck"))
	local alice = srv:join("alice")
	says({ alice }, alice, "un café noir", "un **** noir")
	says({ alice }, alice, "cafés éheck hecké", "cafés éheck hecké")
end)

test.case("punctuation in words; pattern characters are literal", function()
	local srv = server(words("f-word, 100%, a.b"))
	local alice = srv:join("alice")
	says({ alice }, alice, "the f-word!", "the ******!")
	says({ alice }, alice, "it is 100% true", "it is **** true")
	says({ alice }, alice, "axb a.b", "axb ***")
end)

test.case("overlapping words", function()
	local srv = server(words("heck, oh heck"))
	local alice = srv:join("alice")
	says({ alice }, alice, "oh heck no", "******* no")
end)

test.case("several words keys", function()
	local srv = server{ ["plugin.wordfilter"] = { words = "heck",
	    words2 = "darn, heck", words10 = "frak",
	    wordsmith = "not, a, list" } }
	local alice = srv:join("alice")
	says({ alice }, alice, "heck darn frak not a list",
	    "**** **** **** not a list")
end)

test.case("a long line with many matches", function()
	local list = {}
	for i = 0, 29 do list[#list + 1] = "w" .. i end
	list[#list + 1] = "a"
	local srv = server(words(table.concat(list, ", "), nil,
	    { buffers = { max_line = 8192 } }))
	local alice = srv:join("alice")
	says({ alice }, alice, ("a w29 "):rep(1000):sub(1, -2),
	    ("* *** "):rep(1000):sub(1, -2))
	for _, l in ipairs(srv:log()) do
		test.ok(not l:find("error"), l)
	end
end)

test.case("drop, whatever the case of the action", function()
	local srv = server(words("heck, darn", "DROP"))
	local alice, bob = srv:join("alice"), srv:join("bob")
	alice:ask("what the HECK", "! message blocked")
	bob:silent()
	says({ alice, bob }, alice, "heckle is fine", "heckle is fine")
end)

test.case("without words everything passes, and the log says so", function()
	local srv = server()
	srv:expect_log("^warn: lua: %S*/wordfilter%.lua:%d+: no " ..
	    "%[plugin%.wordfilter%] words configured")
	local alice = srv:join("alice")
	says({ alice }, alice, "heck darn", "heck darn")
end)

test.case("commands are not filtered", function()
	local srv = server(words("heck"))
	srv:join("alice"):ask("rename|heck", "* you are now heck")
end)
