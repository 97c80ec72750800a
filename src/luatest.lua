-- The Lua half of chatd --plugin-test (luatest.c): test cases, the
-- assertions and the helpers on servers and users.  Compiled into chatd;
-- chatd-lua(7) "TESTING PLUGINS" documents what a test file sees.
--
-- The assertions are a small set of plain functions rather than busted's
-- (lua-busted): busted is a runner of its own (its own interpreter,
-- luassert, say and penlight) and cannot drive a server that lives inside
-- chatd, and a test here needs only equality, truth, a pattern and an
-- error.  The names follow busted's where they mean the same.

local C = test			-- the C half: _server, log_level, _methods
local server_methods, user_methods = C._server_methods, C._user_methods
C._server_methods, C._user_methods = nil, nil

local cases = {}
local dir = "."			-- of the test file: plugin paths start here
local running			-- the server of the case being run
local joined = setmetatable({}, { __mode = "k" })	-- server -> users

-- A value as a test failure shows it.
local function show(v, depth)
	depth = depth or 0
	if type(v) == "string" then
		return string.format("%q", v)
	elseif type(v) ~= "table" or depth > 3 then
		return tostring(v)
	end
	local keys = {}
	for k in pairs(v) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b)
		return tostring(a) < tostring(b)
	end)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = (math.type(k) == "integer" and "" or
		    "[" .. show(k) .. "] = ") .. show(v[k], depth + 1)
	end
	return "{ " .. table.concat(parts, ", ") .. " }"
end

local function deepeq(a, b)
	if a == b then return true end
	if type(a) ~= "table" or type(b) ~= "table" then return false end
	for k, v in pairs(a) do
		if not deepeq(v, b[k]) then return false end
	end
	for k in pairs(b) do
		if a[k] == nil then return false end
	end
	return true
end

-- Raise a failure at the test's line: the first caller outside this file.
local function fail(msg, what)
	local level = 2
	while true do
		local info = debug.getinfo(level, "S")
		if info == nil or info.source ~= "=(test prelude)" then
			break
		end
		level = level + 1
	end
	error((what and what .. ": " or "") .. msg, level)
end

-- test.case(name, fn): a test; each runs in order, the failures reported.
function test.case(name, fn)
	assert(type(name) == "string" and type(fn) == "function",
	    "test.case(name, function)")
	cases[#cases + 1] = { name = name, fn = fn }
end

-- test.eq(got, want [, what]): equal (tables: the same keys and values).
function test.eq(got, want, what)
	if not deepeq(got, want) then
		fail("expected " .. show(want) .. ", got " .. show(got), what)
	end
	return got
end

-- test.ok(v [, what]): a true value (neither nil nor false).
function test.ok(v, what)
	if not v then
		fail("expected a true value, got " .. show(v), what)
	end
	return v
end

-- test.match(s, pattern [, what]): s matches the Lua pattern; captures.
function test.match(s, pattern, what)
	local caps = type(s) == "string" and { s:match(pattern) } or {}
	if #caps == 0 then
		fail("expected a match of " .. show(pattern) .. ", got " ..
		    show(s), what)
	end
	return table.unpack(caps)
end

-- test.fails(fn, pattern): fn raises an error matching pattern.
function test.fails(fn, pattern, what)
	local ok, err = pcall(fn)
	if ok then
		fail("expected an error", what)
	end
	if pattern and not tostring(err):find(pattern) then
		fail("expected an error matching " .. show(pattern) ..
		    ", got " .. show(err), what)
	end
	return err
end

local function resolve(p)
	return p:sub(1, 1) == "/" and p or dir .. "/" .. p
end

-- test.server{plugins = {...}, room = true, config = {...}}: a server.
-- plugins: files, relative to the test file's directory; room (default
-- true): the default room (the plugins built into chatd) first; config:
-- {section = {key = value}} over chatd's defaults.
function test.server(opts)
	opts = opts or {}
	local files = {}
	for i, p in ipairs(opts.plugins or {}) do
		files[i] = resolve(p)
	end
	local srv, err = C._server(opts.config or {}, files, opts.room ~= false)
	if srv == nil then
		error("test.server: " .. err, 2)
	end
	running = srv
	joined[srv] = {}
	return srv
end

-- srv:install(file): add a plugin to the server's plugin directory (as an
-- operator links one in); it loads at the next srv:reload().
function server_methods:install(file)
	self:_install(resolve(file))
end

-- srv:join(name): a user that connects and renames itself to name.  The
-- users joined before read its join and rename lines; it reads its
-- welcome and whatever greeting follows.
function server_methods:join(name)
	local u = self:connect()
	local first = u:expect_match("%* welcome (%S+)")
	u:expect_match("%* online %(%d+%): .*")
	u:lines()
	local others = {}
	for _, o in ipairs(joined[self]) do
		if o:name() ~= nil then		-- still in the room
			others[#others + 1] = o
			o:expect("* " .. first .. " joined")
		end
	end
	u:ask("rename|" .. name, "* you are now " .. name)
	for _, o in ipairs(others) do
		o:expect("* " .. first .. " is now " .. name)
	end
	others[#others + 1] = u
	joined[self] = others
	return u
end

-- srv:silent(): none of the joined users still online has a line unread.
function server_methods:silent()
	for _, u in ipairs(joined[self]) do
		u:silent()
	end
end

-- srv:expect_log(pattern): one of the log lines since the last srv:log()
-- or srv:expect_log() matches the Lua pattern (all of them are read).
function server_methods:expect_log(pattern)
	local seen = self:log()
	for i, l in ipairs(seen) do
		if l:find(pattern) then
			return l
		end
	end
	fail("no log line matches " .. show(pattern) .. "; the log had " ..
	    show(seen))
end

local function label(u)
	return u:name() or "a user who left"
end

-- user:send(text): the user sends a line.
function user_methods:send(text)
	return self:write(text .. "\n")
end

-- user:expect(line, ...): the next lines are exactly these.
function user_methods:expect(...)
	for i = 1, select("#", ...) do
		local want = select(i, ...)
		local got = self:line()
		if got ~= want then
			local part = self:partial()
			fail("expected " .. show(want) .. ", got " ..
			    (got and show(got) or "nothing" .. (part ~= "" and
			    " (a partial line " .. show(part) .. ")" or "")),
			    label(self))
		end
	end
end

-- user:expect_match(pattern): the next line matches it whole; captures.
function user_methods:expect_match(pattern)
	local got = self:line()
	local caps = got and { got:match("^" .. pattern .. "$") } or {}
	if #caps == 0 then
		fail("expected a line matching " .. show(pattern) .. ", got " ..
		    (got and show(got) or "nothing"), label(self))
	end
	return table.unpack(caps)
end

-- user:ask(text, line, ...): send text, then expect these lines.
function user_methods:ask(text, ...)
	self:send(text)
	self:expect(...)
end

-- user:lines(): every line not read yet, in a table.
function user_methods:lines()
	local t = {}
	for l in self.line, self do
		t[#t + 1] = l
	end
	return t
end

-- user:silent(): no line unread.
function user_methods:silent()
	local l = self:line()
	if l ~= nil then
		fail("expected nothing, got " .. show(l), label(self))
	end
end

-- user:expect_closed(): chatd has closed the connection; the lines left.
function user_methods:expect_closed()
	if not self:closed() then
		fail("expected the connection closed", label(self))
	end
	return self:lines()
end

-- test._run(file): run a file's cases; prints TAP, returns the failures.
function test._run(file)
	dir = file:match("^(.*)/[^/]*$") or "."
	cases = {}
	local chunk, err = loadfile(file)
	if chunk == nil then
		print("not ok - " .. err)
		return 1
	end
	chunk()
	print("# " .. file)
	if #cases == 0 then
		print("not ok - " .. file .. ": no test.case in it")
		return 1
	end
	local failed = 0
	for i, c in ipairs(cases) do
		running = nil
		local ok, msg = xpcall(c.fn, debug.traceback)
		if running ~= nil then
			running:close()
			running = nil
		end
		collectgarbage()
		if ok then
			print(("ok %d - %s"):format(i, c.name))
		else
			failed = failed + 1
			print(("not ok %d - %s\n# %s"):format(i, c.name,
			    tostring(msg):gsub("\n", "\n# ")))
		end
	end
	print("1.." .. #cases)
	return failed
end
