#!/usr/bin/env bash
#
# What a Prometheus scrape every second costs under the fan-out load:
# REPS pairs of runs of "chatbench -n 1000 -s 10 -w 16 -b 64 -t DURATION"
# against a fresh chatd with [metrics] on, one run of each pair with a
# scraper fetching /metrics every second, the other without; the order
# within a pair alternates.  Prints each run, then the median
# deliveries/s of each side and their ratio.  See doc/performance.md.
#
#   CHATD=path  CHATBENCH=path  PLUGINS=dir   as for bench/run.sh
#   REPS=5  DURATION=5  INTERVAL=1 (seconds between scrapes)
#
# Servers and scrapers are started here and stopped by their PID.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CHATD=${CHATD:-$top/chatd}
CHATBENCH=${CHATBENCH:-$top/chatbench}
PLUGINS=${PLUGINS:-$top/plugins}
REPS=${REPS:-5}
DURATION=${DURATION:-5}
INTERVAL=${INTERVAL:-1}

work=$(mktemp -d /tmp/metrics-cost.XXXXXX)
spid= cpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null || true
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

cat >"$work/chatd.ini" <<EOT
[server]
bind = 127.0.0.1
port = 0
idle_timeout = 0
show_addresses = true
[limits]
lines_per_second = 0
bytes_per_second = 0
max_per_ip = 0
connects_per_second = 0
[lua]
path = $PLUGINS
[metrics]
port = 0
EOT

# run MODE: one fresh server, one chatbench run; prints deliveries/s.
run() {
	local mode=$1 port mport scrapes=0 line
	"$CHATD" -c "$work/chatd.ini" 2>"$work/log" &
	spid=$!
	for _ in $(seq 100); do
		grep -q 'serving metrics' "$work/log" 2>/dev/null && break
		sleep 0.05
	done
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
		"$work/log" | head -n 1)
	mport=$(sed -n 's|.*metrics at http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		"$work/log")
	[ -n "$port" ] && [ -n "$mport" ] || { cat "$work/log"; exit 1; }
	if [ "$mode" = scrape ]; then
		(while :; do
			curl -s -o /dev/null "http://127.0.0.1:$mport/metrics"
			sleep "$INTERVAL"
		done) &
		cpid=$!
	fi
	line=$("$CHATBENCH" -p "$port" -n 1000 -s 10 -w 16 -b 64 \
		-t "$DURATION" -P "$spid" | tail -n 1)
	if [ -n "$cpid" ]; then
		kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=
	fi
	scrapes=$(curl -s "http://127.0.0.1:$mport/metrics" |
		awk '/^chatd_http_responses_total\{code="200"\}/ {print $2}')
	kill "$spid"; wait "$spid" 2>/dev/null || true; spid=
	echo "$line" | tr ' ' '\n' | sed -n 's/^deliveries_per_s=//p' |
		tr '\n' ' '
	echo "scrapes=${scrapes:-0}"
}

median() {
	sort -g | awk '{ a[NR] = $1 }
	    END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

: >"$work/none"; : >"$work/scrape"
for i in $(seq "$REPS"); do
	if [ $((i % 2)) -eq 1 ]; then order="none scrape"; else order="scrape none"; fi
	for m in $order; do
		r=$(run "$m")
		echo "run $i $m: deliveries/s $r"
		echo "${r%% *}" >>"$work/$m"
	done
done
a=$(median <"$work/none"); b=$(median <"$work/scrape")
echo "median deliveries/s: no scraping $a, scraping every ${INTERVAL}s $b," \
	"ratio $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')"
