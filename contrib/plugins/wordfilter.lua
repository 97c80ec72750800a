-- wordfilter: hide or block words in chat.
--
-- A "line" hook that looks for the configured words in every chat line,
-- ignoring case, as whole words only ("heck" matches "Heck!" but not
-- "heckle").  By default each match becomes as many asterisks as it has
-- characters and the room gets the filtered line: "[bob]: oh **** it".
-- With action = drop a line with any match is not sent at all, and its
-- sender is told "! message blocked".
--
-- Config, in chatd.ini:
--
--   [plugin.wordfilter]
--   words = darn, heck, frak     ; comma separated; blanks around are ignored
--   words2 = gorram, smeg        ; more lists: words2, words3, ...
--   action = mask                ; mask (the default) or drop
--
-- Every key named "words" followed by nothing or a number adds its list:
-- a line of chatd.ini holds at most 198 bytes, so long lists need several.
-- A word may hold blanks ("oh heck") and is then matched as a phrase.
--
-- There is no built-in list: with no words the plugin logs a warning when
-- it loads and lets every line through.  An action other than mask or
-- drop is an error, so "chatd -t" and a SIGHUP reload refuse it.
--
-- A word is a run of letters, digits and non-ASCII characters.  A word
-- to filter made of such characters only is compared with each word of
-- the line by their folds (chat.fold: the NFKC case fold and the UTS #39
-- confusable skeleton, as names are compared), so neither case, width,
-- a zero-width character inside ("he\u{200B}ck") nor a look-alike letter
-- ("hеck" with a Cyrillic е) hides it; the fold is coarse, so "heil"
-- matches "hell" (i and l fold alike).  A word to filter may hold other
-- characters too ("f-word", "100%", or blanks: a phrase); it is then
-- matched on the line's bytes, ignoring the case of ASCII letters, and its
-- edges are checked only where it starts or ends with a letter or digit.
-- Case is ignored for ASCII letters only in the action.
-- Only chat lines pass through "line" hooks: commands such as msg and me
-- are not filtered.
--
-- In a cluster a line is filtered on its sender's server, before it
-- leaves for the others: give every server the same [plugin.wordfilter],
-- or the lines of a server without it reach everyone unfiltered.
--
-- Enable: copy or symlink this file from the plugins-available directory
-- into the [lua] path directory and send chatd SIGHUP.  Plugins whose
-- "line" hooks must see the filtered text need names that sort after
-- "wordfilter.lua".

local conf = chat.config.plugin.wordfilter or {}
local action = (conf.action or "mask"):lower()

if action ~= "mask" and action ~= "drop" then
	error("[plugin.wordfilter] action must be mask or drop, not '" ..
	    conf.action .. "'")
end

-- Bytes that make up a word: ASCII letters and digits, and every byte of
-- a non-ASCII UTF-8 character.
local WORD = "%w\128-\255"

-- The pattern that matches word whole in lowercased text.
local function pattern(word)
	local p = word:gsub("%p", "%%%0")
	if word:find("^[" .. WORD .. "]") then
		p = "%f[" .. WORD .. "]" .. p
	end
	if word:find("[" .. WORD .. "]$") then
		p = p .. "%f[^" .. WORD .. "]"
	end
	return p
end

-- For each distinct word of words, words2, words3, ...: its fold when it
-- is one word, a pattern otherwise.
local patterns, folds, nfolds, seen = {}, {}, 0, {}
for key, list in pairs(conf) do
	if key:find("^words%d*$") then
		for word in list:gmatch("[^,]+") do
			word = word:gsub("^%s+", ""):gsub("%s+$", ""):lower()
			local fold = word:find("^[" .. WORD .. "]+$") and
			    chat.fold(word)
			if word == "" or seen[word] then
				-- nothing new
			elseif fold then
				folds[fold] = true
				nfolds = nfolds + 1
			else
				patterns[#patterns + 1] = pattern(word)
			end
			seen[word] = true
		end
	end
end

if #patterns == 0 and nfolds == 0 then
	chat.log("warn", "no [plugin.wordfilter] words " ..
	    "configured; nothing is filtered")
end

-- The byte ranges of text that match a word, sorted and merged.
local function matches(text)
	local lower, found = text:lower(), {}
	if nfolds > 0 then
		for s, w, e in text:gmatch("()([" .. WORD .. "]+)()") do
			if folds[chat.fold(w) or ""] then
				found[#found + 1] = { s, e - 1 }
			end
		end
	end
	for _, p in ipairs(patterns) do
		local init = 1
		while true do
			local s, e = lower:find(p, init)
			if s == nil then
				break
			end
			found[#found + 1] = { s, e }
			init = e + 1
		end
	end
	table.sort(found, function(a, b) return a[1] < b[1] end)
	local merged = {}
	for _, r in ipairs(found) do
		local last = merged[#merged]
		if last ~= nil and r[1] <= last[2] + 1 then
			if r[2] > last[2] then
				last[2] = r[2]
			end
		else
			merged[#merged + 1] = { r[1], r[2] }
		end
	end
	return merged
end

-- text with every range replaced by one '*' per character.
local function mask(text, ranges)
	local out, pos = {}, 1
	for _, r in ipairs(ranges) do
		local word = text:sub(r[1], r[2])
		out[#out + 1] = text:sub(pos, r[1] - 1)
		out[#out + 1] = string.rep("*", utf8.len(word) or #word)
		pos = r[2] + 1
	end
	out[#out + 1] = text:sub(pos)
	return table.concat(out)
end

chat.on("line", function(user, text)
	if #patterns == 0 and nfolds == 0 then
		return nil
	end
	local ranges = matches(text)
	if #ranges == 0 then
		return nil
	end
	if action == "drop" then
		user:send("! message blocked")
		return true
	end
	return mask(text, ranges)
end)
