#!/usr/bin/env bash
#
# Benchmark chatd with chatbench(1), side by side with Redis pub/sub and
# optionally with a second chatd build.  See doc/performance.md.
#
# usage: bench/run.sh [standard|fanout|chatty|slow|idle|big|door|storm|churn|surge|hostile|cluster|reuseport|presence|tls]...
#                                           (default: standard)
#        bench/run.sh report RAWFILE        (the tables of an earlier run)
#
#   standard       fanout chatty slow idle: what "make bench" runs
#   fanout         1000 clients, 10 send 64-byte lines flat out
#   chatty         100 clients, all talking, 2000 lines/s in all
#   slow           fanout plus one client that never reads
#   idle           IDLE_CLIENTS idle clients: server RSS per connection
#   big            BIG_CLIENTS idle clients, then one broadcast to all
#   door           storm churn surge: a big room's door
#   storm          ROOM_CLIENTS idle clients join; all drop and reconnect at
#                  once; then one broadcast to all
#   churn          ROOM_CLIENTS clients, 10 talking at 100 lines/s in all,
#                  while CHURN clients a second join and leave ("churn"),
#                  and the same room without them ("quiet")
#   surge          1000 clients, 10 talking at 100 lines/s in all, while
#                  SURGE clients connect at once ("surge"), and the same
#                  room without them ("calm")
#   hostile        chatd at its default settings (label D): 2000 clients
#                  from 140 addresses (within max_per_ip), 5 of them
#                  talking at 50 lines/s in all for 9 s, quiet ("quiet"), with 100 non-readers sending
#                  "who" 8 times each ("whoflood") and with 32 clients of
#                  one address connecting in a loop ("joinspam"), the
#                  attacks in the middle third; the bystanders' echo
#                  before, during and after; and the same against A,
#                  the config of the other runs (every limit off)
#   syscalls       chatd only: its system calls per delivered line in the
#                  fanout and chatty runs (needs perf and its syscall
#                  tracepoints)
#   cluster        fanout on one chatd (A) against the same on a room of
#                  NODES nodes and a redis-server (C): the readers spread
#                  over them, the 10 senders on the first (needs REDIS)
#   reuseport      fanout on one chatd (A) against NODES nodes of a room
#                  sharing its port with [server] reuse_port (U)
#   presence       PRESENCE_USERS idle users on one node of a room: what
#                  they cost in Redis (keys, bytes, commands per second)
#   tls            tlsfanout tlsidle handshake: chatd over TLS (T) against
#                  the same chatd over TCP (A) and BASELINE (B), an ECDSA
#                  P-256 certificate made here with openssl
#   tlsfanout      fanout over TLS
#   tlsidle        idle over TLS (IDLE_CLIENTS)
#   handshake      HANDSHAKE_CLIENTS clients connecting at once (--ramp
#                  of as many): time to be welcomed, server CPU
#
#   CHATD=path       the chatd to measure (default: chatd at the top)
#   CHATBENCH=path   the generator (default: chatbench at the top, else
#                    bench/chatbench.c is compiled with $CC)
#   PLUGINS=dir      [lua] path for CHATD (default: plugins/ of this tree)
#   NODES=2          nodes of the room in the cluster and reuseport runs
#   BASELINE=path    a second chatd (B), run interleaved with CHATD (A)
#   BASELINE_PLUGINS=dir   [lua] path for BASELINE (default: PLUGINS)
#   REDIS=path|0     redis-server to compare with (R); default: the one in
#                    PATH, if any; 0 for none
#   REPS=3           runs per cell and server; the tables show medians
#   DURATION=5       seconds of sending per run
#   IDLE_CLIENTS=2000  BIG_CLIENTS=19000  HANDSHAKE_CLIENTS=5000
#   TLS_HANDSHAKE_TIMEOUT=60  [tls] handshake_timeout of T: a crowd of
#                    handshakes on a shared machine outlasts the default 10
#   ROOM_CLIENTS=10000  CHURN=100  SURGE=5000
#   WINDOW=16        the fanout senders' window of unechoed lines
#   RAW=file         where the key=value lines go (kept)
#
# Every server is started here on 127.0.0.1 and stopped here by its PID;
# nothing else is touched.  The descriptor limit is raised to the hard
# limit for this script and the servers it starts.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CHATD=${CHATD:-$top/chatd}
CHATBENCH=${CHATBENCH:-$top/chatbench}
PLUGINS=${PLUGINS:-$top/plugins}
BASELINE=${BASELINE:-}
BASELINE_PLUGINS=${BASELINE_PLUGINS:-$PLUGINS}
REDIS=${REDIS-$(command -v redis-server || true)}
[ "$REDIS" = 0 ] && REDIS=
REPS=${REPS:-3}
DURATION=${DURATION:-5}
IDLE_CLIENTS=${IDLE_CLIENTS:-2000}
ROOM_CLIENTS=${ROOM_CLIENTS:-10000}
WINDOW=${WINDOW:-16}
CHURN=${CHURN:-100}
SURGE=${SURGE:-5000}
PRESENCE_USERS=${PRESENCE_USERS:-10000}
NODES=${NODES:-2}
BIG_CLIENTS=${BIG_CLIENTS:-19000}
HANDSHAKE_CLIENTS=${HANDSHAKE_CLIENTS:-5000}
TLS_HANDSHAKE_TIMEOUT=${TLS_HANDSHAKE_TIMEOUT:-60}
RAW=${RAW:-/tmp/chatbench-raw.$$.txt}
CC=${CC:-cc}

modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(standard)

work=$(mktemp -d "${TMPDIR:-/tmp}/chatbench.XXXXXX")
spid=
xpids=		# a cluster run's processes: its nodes, then its redis-server

cleanup() {
	local p
	for p in $spid $xpids; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; exit 1; }

# make_cert: an ECDSA P-256 certificate for 127.0.0.1 in $work, once
make_cert() {
	[ -f "$work/cert.pem" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj /CN=localhost -keyout "$work/key.pem" \
	    -out "$work/cert.pem" 2>/dev/null || die "openssl req failed"
}

# start_chatd BINARY PLUGINDIR [tls|defaults]: sets spid and port (with
# tls, the port of a [tls] listener; with defaults, chatd's own limits)
start_chatd() {
	if [ "${3:-}" = defaults ]; then
		cat >"$work/chatd.ini" <<-EOF
		[server]
		bind = 127.0.0.1
		port = 0
		[lua]
		path = $2
		[log]
		level = info
		EOF
	else
		cat >"$work/chatd.ini" <<-EOF
	[server]
	bind = 127.0.0.1
	port = 0
	max_clients = 1000000
	idle_timeout = 0
	show_addresses = true
	[limits]
	lines_per_second = 0
	bytes_per_second = 0
	max_per_ip = 0
	connects_per_second = 0
	[lua]
	path = $2
	[log]
	level = info
	EOF
	fi
	if [ "${3:-}" = tls ]; then
		make_cert
		printf '[tls]\nbind = 127.0.0.1\nport = 0\ncert = %s\nkey = %s\nhandshake_timeout = %s\n' \
		    "$work/cert.pem" "$work/key.pem" "$TLS_HANDSHAKE_TIMEOUT" \
		    >>"$work/chatd.ini"
	fi
	: >"$work/chatd.log"
	"$1" -c "$work/chatd.ini" 2>"$work/chatd.log" &
	spid=$!
	port=
	for _ in $(seq 100); do
		if [ "${3:-}" = tls ]; then
			port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (tls.*/\1/p' \
			    "$work/chatd.log" | head -1)
		else
			port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			    "$work/chatd.log" | head -1)
		fi
		[ -n "$port" ] && return 0
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/chatd.log" >&2
	die "$1 did not start"
}

# start_redis [tls]: sets spid and port (with tls, a --tls-port only)
start_redis() {
	local try listen
	[ "${1:-}" = tls ] && make_cert
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		if [ "${1:-}" = tls ]; then
			listen=(--port 0 --tls-port "$port" --tls-cert-file
			    "$work/cert.pem" --tls-key-file "$work/key.pem"
			    --tls-auth-clients no)
		else
			listen=(--port "$port")
		fi
		: >"$work/redis.log"
		# Protected mode would refuse the clients that chatbench
		# binds to 127.0.0.2 and up; the server listens on loopback
		# only either way.
		"$REDIS" "${listen[@]}" --bind 127.0.0.1 --save '' \
		    --appendonly no --protected-mode no \
		    --maxclients 100000 --dir "$work" \
		    --logfile "$work/redis.log" --daemonize no &
		spid=$!
		for _ in $(seq 100); do
			grep -q 'Ready to accept' "$work/redis.log" && return 0
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.05
		done
		stop_server
	done
	cat "$work/redis.log" >&2
	die "$REDIS did not start"
}

stop_server() {
	kill -TERM "$spid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
}

# start_node NAME REDISPORT PORT REUSE: a node of a room on $CHATD,
# listening on PORT (0: any) with reuse_port REUSE; appends its PID to
# xpids, sets nport and npid
start_node() {
	cat >"$work/$1.ini" <<-EOF
	[server]
	bind = 127.0.0.1
	port = $3
	reuse_port = $4
	max_clients = 1000000
	idle_timeout = 0
	show_addresses = true
	[limits]
	lines_per_second = 0
	bytes_per_second = 0
	max_per_ip = 0
	connects_per_second = 0
	[lua]
	path = $PLUGINS
	[log]
	level = info
	[cluster]
	redis = 127.0.0.1:$2
	room = bench
	node = $1
	EOF
	: >"$work/$1.log"
	"$CHATD" -c "$work/$1.ini" 2>"$work/$1.log" &
	npid=$!
	xpids="$npid $xpids"
	nport=
	for _ in $(seq 200); do
		if grep -q 'cluster: in room' "$work/$1.log"; then
			nport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			    "$work/$1.log" | head -1)
			return 0
		fi
		kill -0 "$npid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/$1.log" >&2
	die "node $1 did not join its room"
}

# start_cluster N REUSE: a redis-server and N nodes; with REUSE true they
# share one port.  Sets cports and cpids (comma lists) and rpid.
start_cluster() {
	local i shared=0
	start_redis
	rpid=$spid
	rport=$port
	xpids=$rpid
	spid=
	cports=
	cpids=
	for i in $(seq "$1"); do
		start_node "n$i" "$rport" "$shared" "$2"
		[ "$2" = true ] && shared=$nport
		cports=${cports:+$cports,}$nport
		cpids=${cpids:+$cpids,}$npid
	done
	[ "$2" = true ] && cports=$shared
	return 0
}

# stop_cluster: the nodes in order, then Redis
stop_cluster() {
	local p
	for p in $xpids; do
		[ "$p" = "$rpid" ] && continue
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $xpids; do
		[ "$p" = "$rpid" ] && continue
		wait "$p" 2>/dev/null || true
	done
	spid=$rpid
	stop_server
	xpids=
}

# run_one LABEL TEST CHATBENCH-ARGS...: one fresh server, one run
run_one() {
	local label=$1 test=$2 out rc=0 proto=chatd
	shift 2
	case $label in
	A) start_chatd "$CHATD" "$PLUGINS" ;;
	T) start_chatd "$CHATD" "$PLUGINS" tls; set -- --tls "$@" ;;
	D) start_chatd "$CHATD" "$PLUGINS" defaults ;;
	B) start_chatd "$BASELINE" "$BASELINE_PLUGINS" ;;
	R) start_redis; proto=redis ;;
	S) start_redis tls; proto=redis; set -- --tls "$@" ;;
	C) start_cluster "$NODES" false ;;
	U) start_cluster "$NODES" true ;;
	esac
	case $label in
	C|U)
		out=$(timeout 1500 "$CHATBENCH" -p "$cports" -P "$cpids" \
		    -W "$rpid" "$@" | tail -1) || rc=$?
		stop_cluster ;;
	*)
		out=$(timeout 1500 "$CHATBENCH" -x "$proto" -p "$port" \
		    -P "$spid" "$@" | tail -1) || rc=$?
		stop_server ;;
	esac
	[ -n "$out" ] || out="complete=0"
	echo "label=$label test=$test rc=$rc $out" >>"$RAW"
	printf '  %s %-7s rc=%d %s\n' "$label" "$test" "$rc" \
	    "$(echo "$out" | grep -o 'deliveries_per_s=[0-9]*\|p99_us=[0-9.]*\|lost=[0-9]*\|rss_per_conn_b=[0-9-]*\|srv_cpu_pct=[0-9-]*\|bench_cpu_pct=[0-9-]*\|srv_writes=[0-9-]*' |
	    tr '\n' ' ')" >&2
}

# cell TEST ARGS...: REPS runs of each server, the order rotating from one
# repetition to the next so that a drift in machine load hits all alike;
# LABELS (default: A, B with BASELINE, R with REDIS) picks the servers
cell() {
	local test=$1 rep i n
	shift
	local labels=(${LABELS:-A ${BASELINE:+B} ${REDIS:+R}})
	n=${#labels[@]}
	for rep in $(seq "$REPS"); do
		for i in $(seq 0 $((n - 1))); do
			run_one "${labels[$(((rep + i) % n))]}" "$test" "$@"
		done
	done
}

fanout() { cell fanout -n 1000 -s 10 -b 64 -w "$WINDOW" -t "$DURATION"; }
chatty() { cell chatty -n 100 -s 100 -r 2000 -b 64 -t "$DURATION"; }
slow() { cell slow -n 1000 -s 10 -b 64 -t "$DURATION" -k 1; }
idle() { cell idle -n "$IDLE_CLIENTS" --idle -t 3 -d 600; }
cluster() {
	[ -n "$REDIS" ] || die "cluster needs redis-server (REDIS)"
	LABELS="A C" cell cluster -n 1000 -s 10 -b 64 -t "$DURATION"
}
reuseport() {
	[ -n "$REDIS" ] || die "reuseport needs redis-server (REDIS)"
	LABELS="A U" cell reuseport -n 1000 -s 10 -b 64 -t "$DURATION"
}

# redis_info SECTION FIELD: a field of INFO from the cluster's redis
redis_info() {
	redis-cli -p "$rport" info "$1" | tr -d '\r' | sed -n "s/^$2://p"
}

# presence: PRESENCE_USERS idle users on one node of a room, and what
# Redis holds and does for them: keys, bytes, commands per second
presence() {
	local mem0 mem1 cmds0 cmds1 t0 t1 keys users names cb
	command -v redis-cli >/dev/null || die "presence needs redis-cli"
	[ -n "$REDIS" ] || die "presence needs redis-server (REDIS)"
	start_cluster 1 false
	mem0=$(redis_info memory used_memory)
	"$CHATBENCH" -p "$cports" -P "$cpids" -n "$PRESENCE_USERS" --idle \
	    -t 12 -d 900 >"$work/cb.out" 2>"$work/cb.err" &
	cb=$!
	# while the users sit: the memory they take, then 10 s of commands
	until [ "$(redis-cli -p "$rport" hlen 'chatd:{bench}:names' |
	    tr -d '\r')" -ge "$PRESENCE_USERS" ]; do
		kill -0 "$cb" 2>/dev/null || die "chatbench ended early"
		sleep 0.2
	done
	mem1=$(redis_info memory used_memory)
	keys=$(redis-cli -p "$rport" dbsize | tr -d '\r')
	users=$(redis-cli -p "$rport" memory usage 'chatd:{bench}:users:n1' |
	    tr -d '\r')
	names=$(redis-cli -p "$rport" memory usage 'chatd:{bench}:names' |
	    tr -d '\r')
	cmds0=$(redis_info stats total_commands_processed)
	t0=$(date +%s.%N)
	sleep 10
	cmds1=$(redis_info stats total_commands_processed)
	t1=$(date +%s.%N)
	wait "$cb" || true
	stop_cluster
	echo
	echo "### presence: $PRESENCE_USERS idle users on one node"
	echo
	echo "| keys | used_memory growth | users:NODE hash | names hash | bytes per user | commands/s while idle |"
	echo "|---:|---:|---:|---:|---:|---:|"
	awk -v k="$keys" -v m0="$mem0" -v m1="$mem1" -v u="$users" \
	    -v n="$names" -v c0="$cmds0" -v c1="$cmds1" -v t0="$t0" \
	    -v t1="$t1" -v N="$PRESENCE_USERS" 'BEGIN {
		printf "| %d | %.1f MiB | %.1f MiB | %.1f MiB | %.0f | %.1f |\n",
		    k, (m1 - m0) / 1048576, u / 1048576, n / 1048576,
		    (m1 - m0) / N, (c1 - c0) / (t1 - t0)
	    }'
	echo
	echo "join, from chatbench: $(grep -o 'joined in [0-9.]* s' "$work/cb.out" || true)"
}
big() { cell big -n "$BIG_CLIENTS" --idle -t 3 -d 1800; }
tlsfanout() {
	LABELS="A ${BASELINE:+B} T ${REDIS:+R S}" cell tlsfanout -n 1000 -s 10 \
	    -b 64 -t "$DURATION"
}
tlsidle() { LABELS="A T" cell tlsidle -n "$IDLE_CLIENTS" --idle -t 3 -d 600; }
handshake() {
	LABELS="A T" cell handshake -n "$HANDSHAKE_CLIENTS" --idle \
	    -R "$HANDSHAKE_CLIENTS" -t 1 -d 600
}
tls() { tlsfanout; tlsidle; handshake; }
storm() { cell storm -n "$ROOM_CLIENTS" --idle -t 1 --storm -d 1800; }
# One label after the other per repetition, so that the pair shares the
# machine's mood: a ratio, not two absolute figures.
churn() {
	local rep
	for rep in $(seq "$REPS"); do
		REPS=1 cell quiet -n "$ROOM_CLIENTS" -s 10 -r 100 \
		    -t "$DURATION" -d 1800
		REPS=1 cell churn -n "$ROOM_CLIENTS" -s 10 -r 100 \
		    -t "$DURATION" --churn "$CHURN" -d 1800
	done
}
# The attacks against a room at chatd's defaults, interleaved: quiet, who
# flood, join spam, per repetition.
hostile() {
	local rep room="-n 2000 -s 5 -r 50 -b 64 -t 9 -S 140 -d 600"
	for rep in $(seq "$REPS"); do
		LABELS="D A" REPS=1 cell quiet $room
		LABELS="D A" REPS=1 cell whoflood $room -k 100 -F 8
		LABELS="D A" REPS=1 cell joinspam $room -J 32
	done
}
surge() {
	local rep
	for rep in $(seq "$REPS"); do
		REPS=1 cell calm -n 1000 -s 10 -r 100 -t "$DURATION" -d 600
		REPS=1 cell surge -n 1000 -s 10 -r 100 -t "$DURATION" \
		    --surge "$SURGE" -d 600
	done
}

# syscalls: system calls of chatd per delivered line, counted by perf's
# syscall tracepoints from the end of the join to the end of the run
syscalls() {
	local t cb pp out
	command -v perf >/dev/null || die "syscalls needs perf"
	echo
	echo "| test | deliveries | loop turns (epoll_wait) | writev | read | lines per writev | writev per receiver per turn |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for t in fanout chatty; do
		case $t in
		fanout) set -- -n 1000 -s 10 -b 64 -t "$DURATION" ;;
		chatty) set -- -n 100 -s 100 -r 2000 -b 64 -t "$DURATION" ;;
		esac
		start_chatd "$CHATD" "$PLUGINS"
		"$CHATBENCH" -p "$port" -P "$spid" -v "$@" >"$work/cb.out" \
		    2>"$work/cb.err" &
		cb=$!
		until grep -q ' joined in ' "$work/cb.err"; do
			kill -0 "$cb" 2>/dev/null || break
			sleep 0.02
		done
		perf stat -x, -o "$work/perf.txt" -p "$spid" -e \
		    syscalls:sys_enter_epoll_wait,syscalls:sys_enter_writev,syscalls:sys_enter_read \
		    2>/dev/null &
		pp=$!
		wait "$cb" || true
		kill -INT "$pp" 2>/dev/null || true
		wait "$pp" 2>/dev/null || true
		stop_server
		out=$(tail -1 "$work/cb.out")
		echo "label=A test=syscalls-$t rc=0 $out" >>"$RAW"
		awk -F, -v t="$t" -v kv="$out" '
		    /sys_enter_epoll_wait/ { turns = $1 }
		    /sys_enter_writev/ { wv = $1 }
		    /sys_enter_read/ { rd = $1 }
		    END {
			n = split(kv, f, " ")
			for (i = 1; i <= n; i++) {
				split(f[i], p, "=")
				v[p[1]] = p[2]
			}
			printf "| %s | %d | %d | %d | %d | %.1f | %.2f |\n", t,
			    v["deliveries"], turns, wv, rd,
			    (wv > 0 ? v["deliveries"] / wv : 0),
			    (turns > 0 ? wv / (turns * v["clients"]) : 0)
		    }' "$work/perf.txt"
	done
}

report() {
	awk -v nodes="$NODES" '
function med(key, n, i, j, v, a) {
	n = cnt[key]
	if (n == 0)
		return -1
	for (i = 1; i <= n; i++)
		a[i] = val[key, i] + 0
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function m(lab, t, k) { return med(lab SUBSEP t SUBSEP k) }
function ratio(x, y) { return (y + 0 <= 0 || x + 0 < 0) ? "-" : sprintf("%.2f", x / y) }
{
	delete f
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		f[kv[1]] = kv[2]
	}
	lab = f["label"]; t = f["test"]
	if (!(t in seen)) {
		seen[t] = 1
		tests[++ntests] = t
	}
	has[lab, t] = 1
	runs[lab, t]++
	if (f["rc"] != 0) failed[lab, t]++
	lost[lab, t] += f["lost"]
	reord[lab, t] += f["reordered"]
	if (f["mode"] == "idle") idlemode[t] = 1
	what[t] = f["clients"] " clients" (f["slow"] > 0 ? " + " f["slow"] " slow" : "") \
	    (f["churn"] > 0 ? " + " f["churn"] " joining and leaving a second" : "") \
	    (f["surge"] > 0 ? " + " f["surge"] " connecting at once" : "") \
	    (f["who_flood"] > 0 ? ", who x " f["who_flood"] " each" : "") \
	    (f["join_spam"] > 0 ? " + " f["join_spam"] " of one address connecting in a loop" : "") \
	    (f["mode"] == "idle" ? ", idle" : ", " f["senders"] " senders, " f["bytes"] " B" \
	    (f["rate"] > 0 ? ", " f["rate"] " lines/s" : ", flat out, window " f["window"]))
	f["lines_per_write"] = f["srv_writes"] > 0 ? f["deliveries"] / f["srv_writes"] : -1
	f["redis_us_per_line"] = f["watch_cpu_s"] >= 0 && f["sent"] > 0 ? f["watch_cpu_s"] * 1e6 / f["sent"] : -1
	for (k in f)
		val[lab, t, k, ++cnt[lab, t, k]] = f[k]
}
END {
	name["A"] = "chatd"; name["B"] = "chatd (baseline)"; name["R"] = "redis"
	name["C"] = nodes " nodes, cross-node"; name["U"] = nodes " nodes, one port"
	name["T"] = "chatd over TLS"; name["S"] = "redis over TLS"
	name["D"] = "chatd, default settings"
	split("A B R C U T S D", L, " ")
	for (ti = 1; ti <= ntests; ti++) {
		t = tests[ti]
		printf "\n### %s: %s (medians)\n\n", t, what[t]
		if (t == "storm") {
			print "| server | all welcomed s | settled s | server CPU s joining | storm: all welcomed again s | server CPU s in the storm | broadcast to all after, ms | reconnects | failed runs |"
			print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
			for (li = 1; li <= 5; li++) {
				lab = L[li]
				if (!((lab SUBSEP t) in has)) continue
				printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.0f | %d/%d |\n", name[lab],
				    m(lab, t, "welcome_s"), m(lab, t, "join_s"),
				    m(lab, t, "join_srv_cpu_s"), m(lab, t, "storm_s"),
				    m(lab, t, "storm_srv_cpu_s"), m(lab, t, "elapsed_s") * 1000,
				    m(lab, t, "reconnects"), failed[lab, t], runs[lab, t]
			}
			continue
		}
		if (t == "quiet" || t == "whoflood" || t == "joinspam") {
			print "| server | p50 ms before | p99 before | p50 during | p99 during | p50 after | p99 after | server CPU % | spam connects | welcomed | refused | lost | failed runs |"
			print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			for (li = 1; li <= 8; li++) {
				lab = L[li]
				if (!((lab SUBSEP t) in has)) continue
				printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %d | %d/%d |\n",
				    lab == "A" ? "chatd, every limit off" : name[lab],
				    m(lab, t, "p50_before_us") / 1000, m(lab, t, "p99_before_us") / 1000,
				    m(lab, t, "p50_during_us") / 1000, m(lab, t, "p99_during_us") / 1000,
				    m(lab, t, "p50_after_us") / 1000, m(lab, t, "p99_after_us") / 1000,
				    m(lab, t, "srv_cpu_pct"), m(lab, t, "spam_connects"),
				    m(lab, t, "spam_welcomed"), m(lab, t, "spam_refused"),
				    lost[lab, t], failed[lab, t], runs[lab, t]
			}
			continue
		}
		if (t in idlemode) {
			print "| server | all welcomed s | join s | server CPU s joining | RSS per connection, bytes | broadcast to all, ms | failed runs |"
			print "|---|---:|---:|---:|---:|---:|---:|"
			for (li = 1; li <= 7; li++) {
				lab = L[li]
				if (!((lab SUBSEP t) in has)) continue
				printf "| %s | %.2f | %.2f | %.2f | %.0f | %.1f | %d/%d |\n", name[lab],
				    m(lab, t, "welcome_s"),
				    m(lab, t, "join_s"), m(lab, t, "join_srv_cpu_s"),
				    m(lab, t, "rss_per_conn_b"), m(lab, t, "elapsed_s") * 1000,
				    failed[lab, t], runs[lab, t]
			}
			continue
		}
		print "| server | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | server CPU % | chatbench CPU % | server ns/delivery | lines per write | peak RSS MB | Redis CPU % | Redis µs per line | lost | reordered | failed runs |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (li = 1; li <= 7; li++) {
			lab = L[li]
			if (!((lab SUBSEP t) in has)) continue
			d = m(lab, t, "deliveries_per_s")
			w = m(lab, t, "watch_cpu_pct")
			printf "| %s | %.3fM | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f | %.0f | %.1f | %.1f | %s | %s | %d | %d | %d/%d |\n",
			    name[lab], d / 1e6, m(lab, t, "p50_us") / 1e3,
			    m(lab, t, "p90_us") / 1e3, m(lab, t, "p99_us") / 1e3,
			    m(lab, t, "max_us") / 1e3, m(lab, t, "srv_cpu_pct"),
			    m(lab, t, "bench_cpu_pct"),
			    (d > 0 ? m(lab, t, "srv_cpu_pct") * 1e7 / d : -1),
			    m(lab, t, "lines_per_write"),
			    m(lab, t, "srv_hwm_kb") / 1024,
			    (w >= 0 ? sprintf("%.0f", w) : "-"),
			    (w >= 0 ? sprintf("%.1f", m(lab, t, "redis_us_per_line")) : "-"),
			    lost[lab, t], reord[lab, t], failed[lab, t], runs[lab, t]
		}
		if (t != "churn" && t != "surge")
			continue
		print ""
		print "| server | room welcomed s | churners in and out | surge welcomed s | slow drops |"
		print "|---|---:|---:|---:|---:|"
		for (li = 1; li <= 5; li++) {
			lab = L[li]
			if (!((lab SUBSEP t) in has)) continue
			printf "| %s | %.2f | %.0f | %.2f | %.0f |\n", name[lab],
			    m(lab, t, "welcome_s"), m(lab, t, "churns"),
			    m(lab, t, "surge_s"), m(lab, t, "other_dropped")
		}
	}
	for (ci = 1; ci <= 2; ci++) {
		lab = ci == 1 ? "C" : "U"
		any = 0
		for (ti = 1; ti <= ntests; ti++)
			if ((("A" SUBSEP tests[ti]) in has) && ((lab SUBSEP tests[ti]) in has)) any = 1
		if (!any) continue
		printf "\n### %s / one chatd (ratio of medians)\n\n", name[lab]
		print "| test | deliveries/s | p50 | p99 | servers CPU |"
		print "|---|---:|---:|---:|---:|"
		for (ti = 1; ti <= ntests; ti++) {
			t = tests[ti]
			if (!((("A" SUBSEP t) in has) && ((lab SUBSEP t) in has))) continue
			printf "| %s | %s | %s | %s | %s |\n", t,
			    ratio(m(lab, t, "deliveries_per_s"), m("A", t, "deliveries_per_s")),
			    ratio(m(lab, t, "p50_us"), m("A", t, "p50_us")),
			    ratio(m(lab, t, "p99_us"), m("A", t, "p99_us")),
			    ratio(m(lab, t, "srv_cpu_pct"), m("A", t, "srv_cpu_pct"))
		}
	}
	for (xi = 1; xi <= 2; xi++) {
	tcp = xi == 1 ? "A" : "R"; tls = xi == 1 ? "T" : "S"
	any = 0
	for (ti = 1; ti <= ntests; ti++)
		if (((tcp SUBSEP tests[ti]) in has) && ((tls SUBSEP tests[ti]) in has)) any = 1
	if (any) {
		printf "\n### %s / over TCP (ratio of medians)\n\n", name[tls]
		print "| test | deliveries/s | p50 | p99 | server CPU | RSS per connection | server CPU joining |"
		print "|---|---:|---:|---:|---:|---:|---:|"
		for (ti = 1; ti <= ntests; ti++) {
			t = tests[ti]
			if (!(((tcp SUBSEP t) in has) && ((tls SUBSEP t) in has))) continue
			if (t in idlemode)
				printf "| %s | - | - | - | - | %s | %s |\n", t,
				    ratio(m(tls, t, "rss_per_conn_b"), m(tcp, t, "rss_per_conn_b")),
				    ratio(m(tls, t, "join_srv_cpu_s"), m(tcp, t, "join_srv_cpu_s"))
			else
				printf "| %s | %s | %s | %s | %s | - | - |\n", t,
				    ratio(m(tls, t, "deliveries_per_s"), m(tcp, t, "deliveries_per_s")),
				    ratio(m(tls, t, "p50_us"), m(tcp, t, "p50_us")),
				    ratio(m(tls, t, "p99_us"), m(tcp, t, "p99_us")),
				    ratio(m(tls, t, "srv_cpu_pct"), m(tcp, t, "srv_cpu_pct"))
		}
	}
	}
	for (pi = 1; pi <= 2; pi++) {
		other = pi == 1 ? "R" : "B"
		any = 0
		for (ti = 1; ti <= ntests; ti++)
			if ((("A" SUBSEP tests[ti]) in has) && ((other SUBSEP tests[ti]) in has)) any = 1
		if (!any) continue
		printf "\n### chatd / %s (ratio of medians: deliveries/s above 1 is better, the rest below 1)\n\n", name[other]
		print "| test | deliveries/s | p50 | p99 | server CPU | RSS per connection |"
		print "|---|---:|---:|---:|---:|---:|"
		for (ti = 1; ti <= ntests; ti++) {
			t = tests[ti]
			if (!((("A" SUBSEP t) in has) && ((other SUBSEP t) in has))) continue
			if (t in idlemode)
				printf "| %s | - | - | - | - | %s |\n", t,
				    ratio(m("A", t, "rss_per_conn_b"), m(other, t, "rss_per_conn_b"))
			else
				printf "| %s | %s | %s | %s | %s | - |\n", t,
				    ratio(m("A", t, "deliveries_per_s"), m(other, t, "deliveries_per_s")),
				    ratio(m("A", t, "p50_us"), m(other, t, "p50_us")),
				    ratio(m("A", t, "p99_us"), m(other, t, "p99_us")),
				    ratio(m("A", t, "srv_cpu_pct"), m(other, t, "srv_cpu_pct"))
		}
	}
}' "$1"
}

if [ "${modes[0]}" = report ]; then
	[ ${#modes[@]} -eq 2 ] || die "usage: run.sh report RAWFILE"
	report "${modes[1]}"
	exit 0
fi

for b in "$CHATD" ${BASELINE:+"$BASELINE"} ${REDIS:+"$REDIS"}; do
	[ -x "$b" ] || die "$b: not an executable (build chatd first)"
done
if [ ! -x "$CHATBENCH" ]; then
	$CC -O2 -std=c11 -o "$work/chatbench" "$here/chatbench.c" -lssl -lcrypto ||
	    die "cannot build chatbench"
	CHATBENCH=$work/chatbench
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
: >"$RAW"

for m in "${modes[@]}"; do
	case $m in
	standard) fanout; chatty; slow; idle ;;
	door) storm; churn; surge ;;
	fanout|chatty|slow|idle|big|storm|churn|surge|hostile|cluster|reuseport) "$m" ;;
	tls|tlsfanout|tlsidle|handshake) "$m" ;;
	syscalls) syscalls; exit 0 ;;
	presence) presence; exit 0 ;;
	*) die "unknown test $m (standard fanout chatty slow idle big door storm churn surge hostile syscalls cluster reuseport presence tls tlsfanout tlsidle handshake)" ;;
	esac
done

echo
echo "CHATD=$CHATD${BASELINE:+  BASELINE=$BASELINE}${REDIS:+  REDIS=$REDIS}"
echo "reps=$REPS  duration=${DURATION}s  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  ulimit -n $(ulimit -n)  $(date -u +%FT%TZ)"
echo "raw results: $RAW"
report "$RAW"
