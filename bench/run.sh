#!/usr/bin/env bash
#
# Benchmark chatd with bench/chatbench.c; see bench/README.md.
#
# usage: bench/run.sh [throughput|latency|slow|all]...   (default: all)
#        bench/run.sh report RAWFILE     (the tables of an earlier run)
#
#   CHATD=path       the chatd to measure (default: ../chatd next to bench/)
#   BASELINE=path    a second chatd, run interleaved with CHATD; ratios printed
#   PLUGINS=dir      [lua] path for CHATD (default: ../plugins)
#   BASELINE_PLUGINS=dir   same for BASELINE (default: PLUGINS)
#   REPS=5           runs per cell and binary; the tables show medians
#   CLIENTS="10 100 1000 2000"   the matrix
#   SENDERS=10       senders per run (min(SENDERS, clients))
#   DELIVERIES=5000000  throughput runs: lines delivered per run (sets -m)
#   BYTES=100 WINDOW=16  line size, unechoed lines per sender
#   RATE=20 RATE_SECS=3  latency runs: lines/s per sender, for this long
#   SLOW_REPS=3      runs per variant of the slow-client experiment
#   DEADLINE=60      chatbench gives up after this many seconds
#   RAW=file         where the raw result lines go (kept; default in /tmp)
#
# Every chatd is started here on 127.0.0.1 with port 0 and stopped here, by
# its PID; nothing else is touched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CHATD=${CHATD:-$top/chatd}
BASELINE=${BASELINE:-}
PLUGINS=${PLUGINS:-$top/plugins}
BASELINE_PLUGINS=${BASELINE_PLUGINS:-$PLUGINS}
REPS=${REPS:-5}
CLIENTS=${CLIENTS:-"10 100 1000 2000"}
SENDERS=${SENDERS:-10}
DELIVERIES=${DELIVERIES:-5000000}
BYTES=${BYTES:-100}
WINDOW=${WINDOW:-16}
RATE=${RATE:-20}
RATE_SECS=${RATE_SECS:-3}
SLOW_REPS=${SLOW_REPS:-3}
DEADLINE=${DEADLINE:-60}
RAW=${RAW:-/tmp/chatbench-raw.$$.txt}
CC=${CC:-cc}

modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(all)

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

bench=$work/chatbench

# start_server BINARY PLUGINDIR OUTPUT_LIMIT: sets spid and port
start_server() {
	local bin=$1 plugins=$2 limit=$3
	cat >"$work/chatd.ini" <<-EOF
	[server]
	bind = 127.0.0.1
	port = 0
	max_clients = 20000
	idle_timeout = 0
	[buffers]
	output_limit = $limit
	[limits]
	lines_per_second = 0
	[lua]
	path = $plugins
	[log]
	level = info
	EOF
	: >"$work/chatd.log"
	"$bin" -c "$work/chatd.ini" 2>"$work/chatd.log" &
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
	die "$bin did not start"
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

# run_one LABEL BINARY PLUGINDIR MODE OUTPUT_LIMIT CHATBENCH-ARGS...
run_one() {
	local label=$1 bin=$2 plugins=$3 mode=$4 limit=$5 out rc=0 cpu
	shift 5
	start_server "$bin" "$plugins" "$limit"
	out=$(timeout $((${DEADLINE%.*} + 30)) "$bench" -p "$port" \
	    -P "$spid" -d "$DEADLINE" "$@") || rc=$?
	cpu=$(awk '{ sub(/.*\) /, ""); split($0, f, " ");
	    print (f[12] + f[13]) / 100 }' "/proc/$spid/stat" 2>/dev/null ||
	    echo -1)
	stop_server
	[ -n "$out" ] || out="complete=0"
	echo "label=$label mode=$mode rc=$rc $out srv_total_cpu_s=$cpu" \
	    >>"$RAW"
	printf '  %-4s %-10s rc=%d %s\n' "$label" "$mode" "$rc" \
	    "$(echo "$out" | grep -o 'clients=[0-9]* \|deliveries_per_s=[0-9]*\|p99_us=[0-9.]*\|srv_hwm_kb=[0-9]*\|slow_dropped=[0-9]*' |
	    tr '\n' ' ')" >&2
}

# both MODE OUTPUT_LIMIT REP ARGS...: CHATD (A) and BASELINE (B), the
# order alternating from one repetition to the next
both() {
	local mode=$1 limit=$2 rep=$3
	shift 3
	if [ -z "$BASELINE" ]; then
		run_one A "$CHATD" "$PLUGINS" "$mode" "$limit" "$@"
	elif [ $((rep % 2)) -eq 1 ]; then
		run_one A "$CHATD" "$PLUGINS" "$mode" "$limit" "$@"
		run_one B "$BASELINE" "$BASELINE_PLUGINS" "$mode" "$limit" "$@"
	else
		run_one B "$BASELINE" "$BASELINE_PLUGINS" "$mode" "$limit" "$@"
		run_one A "$CHATD" "$PLUGINS" "$mode" "$limit" "$@"
	fi
}

senders_for() { [ "$1" -lt "$SENDERS" ] && echo "$1" || echo "$SENDERS"; }

throughput() {
	local n s m rep
	for n in $CLIENTS; do
		s=$(senders_for "$n")
		m=$((DELIVERIES / (s * n)))
		[ "$m" -lt 20 ] && m=20
		for rep in $(seq "$REPS"); do
			both throughput 4194304 "$rep" -n "$n" -s "$s" -m "$m" \
			    -b "$BYTES" -w "$WINDOW"
		done
	done
}

latency() {
	local n s rep
	for n in $CLIENTS; do
		s=$(senders_for "$n")
		for rep in $(seq "$REPS"); do
			both latency 4194304 "$rep" -n "$n" -s "$s" \
			    -m $((RATE * RATE_SECS)) -r "$RATE" -b "$BYTES" \
			    -w "$WINDOW"
		done
	done
}

# One client that never reads, 10 senders flooding, 100 readers.
slow() {
	local rep
	for rep in $(seq "$SLOW_REPS"); do
		both slow-256k 262144 "$rep" -n 100 -s 10 -m 20000 -k 1 \
		    -b "$BYTES" -w "$WINDOW"
		both noslow-256k 262144 "$rep" -n 100 -s 10 -m 20000 -k 0 \
		    -b "$BYTES" -w "$WINDOW"
		both slow-4m 4194304 "$rep" -n 100 -s 10 -m 20000 -k 1 \
		    -b "$BYTES" -w "$WINDOW"
	done
}

report() {
	awk -v baseline="$2" -v window="$WINDOW" '
function med(key, n, i, j, v, a) {
	n = cnt[key]
	if (n == 0)
		return ""
	for (i = 1; i <= n; i++)
		a[i] = val[key, i] + 0
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	lo[key] = a[1]; hi[key] = a[n]
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function m(lab, mode, c, k) { return med(lab SUBSEP mode SUBSEP c SUBSEP k) }
function ratio(x, y) { return (y + 0 == 0) ? "-" : sprintf("%.2f", x / y) }
{
	delete f
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		f[kv[1]] = kv[2]
	}
	lab = f["label"]; mode = f["mode"]; c = f["clients"]
	if (!((mode, c) in seen)) {
		seen[mode, c] = 1
		order[mode] = order[mode] " " c
	}
	labs[lab] = 1
	f["cpu_ns_per_delivery"] = 0
	if (f["deliveries"] > 0)
		f["cpu_ns_per_delivery"] = f["srv_cpu_s"] * 1e9 / f["deliveries"]
	f["srv_cpu_pct"] = f["bench_cpu_pct"] = 0
	if (f["elapsed_s"] > 0) {
		f["srv_cpu_pct"] = 100 * f["srv_cpu_s"] / f["elapsed_s"]
		f["bench_cpu_pct"] = 100 * f["bench_cpu_s"] / f["elapsed_s"]
	}
	for (k in f) {
		key = lab SUBSEP mode SUBSEP c SUBSEP k
		val[key, ++cnt[key]] = f[k]
	}
	sumk = lab SUBSEP mode SUBSEP c
	lost[sumk] += f["lost"]; reord[sumk] += f["reordered"]
	if (f["rc"] != 0) failed[sumk]++
	runs[sumk]++
	msgs[sumk] = f["msgs"]; snd[sumk] = f["senders"]
}
END {
	nl = split("A B", L, " ")
	for (li = 1; li <= nl; li++) {
		lab = L[li]
		if (!(lab in labs))
			continue
		name = lab == "A" ? "CHATD" : "BASELINE"
		if ("throughput" in order) {
			printf "\n### Throughput (%s): closed loop, medians\n\n", name
			print "| clients | senders x lines | deliveries/s (min-max) | p50 ms | p99 ms | max ms | join s | chatd CPU % | chatd ns/delivery | bench CPU % | chatd peak RSS MB | lost | reordered | failed runs |"
			print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			n = split(order["throughput"], C, " ")
			for (i = 1; i <= n; i++) {
				c = C[i]; sk = lab SUBSEP "throughput" SUBSEP c
				if (!(sk in runs)) continue
				d = m(lab, "throughput", c, "deliveries_per_s")
				dk = lab SUBSEP "throughput" SUBSEP c SUBSEP "deliveries_per_s"
				printf "| %d | %d x %d | %.2fM (%.2f-%.2f) | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.1f | %d | %d | %d/%d |\n",
				    c, snd[sk], msgs[sk], d / 1e6, lo[dk] / 1e6, hi[dk] / 1e6,
				    m(lab, "throughput", c, "p50_us") / 1e3,
				    m(lab, "throughput", c, "p99_us") / 1e3,
				    m(lab, "throughput", c, "max_us") / 1e3,
				    m(lab, "throughput", c, "join_s"),
				    m(lab, "throughput", c, "srv_cpu_pct"),
				    m(lab, "throughput", c, "cpu_ns_per_delivery"),
				    m(lab, "throughput", c, "bench_cpu_pct"),
				    m(lab, "throughput", c, "srv_hwm_kb") / 1024,
				    lost[sk], reord[sk], failed[sk], runs[sk]
			}
		}
		if ("latency" in order) {
			printf "\n### Latency (%s): paced senders, medians\n\n", name
			print "| clients | senders x lines/s | deliveries/s | p50 ms | p99 ms | max ms | chatd CPU % | chatd ns/delivery | bench CPU % | chatd peak RSS MB | lost | reordered | failed runs |"
			print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			n = split(order["latency"], C, " ")
			for (i = 1; i <= n; i++) {
				c = C[i]; sk = lab SUBSEP "latency" SUBSEP c
				if (!(sk in runs)) continue
				printf "| %d | %d x %g | %.0f | %.3f | %.3f | %.3f | %.0f | %.0f | %.0f | %.1f | %d | %d | %d/%d |\n",
				    c, snd[sk], m(lab, "latency", c, "rate"),
				    m(lab, "latency", c, "deliveries_per_s"),
				    m(lab, "latency", c, "p50_us") / 1e3,
				    m(lab, "latency", c, "p99_us") / 1e3,
				    m(lab, "latency", c, "max_us") / 1e3,
				    m(lab, "latency", c, "srv_cpu_pct"),
				    m(lab, "latency", c, "cpu_ns_per_delivery"),
				    m(lab, "latency", c, "bench_cpu_pct"),
				    m(lab, "latency", c, "srv_hwm_kb") / 1024,
				    lost[sk], reord[sk], failed[sk], runs[sk]
			}
		}
		ns = 0
		for (mode in order)
			if (mode ~ /slow/) ns++
		if (ns) {
			printf "\n### Slow reader (%s): 100 readers, 10 senders x 20000 lines, window %s; medians (max)\n\n", name, window
			print "| run | output_limit | never-reading clients | chatd peak RSS MB (max) | slow client dropped (notices/run) | dropped after s | lines broadcast before the drop | deliveries/s | other drops | lost |"
			print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			split("slow-256k noslow-256k slow-4m", V, " ")
			for (v = 1; v <= 3; v++) {
				mode = V[v]; c = 100; sk = lab SUBSEP mode SUBSEP c
				if (!(sk in runs)) continue
				h = m(lab, mode, c, "srv_hwm_kb")
				hk = lab SUBSEP mode SUBSEP c SUBSEP "srv_hwm_kb"
				printf "| %s | %s | %d | %.1f (%.1f) | %s | %s | %s | %.2fM | %d | %d |\n",
				    mode, mode ~ /4m/ ? "4194304" : "262144",
				    m(lab, mode, c, "slow"), h / 1024, hi[hk] / 1024,
				    m(lab, mode, c, "slow_dropped"),
				    m(lab, mode, c, "slow_drop_s"),
				    m(lab, mode, c, "slow_drop_lines"),
				    m(lab, mode, c, "deliveries_per_s") / 1e6,
				    m(lab, mode, c, "other_dropped"), lost[sk]
			}
		}
	}
	if (!baseline)
		exit
	print "\n### CHATD / BASELINE (ratio of medians; deliveries/s > 1 is better, the rest < 1 is better)\n"
	print "| test | clients | deliveries/s | p50 | p99 | chatd ns/delivery | chatd peak RSS |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	split("throughput latency slow-256k noslow-256k slow-4m", V, " ")
	for (v = 1; v <= 5; v++) {
		mode = V[v]
		if (!(mode in order)) continue
		n = split(order[mode], C, " ")
		for (i = 1; i <= n; i++) {
			c = C[i]
			printf "| %s | %d | %s | %s | %s | %s | %s |\n", mode, c,
			    ratio(m("A", mode, c, "deliveries_per_s"), m("B", mode, c, "deliveries_per_s")),
			    ratio(m("A", mode, c, "p50_us"), m("B", mode, c, "p50_us")),
			    ratio(m("A", mode, c, "p99_us"), m("B", mode, c, "p99_us")),
			    ratio(m("A", mode, c, "cpu_ns_per_delivery"), m("B", mode, c, "cpu_ns_per_delivery")),
			    ratio(m("A", mode, c, "srv_hwm_kb"), m("B", mode, c, "srv_hwm_kb"))
		}
	}
}' "$1"
}

if [ "${modes[0]}" = report ]; then
	# re-print the tables of an earlier run: run.sh report RAWFILE
	[ ${#modes[@]} -eq 2 ] || die "usage: run.sh report RAWFILE"
	grep -q '^label=B ' "${modes[1]}" && b=1 || b=
	report "${modes[1]}" "$b"
	exit 0
fi

for b in "$CHATD" ${BASELINE:+"$BASELINE"}; do
	[ -x "$b" ] || die "$b: not an executable (build chatd first)"
done
$CC -O2 -Wall -Wextra -std=c11 -o "$work/chatbench" "$here/chatbench.c" ||
    die "cannot build chatbench"
bench=$work/chatbench
: >"$RAW"

for m in "${modes[@]}"; do
	case $m in
	throughput) throughput ;;
	latency) latency ;;
	slow) slow ;;
	all) throughput; latency; slow ;;
	*) die "unknown mode $m (throughput, latency, slow, all)" ;;
	esac
done

echo
echo "CHATD=$CHATD${BASELINE:+  BASELINE=$BASELINE}  reps=$REPS  $(nproc) CPUs  $(date -u +%FT%TZ)"
echo "raw results: $RAW"
report "$RAW" "${BASELINE:+1}"
