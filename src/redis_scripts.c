/*
 * The Lua scripts Redis runs for a cluster's presence (doc/cluster.md,
 * "Keys").  Each change to a room's keys is one script, so the change and
 * the message that announces it are one atomic step: a server that reads
 * the keys sees exactly the changes announced up to the node's pseq.
 *
 * Every script starts with the same prologue.  KEYS are the room's
 * nodes, inc, pseq and names keys; ARGV[1] is the prefix of its keys,
 * ARGV[2] its channel, ARGV[3] this node, ARGV[4] its incarnation; what
 * follows is each script's own.  A user's record in users:NODE is
 * "JOINED_MS<TAB>ADDR<TAB>NAME<TAB>FOLDED" (clmsg_parse_record() reads
 * it), and a name's owner in names is "NODE UID".  Scripts that change a
 * node's users first check that the node is still this incarnation, and
 * answer {'gone'} if it is not (it was reaped while cut off).
 */

#include "config.h"

#include "chatd.h"

#define PROLOGUE \
	"local nodes, incs, pseqs, names = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n" \
	"local prefix, channel, me, inc = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n" \
	"local function now_ms()\n" \
	"  local t = redis.call('TIME')\n" \
	"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"end\n" \
	"local function users(node) return prefix .. 'users:' .. node end\n" \
	"local function fold_of(rec)\n" \
	"  return string.match(rec, '^[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t(.*)$')\n" \
	"end\n" \
	"-- free a name if this user of this node still holds it\n" \
	"local function release(node, uid, fold)\n" \
	"  if fold and redis.call('HGET', names, fold) == node .. ' ' .. uid then\n" \
	"    redis.call('HDEL', names, fold)\n" \
	"  end\n" \
	"end\n" \
	"-- remove a node and all it holds: its incarnation and users\n" \
	"local function remove_node(node)\n" \
	"  local old = redis.call('HGET', incs, node) or ''\n" \
	"  local list = redis.call('HGETALL', users(node))\n" \
	"  for i = 1, #list, 2 do release(node, list[i], fold_of(list[i + 1])) end\n" \
	"  redis.call('DEL', users(node))\n" \
	"  redis.call('ZREM', nodes, node)\n" \
	"  redis.call('HDEL', incs, node)\n" \
	"  redis.call('HDEL', pseqs, node)\n" \
	"  return old, list\n" \
	"end\n" \
	"-- append a removed node to a reply: node, inc, count, uid, rec, ...\n" \
	"local function add_lost(out, node, old, list)\n" \
	"  out[#out + 1] = node\n" \
	"  out[#out + 1] = old\n" \
	"  out[#out + 1] = tostring(#list / 2)\n" \
	"  for i = 1, #list do out[#out + 1] = list[i] end\n" \
	"end\n" \
	"-- a name for owner: true if it is (now) theirs\n" \
	"local function claim(fold, owner)\n" \
	"  if redis.call('HSETNX', names, fold, owner) == 1 then return true end\n" \
	"  return redis.call('HGET', names, fold) == owner\n" \
	"end\n" \
	"-- a default name (its own fold), else NAME#2, NAME#3, ...\n" \
	"local function claim_default(name, owner)\n" \
	"  if claim(name, owner) then return name end\n" \
	"  for n = 2, 1000 do\n" \
	"    if claim(name .. '#' .. n, owner) then return name .. '#' .. n end\n" \
	"  end\n" \
	"  return nil\n" \
	"end\n" \
	"local function record(joined, addr, name, fold)\n" \
	"  return joined .. '\\t' .. addr .. '\\t' .. name .. '\\t' .. fold\n" \
	"end\n" \
	"local function mine() return redis.call('HGET', incs, me) == inc end\n"

/*
 * A node's score in nodes is its lease: when it is lost unless it beats
 * again, its last heartbeat plus its own node_timeout (Redis's clock,
 * ms).  Each server's own node_timeout decides when it is lost, so
 * servers configured differently (a reload on one of them first, say)
 * never reap one another early.
 *
 * hello: ARGV[5] node_timeout in ms.  Join the room as this incarnation.
 * Another incarnation of the same node id whose lease still runs may be
 * a second server with this id: {'busy', ms until it runs out}.  One
 * whose lease ran out is this id's previous process: it is removed, and
 * returned for its users' leave notices: {'ok', node, inc, count, uid,
 * rec, ...}.
 */
static const char rs_hello[] = PROLOGUE
	"local timeout = tonumber(ARGV[5])\n"
	"local now = now_ms()\n"
	"local cur = redis.call('HGET', incs, me)\n"
	"local out = {'ok'}\n"
	"if cur and cur ~= inc then\n"
	"  local lease = tonumber(redis.call('ZSCORE', nodes, me) or '0')\n"
	"  if now <= lease then\n"
	"    return {'busy', tostring(lease - now)}\n"
	"  end\n"
	"  local old, list = remove_node(me)\n"
	"  add_lost(out, me, old, list)\n"
	"end\n"
	"redis.call('HSET', incs, me, inc)\n"
	"redis.call('ZADD', nodes, now + timeout, me)\n"
	"return out\n";

/*
 * heartbeat: ARGV[5] node_timeout in ms.  Renew this node's lease, and if
 * its previous one had not run out (it has been alive all along, and
 * Redis has not stalled), remove every node whose lease has: {'ok', then
 * per removed node: node, inc, count, uid, rec, ...}.
 */
static const char rs_heartbeat[] = PROLOGUE
	"if not mine() then return {'gone'} end\n"
	"local timeout = tonumber(ARGV[5])\n"
	"local now = now_ms()\n"
	"local prev = tonumber(redis.call('ZSCORE', nodes, me) or '0')\n"
	"redis.call('ZADD', nodes, now + timeout, me)\n"
	"local out = {'ok'}\n"
	"if now > prev then return out end\n"
	"local dead = redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. now)\n"
	"for _, node in ipairs(dead) do\n"
	"  if node ~= me then\n"
	"    local old, list = remove_node(node)\n"
	"    add_lost(out, node, old, list)\n"
	"  end\n"
	"end\n"
	"return out\n";

/*
 * join: ARGV[5] seq, [6] uid, [7] joined, [8] addr, [9] name, [10] its
 * fold, [11] the user's default name, [12] the message without its name.
 * Claim the name, or else the default name (with a #N if need be), store
 * the user and announce it: {'ok', uid, the name it got}.
 */
static const char rs_join[] = PROLOGUE
	"if not mine() then return {'gone'} end\n"
	"local uid, name, fold, default = ARGV[6], ARGV[9], ARGV[10], ARGV[11]\n"
	"local owner = me .. ' ' .. uid\n"
	"if not claim(fold, owner) then\n"
	"  name = claim_default(default, owner)\n"
	"  if not name then return {'full'} end\n"
	"  fold = name\n"
	"end\n"
	"redis.call('HSET', users(me), uid, record(ARGV[7], ARGV[8], name, fold))\n"
	"redis.call('HSET', pseqs, me, ARGV[5])\n"
	"redis.call('PUBLISH', channel, ARGV[12] .. name)\n"
	"return {'ok', uid, name}\n";

/*
 * leave: ARGV[5] seq, [6] uid, [7] the fold of its name, [8] the
 * message.  Remove the user, free its name (and the one Redis has for it,
 * should a rename have been claimed just before), announce it.
 */
static const char rs_leave[] = PROLOGUE
	"if not mine() then return {'gone'} end\n"
	"local rec = redis.call('HGET', users(me), ARGV[6])\n"
	"if rec then release(me, ARGV[6], fold_of(rec)) end\n"
	"redis.call('HDEL', users(me), ARGV[6])\n"
	"release(me, ARGV[6], ARGV[7])\n"
	"redis.call('HSET', pseqs, me, ARGV[5])\n"
	"redis.call('PUBLISH', channel, ARGV[8])\n"
	"return {'ok'}\n";

/*
 * rename: ARGV[5] seq, [6] uid, [7] the old fold, [8] joined, [9] addr,
 * [10] the new name, [11] its fold, [12] the message, [13] a filler
 * message with the same sequence number.  Claim the new name (unless it
 * folds as the old one), free the old, store, announce: {'ok'}.  If the
 * name is taken the filler is published instead: {'taken'}; if the user
 * is no longer stored (it left, or was never announced), {'absent'}.
 */
static const char rs_rename[] = PROLOGUE
	"if not mine() then return {'gone'} end\n"
	"local uid, oldfold, fold = ARGV[6], ARGV[7], ARGV[11]\n"
	"if redis.call('HEXISTS', users(me), uid) == 0 then\n"
	"  redis.call('PUBLISH', channel, ARGV[13])\n"
	"  return {'absent'}\n"
	"end\n"
	"if fold ~= oldfold then\n"
	"  if not claim(fold, me .. ' ' .. uid) then\n"
	"    redis.call('PUBLISH', channel, ARGV[13])\n"
	"    return {'taken'}\n"
	"  end\n"
	"  release(me, uid, oldfold)\n"
	"end\n"
	"redis.call('HSET', users(me), uid, record(ARGV[8], ARGV[9], ARGV[10], fold))\n"
	"redis.call('HSET', pseqs, me, ARGV[5])\n"
	"redis.call('PUBLISH', channel, ARGV[12])\n"
	"return {'ok'}\n";

/*
 * resync: ARGV[5] seq, [6] the message, [7] the number of users, then
 * for each: uid, joined, addr, name, fold, default name.  Make this
 * node's users exactly these, in one step: users no longer here are
 * removed and their names freed, every name is claimed (a chosen name
 * someone else took meanwhile falls back to the default name).  Answers
 * {'ok', uid, name, ...} for the users whose name is not the one asked.
 */
static const char rs_resync[] = PROLOGUE
	"if not mine() then return {'gone'} end\n"
	"local n, base, key = tonumber(ARGV[7]), 8, users(me)\n"
	"local keep = {}\n"
	"for i = 0, n - 1 do keep[ARGV[base + 6 * i]] = true end\n"
	"local list = redis.call('HGETALL', key)\n"
	"for i = 1, #list, 2 do\n"
	"  if not keep[list[i]] then\n"
	"    release(me, list[i], fold_of(list[i + 1]))\n"
	"    redis.call('HDEL', key, list[i])\n"
	"  end\n"
	"end\n"
	"local out = {'ok'}\n"
	"for i = 0, n - 1 do\n"
	"  local b = base + 6 * i\n"
	"  local uid, name, fold = ARGV[b], ARGV[b + 3], ARGV[b + 4]\n"
	"  local owner = me .. ' ' .. uid\n"
	"  local old = redis.call('HGET', key, uid)\n"
	"  local got, gotfold = name, fold\n"
	"  if not claim(fold, owner) then\n"
	"    got = claim_default(ARGV[b + 5], owner)\n"
	"    gotfold = got\n"
	"  end\n"
	"  if old and fold_of(old) ~= gotfold then release(me, uid, fold_of(old)) end\n"
	"  if got then\n"
	"    redis.call('HSET', key, uid, record(ARGV[b + 1], ARGV[b + 2], got, gotfold))\n"
	"  else\n"
	"    redis.call('HDEL', key, uid)\n"
	"    got = ''\n"
	"  end\n"
	"  if got ~= name then\n"
	"    out[#out + 1] = uid\n"
	"    out[#out + 1] = got\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', pseqs, me, ARGV[5])\n"
	"redis.call('PUBLISH', channel, ARGV[6])\n"
	"return out\n";

/*
 * snapshot: ARGV[5] a node, or '' for every node.  Per node: node, inc,
 * pseq, count, then uid, rec for each of its users.
 */
static const char rs_snapshot[] = PROLOGUE
	"local list = {ARGV[5]}\n"
	"if ARGV[5] == '' then list = redis.call('ZRANGE', nodes, 0, -1) end\n"
	"local out = {}\n"
	"for _, node in ipairs(list) do\n"
	"  local i = redis.call('HGET', incs, node)\n"
	"  if i then\n"
	"    local u = redis.call('HGETALL', users(node))\n"
	"    out[#out + 1] = node\n"
	"    out[#out + 1] = i\n"
	"    out[#out + 1] = redis.call('HGET', pseqs, node) or '0'\n"
	"    out[#out + 1] = tostring(#u / 2)\n"
	"    for j = 1, #u do out[#out + 1] = u[j] end\n"
	"  end\n"
	"end\n"
	"return out\n";

/* bye: ARGV[5] the message.  Leave the room: remove this node. */
static const char rs_bye[] = PROLOGUE
	"if mine() then remove_node(me) end\n"
	"redis.call('PUBLISH', channel, ARGV[5])\n"
	"return {'ok'}\n";

/* In the order of enum cluster_script. */
const char *const cluster_scripts[] = {
	rs_hello,
	rs_heartbeat,
	rs_join,
	rs_leave,
	rs_rename,
	rs_resync,
	rs_snapshot,
	rs_bye,
};
const size_t cluster_nscripts = sizeof cluster_scripts /
    sizeof cluster_scripts[0];
