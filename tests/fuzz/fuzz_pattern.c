/*
 * fuzz_pattern.c - libFuzzer target for pattern.c: a differential test
 * against Lua's own string.find, match, gmatch and gsub.
 *
 * Input: one byte choosing the call, one signed byte for init (or gsub's
 * n), one byte for the pattern's length, then the pattern and the
 * subject.  The sandbox's function runs first, on a step budget; if it
 * stays within it, Lua's runs too (it does the same work, so it ends as
 * quickly), and both must give the same results or the same error.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#define FUZZ_STEPS	200000	/* a match's budget, then it is skipped */

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static long	fuzz_used;

/* The budget: one match (of any number of calls) may take FUZZ_STEPS. */
static void
fuzz_spend(lua_State *L, int steps)
{
	fuzz_used += steps;
	if (fuzz_used > FUZZ_STEPS)
		luaL_error(L, "fuzz: out of steps");
}

static const struct pattern_ops fuzz_ops = { fuzz_spend };

/*
 * Runs one case with each library and compares: (real, mine, op, s, p,
 * init).  Returns "same", "skip" (the budget ran out) or what differed.
 */
static const char fuzz_compare[] =
	"local real, mine, op, s, p, init = ...\n"
	"local function show(t)\n"
	"  local out = {}\n"
	"  for i = 1, t.n do out[i] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
	"  return table.concat(out, ',')\n"
	"end\n"
	"local function run(lib)\n"
	"  return show(table.pack(pcall(function()\n"
	"    if op == 0 then return lib.find(s, p, init)\n"
	"    elseif op == 1 then return lib.match(s, p, init)\n"
	"    elseif op == 2 then return lib.find(s, p, init, true)\n"
	"    elseif op == 3 then\n"
	"      local out, n = {}, 0\n"
	"      for a, b, c in lib.gmatch(s, p, init) do\n"
	"        n = n + 1\n"
	"        out[n] = tostring(a) .. '|' .. tostring(b) .. '|' ..\n"
	"            tostring(c)\n"
	"        if n == 50 then break end\n"
	"      end\n"
	"      return table.concat(out, ';')\n"
	"    elseif op == 4 then return lib.gsub(s, p, '<%0>')\n"
	"    elseif op == 5 then return lib.gsub(s, p, '%1%2', init % 8)\n"
	"    elseif op == 6 then\n"
	"      return lib.gsub(s, p, function(...)\n"
	"        return select('#', ...) .. tostring((...))\n"
	"      end)\n"
	"    else return lib.gsub(s, p, {a = 'A', [1] = 'one'}) end\n"
	"  end)))\n"
	"end\n"
	"local b = run(mine)\n"
	"if b:find('fuzz: out of steps', 1, true) then return 'skip' end\n"
	"local a = run(real)\n"
	"if a == b then return 'same' end\n"
	"return 'lua: ' .. a .. '\\nours: ' .. b\n";

static lua_State *
fuzz_state(void)
{
	static lua_State	*L;

	if (L != NULL)
		return (L);
	if ((L = luaL_newstate()) == NULL)
		abort();
	luaL_openlibs(L);
	lua_getglobal(L, "string");		/* real, kept */
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.real");
	lua_newtable(L);
	pattern_open(L, -1, &fuzz_ops);
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.mine");
	if (luaL_loadbufferx(L, fuzz_compare, sizeof fuzz_compare - 1,
	    "=compare", "t") != LUA_OK)
		abort();
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.compare");
	return (L);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State	*L = fuzz_state();
	const char	*res;
	size_t		 plen;

	if (size < 3)
		return (0);
	plen = data[2];
	if (plen > size - 3)
		plen = size - 3;
	fuzz_used = 0;
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.compare");
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.real");
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.mine");
	lua_pushinteger(L, data[0] % 8);
	lua_pushlstring(L, (const char *)data + 3 + plen, size - 3 - plen);
	lua_pushlstring(L, (const char *)data + 3, plen);
	lua_pushinteger(L, (int8_t)data[1]);
	if (lua_pcall(L, 6, 1, 0) != LUA_OK) {
		fprintf(stderr, "fuzz_pattern: %s\n", lua_tostring(L, -1));
		abort();
	}
	res = lua_tostring(L, -1);
	if (strcmp(res, "same") != 0 && strcmp(res, "skip") != 0) {
		fprintf(stderr, "fuzz_pattern: results differ\n%s\n", res);
		abort();
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCSTEP, 0);
	return (0);
}
