/*
 * Lua patterns on a budget: string.find, match, gmatch and gsub for the
 * sandbox, with the semantics of Lua 5.4's own but a matcher that counts
 * its steps.  Lua's matcher backtracks without bound, and a single call
 * of it cannot be interrupted by the count hook: ("a"):rep(28):find(
 * ("a-"):rep(14) .. "b") runs for an estimated 28 minutes.  This one hands
 * its steps, every PATTERN_CHUNK of them, to a spend function (script.c's
 * charges them to the call's instruction and time budgets), which raises
 * an error when the budget is gone.  tests/fuzz/fuzz_pattern.c checks it
 * against Lua's own functions.
 *
 * The matcher is Lua 5.4.4's lstrlib.c, "PATTERN MATCHING", with the step
 * count added:
 *
 * Copyright (C) 1994-2022 Lua.org, PUC-Rio.
 *
 * Permission is hereby granted, free of charge, to any person obtaining
 * a copy of this software and associated documentation files (the
 * "Software"), to deal in the Software without restriction, including
 * without limitation the rights to use, copy, modify, merge, publish,
 * distribute, sublicense, and/or sell copies of the Software, and to
 * permit persons to whom the Software is furnished to do so, subject to
 * the following conditions:
 *
 * The above copyright notice and this permission notice shall be
 * included in all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
 * EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
 * MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
 * IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
 * CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
 * TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
 * SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */

#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "script.h"

#define PATTERN_CAPTURES	32	/* LUA_MAXCAPTURES */
#define PATTERN_DEPTH		200	/* MAXCCALLS: recursion of match() */
#define PATTERN_CHUNK		1024	/* steps between calls of spend */
#define CAP_UNFINISHED		(-1)
#define CAP_POSITION		(-2)
#define L_ESC			'%'
#define SPECIALS		"^$*+?.([%-"

#define uchar(c)	((unsigned char)(c))

struct match_state {
	const char	*src_init;	/* the subject */
	const char	*src_end;	/* its end */
	const char	*p_end;		/* the pattern's end */
	lua_State	*L;
	const struct pattern_ops *ops;
	int		 depth;		/* recursion left */
	int		 steps;		/* left until spend is called */
	unsigned char	 level;		/* captures, finished or not */
	struct {
		const char	*init;
		ptrdiff_t	 len;
	} capture[PATTERN_CAPTURES];
};

static const char *match(struct match_state *, const char *, const char *);

/* One step of the matcher: every PATTERN_CHUNK, hand them to spend. */
static inline void
step(struct match_state *ms)
{
	if (--ms->steps <= 0) {
		ms->ops->spend(ms->L, PATTERN_CHUNK);
		ms->steps = PATTERN_CHUNK;
	}
}

/* Hand over the steps counted since the last chunk. */
static void
spend_rest(struct match_state *ms)
{
	if (ms->steps < PATTERN_CHUNK)
		ms->ops->spend(ms->L, PATTERN_CHUNK - ms->steps);
	ms->steps = PATTERN_CHUNK;
}

static int
check_capture(struct match_state *ms, int l)
{
	l -= '1';
	if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
		return (luaL_error(ms->L, "invalid capture index %%%d", l + 1));
	return (l);
}

static int
capture_to_close(struct match_state *ms)
{
	int	level = ms->level;

	for (level--; level >= 0; level--) {
		if (ms->capture[level].len == CAP_UNFINISHED)
			return (level);
	}
	return (luaL_error(ms->L, "invalid pattern capture"));
}

static const char *
classend(struct match_state *ms, const char *p)
{
	switch (*p++) {
	case L_ESC:
		if (p == ms->p_end)
			luaL_error(ms->L, "malformed pattern (ends with '%%')");
		return (p + 1);
	case '[':
		if (*p == '^')
			p++;
		do {	/* look for a ']' */
			if (p == ms->p_end)
				luaL_error(ms->L,
				    "malformed pattern (missing ']')");
			if (*(p++) == L_ESC && p < ms->p_end)
				p++;	/* skip escapes (e.g. '%]') */
		} while (*p != ']');
		return (p + 1);
	default:
		return (p);
	}
}

static int
match_class(int c, int cl)
{
	int	res;

	switch (tolower(cl)) {
	case 'a': res = isalpha(c); break;
	case 'c': res = iscntrl(c); break;
	case 'd': res = isdigit(c); break;
	case 'g': res = isgraph(c); break;
	case 'l': res = islower(c); break;
	case 'p': res = ispunct(c); break;
	case 's': res = isspace(c); break;
	case 'u': res = isupper(c); break;
	case 'w': res = isalnum(c); break;
	case 'x': res = isxdigit(c); break;
	case 'z': res = (c == 0); break;	/* deprecated option */
	default: return (cl == c);
	}
	return (islower(cl) ? res : !res);
}

static int
matchbracketclass(int c, const char *p, const char *ec)
{
	int	sig = 1;

	if (*(p + 1) == '^') {
		sig = 0;
		p++;	/* skip the '^' */
	}
	while (++p < ec) {
		if (*p == L_ESC) {
			p++;
			if (match_class(c, uchar(*p)))
				return (sig);
		} else if (*(p + 1) == '-' && p + 2 < ec) {
			p += 2;
			if (uchar(*(p - 2)) <= c && c <= uchar(*p))
				return (sig);
		} else if (uchar(*p) == c)
			return (sig);
	}
	return (!sig);
}

static int
singlematch(struct match_state *ms, const char *s, const char *p,
    const char *ep)
{
	int	c;

	if (s >= ms->src_end)
		return (0);
	c = uchar(*s);
	switch (*p) {
	case '.':
		return (1);	/* matches any char */
	case L_ESC:
		return (match_class(c, uchar(*(p + 1))));
	case '[':
		return (matchbracketclass(c, p, ep - 1));
	default:
		return (uchar(*p) == c);
	}
}

static const char *
matchbalance(struct match_state *ms, const char *s, const char *p)
{
	int	b, e, cont = 1;

	if (p >= ms->p_end - 1)
		luaL_error(ms->L,
		    "malformed pattern (missing arguments to '%%b')");
	if (*s != *p)		/* (a Lua string ends in '\0') */
		return (NULL);
	b = *p;
	e = *(p + 1);
	while (++s < ms->src_end) {
		step(ms);
		if (*s == e) {
			if (--cont == 0)
				return (s + 1);
		} else if (*s == b)
			cont++;
	}
	return (NULL);	/* string ends out of balance */
}

static const char *
max_expand(struct match_state *ms, const char *s, const char *p,
    const char *ep)
{
	const char	*res;
	ptrdiff_t	 i = 0;	/* counts maximum expand for item */

	while (singlematch(ms, s + i, p, ep)) {
		step(ms);
		i++;
	}
	/* keeps trying to match with the maximum repetitions */
	while (i >= 0) {
		if ((res = match(ms, s + i, ep + 1)) != NULL)
			return (res);
		i--;	/* else didn't match; reduce 1 repetition */
	}
	return (NULL);
}

static const char *
min_expand(struct match_state *ms, const char *s, const char *p,
    const char *ep)
{
	const char	*res;

	for (;;) {
		if ((res = match(ms, s, ep + 1)) != NULL)
			return (res);
		else if (singlematch(ms, s, p, ep))
			s++;	/* try with one more repetition */
		else
			return (NULL);
	}
}

static const char *
start_capture(struct match_state *ms, const char *s, const char *p,
    int what)
{
	const char	*res;
	int		 level = ms->level;

	if (level >= PATTERN_CAPTURES)
		luaL_error(ms->L, "too many captures");
	ms->capture[level].init = s;
	ms->capture[level].len = what;
	ms->level = (unsigned char)(level + 1);
	if ((res = match(ms, s, p)) == NULL)	/* match failed? */
		ms->level--;	/* undo capture */
	return (res);
}

static const char *
end_capture(struct match_state *ms, const char *s, const char *p)
{
	int		 l = capture_to_close(ms);
	const char	*res;

	ms->capture[l].len = s - ms->capture[l].init;	/* close capture */
	if ((res = match(ms, s, p)) == NULL)	/* match failed? */
		ms->capture[l].len = CAP_UNFINISHED;	/* undo capture */
	return (res);
}

static const char *
match_capture(struct match_state *ms, const char *s, int l)
{
	size_t	len;

	l = check_capture(ms, l);
	len = (size_t)ms->capture[l].len;
	if ((size_t)(ms->src_end - s) >= len &&
	    memcmp(ms->capture[l].init, s, len) == 0)
		return (s + len);
	return (NULL);
}

static const char *
match(struct match_state *ms, const char *s, const char *p)
{
	const char	*ep, *res;
	char		 previous;

	if (ms->depth-- == 0)
		luaL_error(ms->L, "pattern too complex");
init:	/* using goto's to optimize tail recursion */
	step(ms);
	if (p != ms->p_end) {	/* end of pattern? */
		switch (*p) {
		case '(':	/* start capture */
			if (*(p + 1) == ')')	/* position capture? */
				s = start_capture(ms, s, p + 2, CAP_POSITION);
			else
				s = start_capture(ms, s, p + 1,
				    CAP_UNFINISHED);
			break;
		case ')':	/* end capture */
			s = end_capture(ms, s, p + 1);
			break;
		case '$':
			if (p + 1 != ms->p_end)	/* not the last char? */
				goto dflt;
			s = (s == ms->src_end) ? s : NULL;
			break;
		case L_ESC:	/* escapes not in the format class[*+?-]? */
			switch (*(p + 1)) {
			case 'b':	/* balanced string? */
				s = matchbalance(ms, s, p + 2);
				if (s != NULL) {
					p += 4;
					goto init;
				}
				break;
			case 'f':	/* frontier? */
				p += 2;
				if (*p != '[')
					luaL_error(ms->L, "missing '[' after "
					    "'%%f' in pattern");
				ep = classend(ms, p);	/* what is next */
				previous = (s == ms->src_init) ? '\0' :
				    *(s - 1);
				if (!matchbracketclass(uchar(previous), p,
				    ep - 1) && matchbracketclass(uchar(*s), p,
				    ep - 1)) {
					p = ep;
					goto init;
				}
				s = NULL;	/* match failed */
				break;
			case '0': case '1': case '2': case '3':
			case '4': case '5': case '6': case '7':
			case '8': case '9':	/* capture results (%0-%9)? */
				s = match_capture(ms, s, uchar(*(p + 1)));
				if (s != NULL) {
					p += 2;
					goto init;
				}
				break;
			default:
				goto dflt;
			}
			break;
		default:
		dflt:	/* pattern class plus optional suffix */
			ep = classend(ms, p);	/* points to optional suffix */
			/* does not match at least once? */
			if (!singlematch(ms, s, p, ep)) {
				if (*ep == '*' || *ep == '?' || *ep == '-') {
					p = ep + 1;	/* accept empty */
					goto init;
				}
				s = NULL;	/* '+' or no suffix: fail */
				break;
			}
			switch (*ep) {	/* matched once: the suffix */
			case '?':	/* optional */
				if ((res = match(ms, s + 1, ep + 1)) != NULL)
					s = res;
				else {
					p = ep + 1;
					goto init;
				}
				break;
			case '+':	/* 1 or more repetitions */
				s++;	/* 1 match already done */
				/* FALLTHROUGH */
			case '*':	/* 0 or more repetitions */
				s = max_expand(ms, s, p, ep);
				break;
			case '-':	/* 0 or more repetitions (minimum) */
				s = min_expand(ms, s, p, ep);
				break;
			default:	/* no suffix */
				s++;
				p = ep;
				goto init;
			}
			break;
		}
	}
	ms->depth++;
	return (s);
}

static const char *
lmemfind(const char *s1, size_t l1, const char *s2, size_t l2)
{
	const char	*init;

	if (l2 == 0)
		return (s1);	/* empty strings are everywhere */
	if (l2 > l1)
		return (NULL);
	l2--;		/* 1st char will be checked by memchr */
	l1 = l1 - l2;	/* s2 cannot be found after that */
	while (l1 > 0 && (init = memchr(s1, *s2, l1)) != NULL) {
		init++;	/* 1st char is already checked */
		if (memcmp(init, s2 + 1, l2) == 0)
			return (init - 1);
		l1 -= (size_t)(init - s1);
		s1 = init;
	}
	return (NULL);
}

/*
 * The i-th capture: its length, with its address in *cap; or, for a
 * position, CAP_POSITION with the position pushed.  With no captures, i 0
 * is the whole match s..e.
 */
static ptrdiff_t
get_onecapture(struct match_state *ms, int i, const char *s, const char *e,
    const char **cap)
{
	ptrdiff_t	capl;

	if (i >= ms->level) {
		if (i != 0)
			luaL_error(ms->L, "invalid capture index %%%d", i + 1);
		*cap = s;
		return (e - s);
	}
	capl = ms->capture[i].len;
	*cap = ms->capture[i].init;
	if (capl == CAP_UNFINISHED)
		luaL_error(ms->L, "unfinished capture");
	else if (capl == CAP_POSITION)
		lua_pushinteger(ms->L,
		    (ms->capture[i].init - ms->src_init) + 1);
	return (capl);
}

static void
push_onecapture(struct match_state *ms, int i, const char *s, const char *e)
{
	const char	*cap;
	ptrdiff_t	 l = get_onecapture(ms, i, s, e, &cap);

	if (l != CAP_POSITION)
		lua_pushlstring(ms->L, cap, (size_t)l);
}

static int
push_captures(struct match_state *ms, const char *s, const char *e)
{
	int	i, nlevels = (ms->level == 0 && s) ? 1 : ms->level;

	luaL_checkstack(ms->L, nlevels, "too many captures");
	for (i = 0; i < nlevels; i++)
		push_onecapture(ms, i, s, e);
	return (nlevels);
}

/* Whether a pattern has no special characters. */
static int
nospecials(const char *p, size_t l)
{
	size_t	upto = 0;

	do {
		if (strpbrk(p + upto, SPECIALS))
			return (0);
		upto += strlen(p + upto) + 1;	/* may have more after \0 */
	} while (upto <= l);
	return (1);
}

static void
prepstate(struct match_state *ms, lua_State *L, const char *s, size_t ls,
    const char *p, size_t lp)
{
	ms->L = L;
	ms->ops = lua_touserdata(L, lua_upvalueindex(1));
	ms->depth = PATTERN_DEPTH;
	ms->steps = PATTERN_CHUNK;
	ms->src_init = s;
	ms->src_end = s + ls;
	ms->p_end = p + lp;
}

static void
reprepstate(struct match_state *ms)
{
	ms->level = 0;
}

/* An initial position (negative: back from the end), from 1. */
static size_t
posrelat(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return ((size_t)pos);
	else if (pos == 0)
		return (1);
	else if (pos < -(lua_Integer)len)
		return (1);
	return (len + (size_t)pos + 1);
}

static int
str_find_aux(lua_State *L, int find)
{
	struct match_state	 ms;
	size_t			 ls, lp, init;
	const char		*s = luaL_checklstring(L, 1, &ls);
	const char		*p = luaL_checklstring(L, 2, &lp);
	const char		*s1, *s2, *res;
	int			 anchor;

	init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
	if (init > ls) {	/* start after the string's end? */
		luaL_pushfail(L);
		return (1);
	}
	/* explicit request or no special characters? */
	if (find && (lua_toboolean(L, 4) || nospecials(p, lp))) {
		if ((s2 = lmemfind(s + init, ls - init, p, lp)) != NULL) {
			lua_pushinteger(L, (s2 - s) + 1);
			lua_pushinteger(L, (lua_Integer)((size_t)(s2 - s) +
			    lp));
			return (2);
		}
		luaL_pushfail(L);
		return (1);
	}
	s1 = s + init;
	if ((anchor = (*p == '^'))) {
		p++;
		lp--;
	}
	prepstate(&ms, L, s, ls, p, lp);
	do {
		reprepstate(&ms);
		if ((res = match(&ms, s1, p)) != NULL) {
			spend_rest(&ms);
			if (find) {
				lua_pushinteger(L, (s1 - s) + 1);
				lua_pushinteger(L, res - s);
				return (push_captures(&ms, NULL, 0) + 2);
			}
			return (push_captures(&ms, s1, res));
		}
	} while (s1++ < ms.src_end && !anchor);
	spend_rest(&ms);
	luaL_pushfail(L);
	return (1);
}

/* string.find(s, pattern [, init [, plain]]) */
static int
str_find(lua_State *L)
{
	return (str_find_aux(L, 1));
}

/* string.match(s, pattern [, init]) */
static int
str_match(lua_State *L)
{
	return (str_find_aux(L, 0));
}

struct gmatch_state {
	const char		*src;		/* current position */
	const char		*p;		/* pattern */
	const char		*lastmatch;	/* end of last match */
	struct match_state	 ms;
};

static int
gmatch_aux(lua_State *L)
{
	struct gmatch_state	*gm = lua_touserdata(L, lua_upvalueindex(3));
	const char		*src, *e;

	gm->ms.L = L;
	for (src = gm->src; src <= gm->ms.src_end; src++) {
		reprepstate(&gm->ms);
		if ((e = match(&gm->ms, src, gm->p)) != NULL &&
		    e != gm->lastmatch) {
			gm->src = gm->lastmatch = e;
			spend_rest(&gm->ms);
			return (push_captures(&gm->ms, src, e));
		}
	}
	spend_rest(&gm->ms);
	return (0);
}

/* string.gmatch(s, pattern [, init]) */
static int
str_gmatch(lua_State *L)
{
	struct gmatch_state	*gm;
	size_t			 ls, lp, init;
	const char		*s = luaL_checklstring(L, 1, &ls);
	const char		*p = luaL_checklstring(L, 2, &lp);

	init = posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
	lua_settop(L, 2);	/* the strings stay alive in the closure */
	gm = lua_newuserdatauv(L, sizeof *gm, 0);
	if (init > ls)
		init = ls + 1;
	prepstate(&gm->ms, L, s, ls, p, lp);
	gm->src = s + init;
	gm->p = p;
	gm->lastmatch = NULL;
	lua_pushcclosure(L, gmatch_aux, 3);	/* ms.ops is kept in gm */
	return (1);
}

static void
add_s(struct match_state *ms, luaL_Buffer *b, const char *s, const char *e)
{
	lua_State	*L = ms->L;
	const char	*news, *p, *cap;
	size_t		 l;
	ptrdiff_t	 resl;

	news = lua_tolstring(L, 3, &l);
	while ((p = memchr(news, L_ESC, l)) != NULL) {
		luaL_addlstring(b, news, (size_t)(p - news));
		p++;	/* skip ESC */
		if (*p == L_ESC)	/* '%%' */
			luaL_addchar(b, *p);
		else if (*p == '0')	/* '%0' */
			luaL_addlstring(b, s, (size_t)(e - s));
		else if (isdigit(uchar(*p))) {	/* '%n' */
			resl = get_onecapture(ms, *p - '1', s, e, &cap);
			if (resl == CAP_POSITION)
				luaL_addvalue(b);
			else
				luaL_addlstring(b, cap, (size_t)resl);
		} else
			luaL_error(L, "invalid use of '%c' in replacement "
			    "string", L_ESC);
		l -= (size_t)(p + 1 - news);
		news = p + 1;
	}
	luaL_addlstring(b, news, l);
}

/*
 * Add the replacement to b.  Returns whether the subject changed: a
 * function or table giving nil or false keeps the original text.
 */
static int
add_value(struct match_state *ms, luaL_Buffer *b, const char *s,
    const char *e, int tr)
{
	lua_State	*L = ms->L;
	int		 n;

	switch (tr) {
	case LUA_TFUNCTION:
		lua_pushvalue(L, 3);
		n = push_captures(ms, s, e);
		lua_call(L, n, 1);
		break;
	case LUA_TTABLE:
		push_onecapture(ms, 0, s, e);
		lua_gettable(L, 3);
		break;
	default:	/* LUA_TNUMBER or LUA_TSTRING */
		add_s(ms, b, s, e);
		return (1);
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
		return (0);
	}
	if (!lua_isstring(L, -1))
		return (luaL_error(L, "invalid replacement value (a %s)",
		    luaL_typename(L, -1)));
	luaL_addvalue(b);
	return (1);
}

/* string.gsub(s, pattern, repl [, n]) */
static int
str_gsub(lua_State *L)
{
	struct match_state	 ms;
	luaL_Buffer		 b;
	size_t			 srcl, lp;
	const char		*src = luaL_checklstring(L, 1, &srcl);
	const char		*p = luaL_checklstring(L, 2, &lp);
	const char		*lastmatch = NULL, *e;
	int			 tr = lua_type(L, 3), anchor, changed = 0;
	lua_Integer		 max_s, n = 0;

	max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
	luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING ||
	    tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
	    "string/function/table");
	luaL_buffinit(L, &b);
	if ((anchor = (*p == '^'))) {
		p++;
		lp--;
	}
	prepstate(&ms, L, src, srcl, p, lp);
	while (n < max_s) {
		reprepstate(&ms);
		if ((e = match(&ms, src, p)) != NULL && e != lastmatch) {
			n++;
			spend_rest(&ms);	/* add_value may call Lua */
			changed = add_value(&ms, &b, src, e, tr) | changed;
			src = lastmatch = e;
		} else if (src < ms.src_end)	/* skip one character */
			luaL_addchar(&b, *src++);
		else
			break;
		if (anchor)
			break;
	}
	spend_rest(&ms);
	if (!changed)
		lua_pushvalue(L, 1);
	else {
		luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return (2);
}

/*
 * Set find, match, gmatch and gsub in the table at idx (the string
 * library), each spending its steps through ops, which must outlive the
 * state.
 */
void
pattern_open(lua_State *L, int idx, const struct pattern_ops *ops)
{
	static const luaL_Reg funcs[] = {
		{ "find", str_find },
		{ "match", str_match },
		{ "gmatch", str_gmatch },
		{ "gsub", str_gsub },
		{ NULL, NULL }
	};

	idx = lua_absindex(L, idx);
	lua_pushvalue(L, idx);
	lua_pushlightuserdata(L, (void *)ops);
	luaL_setfuncs(L, funcs, 1);
	lua_pop(L, 1);
}
