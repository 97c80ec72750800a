#!/usr/bin/env bash
#
# Benchmark chatd with chatbench(1), side by side with Redis pub/sub and
# optionally with a second chatd build.  See doc/performance.md.
#
# usage: bench/run.sh [standard|fanout|chatty|slow|idle|big]...
#                                           (default: standard)
#        bench/run.sh report RAWFILE        (the tables of an earlier run)
#
#   standard       fanout chatty slow idle: what "make bench" runs
#   fanout         1000 clients, 10 send 64-byte lines flat out
#   chatty         100 clients, all talking, 2000 lines/s in all
#   slow           fanout plus one client that never reads
#   idle           IDLE_CLIENTS idle clients: server RSS per connection
#   big            BIG_CLIENTS idle clients, then one broadcast to all
#   syscalls       chatd only: its system calls per delivered line in the
#                  fanout and chatty runs (needs perf and its syscall
#                  tracepoints)
#
#   CHATD=path       the chatd to measure (default: chatd at the top)
#   CHATBENCH=path   the generator (default: chatbench at the top, else
#                    bench/chatbench.c is compiled with $CC)
#   PLUGINS=dir      [lua] path for CHATD (default: plugins/ of this tree)
#   BASELINE=path    a second chatd (B), run interleaved with CHATD (A)
#   BASELINE_PLUGINS=dir   [lua] path for BASELINE (default: PLUGINS)
#   REDIS=path|0     redis-server to compare with (R); default: the one in
#                    PATH, if any; 0 for none
#   REPS=3           runs per cell and server; the tables show medians
#   DURATION=5       seconds of sending per run
#   IDLE_CLIENTS=2000  BIG_CLIENTS=19000
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
BIG_CLIENTS=${BIG_CLIENTS:-19000}
RAW=${RAW:-/tmp/chatbench-raw.$$.txt}
CC=${CC:-cc}

modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(standard)

work=$(mktemp -d /tmp/chatbench.XXXXXX)
spid=

cleanup() {
	if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
		kill -KILL "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; exit 1; }

# start_chatd BINARY PLUGINDIR: sets spid and port
start_chatd() {
	cat >"$work/chatd.ini" <<-EOF
	[server]
	bind = 127.0.0.1
	port = 0
	max_clients = 1000000
	idle_timeout = 0
	[limits]
	lines_per_second = 0
	[lua]
	path = $2
	[log]
	level = info
	EOF
	: >"$work/chatd.log"
	"$1" -c "$work/chatd.ini" 2>"$work/chatd.log" &
	spid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		    "$work/chatd.log" | head -1)
		[ -n "$port" ] && return 0
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/chatd.log" >&2
	die "$1 did not start"
}

# start_redis: sets spid and port
start_redis() {
	local try
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		: >"$work/redis.log"
		# Protected mode would refuse the clients that chatbench
		# binds to 127.0.0.2 and up; the server listens on loopback
		# only either way.
		"$REDIS" --port "$port" --bind 127.0.0.1 --save '' \
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

# run_one LABEL TEST CHATBENCH-ARGS...: one fresh server, one run
run_one() {
	local label=$1 test=$2 out rc=0 proto=chatd
	shift 2
	case $label in
	A) start_chatd "$CHATD" "$PLUGINS" ;;
	B) start_chatd "$BASELINE" "$BASELINE_PLUGINS" ;;
	R) start_redis; proto=redis ;;
	esac
	out=$(timeout 1500 "$CHATBENCH" -x "$proto" -p "$port" -P "$spid" \
	    "$@" | tail -1) || rc=$?
	stop_server
	[ -n "$out" ] || out="complete=0"
	echo "label=$label test=$test rc=$rc $out" >>"$RAW"
	printf '  %s %-7s rc=%d %s\n' "$label" "$test" "$rc" \
	    "$(echo "$out" | grep -o 'deliveries_per_s=[0-9]*\|p99_us=[0-9.]*\|lost=[0-9]*\|rss_per_conn_b=[0-9-]*\|srv_cpu_pct=[0-9-]*\|bench_cpu_pct=[0-9-]*\|srv_writes=[0-9-]*' |
	    tr '\n' ' ')" >&2
}

# cell TEST ARGS...: REPS runs of each server, the order rotating from one
# repetition to the next so that a drift in machine load hits all alike
cell() {
	local test=$1 rep i n
	shift
	local labels=(A ${BASELINE:+B} ${REDIS:+R})
	n=${#labels[@]}
	for rep in $(seq "$REPS"); do
		for i in $(seq 0 $((n - 1))); do
			run_one "${labels[$(((rep + i) % n))]}" "$test" "$@"
		done
	done
}

fanout() { cell fanout -n 1000 -s 10 -b 64 -t "$DURATION"; }
chatty() { cell chatty -n 100 -s 100 -r 2000 -b 64 -t "$DURATION"; }
slow() { cell slow -n 1000 -s 10 -b 64 -t "$DURATION" -k 1; }
idle() { cell idle -n "$IDLE_CLIENTS" --idle -t 3 -d 600; }
big() { cell big -n "$BIG_CLIENTS" --idle -t 3 -d 1800; }

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
	awk '
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
	what[t] = f["clients"] " clients" (f["slow"] > 0 ? " + " f["slow"] " slow" : "") \
	    (f["mode"] == "idle" ? ", idle" : ", " f["senders"] " senders, " f["bytes"] " B" \
	    (f["rate"] > 0 ? ", " f["rate"] " lines/s" : ", flat out"))
	f["lines_per_write"] = f["srv_writes"] > 0 ? f["deliveries"] / f["srv_writes"] : -1
	for (k in f)
		val[lab, t, k, ++cnt[lab, t, k]] = f[k]
}
END {
	name["A"] = "chatd"; name["B"] = "chatd (baseline)"; name["R"] = "redis"
	split("A B R", L, " ")
	for (ti = 1; ti <= ntests; ti++) {
		t = tests[ti]
		printf "\n### %s: %s (medians)\n\n", t, what[t]
		if (t == "idle" || t == "big") {
			print "| server | join s | server CPU s joining | RSS per connection, bytes | broadcast to all, ms | failed runs |"
			print "|---|---:|---:|---:|---:|---:|"
			for (li = 1; li <= 3; li++) {
				lab = L[li]
				if (!((lab SUBSEP t) in has)) continue
				printf "| %s | %.2f | %.2f | %.0f | %.1f | %d/%d |\n", name[lab],
				    m(lab, t, "join_s"), m(lab, t, "join_srv_cpu_s"),
				    m(lab, t, "rss_per_conn_b"), m(lab, t, "elapsed_s") * 1000,
				    failed[lab, t], runs[lab, t]
			}
			continue
		}
		print "| server | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | server CPU % | chatbench CPU % | server ns/delivery | lines per write | peak RSS MB | lost | reordered | failed runs |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (li = 1; li <= 3; li++) {
			lab = L[li]
			if (!((lab SUBSEP t) in has)) continue
			d = m(lab, t, "deliveries_per_s")
			printf "| %s | %.3fM | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f | %.0f | %.1f | %.1f | %d | %d | %d/%d |\n",
			    name[lab], d / 1e6, m(lab, t, "p50_us") / 1e3,
			    m(lab, t, "p90_us") / 1e3, m(lab, t, "p99_us") / 1e3,
			    m(lab, t, "max_us") / 1e3, m(lab, t, "srv_cpu_pct"),
			    m(lab, t, "bench_cpu_pct"),
			    (d > 0 ? m(lab, t, "srv_cpu_pct") * 1e7 / d : -1),
			    m(lab, t, "lines_per_write"),
			    m(lab, t, "srv_hwm_kb") / 1024, lost[lab, t],
			    reord[lab, t], failed[lab, t], runs[lab, t]
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
			if (t == "idle" || t == "big")
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
	$CC -O2 -std=c11 -o "$work/chatbench" "$here/chatbench.c" ||
	    die "cannot build chatbench"
	CHATBENCH=$work/chatbench
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
: >"$RAW"

for m in "${modes[@]}"; do
	case $m in
	standard) fanout; chatty; slow; idle ;;
	fanout|chatty|slow|idle|big) "$m" ;;
	syscalls) syscalls; exit 0 ;;
	*) die "unknown test $m (standard fanout chatty slow idle big syscalls)" ;;
	esac
done

echo
echo "CHATD=$CHATD${BASELINE:+  BASELINE=$BASELINE}${REDIS:+  REDIS=$REDIS}"
echo "reps=$REPS  duration=${DURATION}s  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  ulimit -n $(ulimit -n)  $(date -u +%FT%TZ)"
echo "raw results: $RAW"
report "$RAW"
