#!/usr/bin/env bash
#
# The pause an upgrade (SIGUSR2) costs the clients of a busy room.  For
# each N of SIZES, REPS rounds of two runs of
#   chatbench -n N -s 10 -r RATE -b 64 -t DURATION
# (RATE = DELIVERIES / N lines per second, so that the server delivers
# the same number of lines per second whatever the size of the room)
# against a fresh chatd: one against BASELINE (a build without upgrades,
# or CHATD itself) left alone, one against CHATD upgraded (-U) halfway
# through, to a copy of its own binary.  The order within a round
# alternates.  chatbench checks that every line arrives once and in
# order; each run prints the longest wait any client had between two
# lines, and an upgraded run also what the two processes log: how long
# the old one took to hand over (settle, snapshot, send, wait for the
# answer) and the new one to adopt.  Then the medians per N.  See
# doc/performance.md.
#
#   CHATD=path  CHATBENCH=path  PLUGINS=dir   as for bench/run.sh
#   BASELINE=path   the chatd run without an upgrade (default: CHATD)
#   BASELINE_PLUGINS=dir   [lua] path for BASELINE (default: PLUGINS)
#   SIZES="1000 5000"  REPS=3  DURATION=4  DELIVERIES=500000 (per second)
#
# Servers are started here and stopped by their PID (after an upgrade,
# the pid the log names); nothing else is touched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CHATD=${CHATD:-$top/chatd}
CHATBENCH=${CHATBENCH:-$top/chatbench}
PLUGINS=${PLUGINS:-$top/plugins}
BASELINE=${BASELINE:-$CHATD}
BASELINE_PLUGINS=${BASELINE_PLUGINS:-$PLUGINS}
SIZES=${SIZES:-1000 5000}
REPS=${REPS:-3}
DURATION=${DURATION:-4}
DELIVERIES=${DELIVERIES:-500000}

work=$(mktemp -d /tmp/upgrade-pause.XXXXXX)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

# Each server runs from a copy: an upgrade starts the file it came from.
cp "$CHATD" "$work/chatd-a"
cp "$BASELINE" "$work/chatd-b"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# run N MODE: one fresh server ("base" or "upgrade"), one chatbench run.
# Prints "gap_ms [handover_ms adopt_ms]".
run() {
	local n=$1 mode=$2 bin plugins port out gap hand adopt newpid i
	bin=$work/chatd-b plugins=$BASELINE_PLUGINS
	[ "$mode" = upgrade ] && bin=$work/chatd-a plugins=$PLUGINS
	cat >"$work/chatd.ini" <<EOT
[server]
bind = 127.0.0.1
port = 0
max_clients = $((n + 100))
idle_timeout = 0
[limits]
lines_per_second = 0
[lua]
path = $plugins
EOT
	: >"$work/log"
	"$bin" -c "$work/chatd.ini" 2>"$work/log" &
	spid=$!
	for i in $(seq 100); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' \
		    "$work/log" | head -1)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { echo "chatd did not start:" >&2; cat "$work/log" >&2
		exit 1; }
	local up= rate=$((DELIVERIES / n))
	[ "$mode" = upgrade ] && up="-U $(awk "BEGIN { print $DURATION / 2 }")"
	out=$("$CHATBENCH" -p "$port" -n "$n" -s 10 -r "$rate" -b 64 \
	    -t "$DURATION" -P "$spid" -d 300 $up) || {
		echo "chatbench failed: $out" >&2; exit 1; }
	gap=$(echo "$out" | tail -1 | field gap_max_us)
	if [ "$mode" = upgrade ]; then
		hand=$(sed -n 's/.*handed to pid [0-9]* in \([0-9.]*\) ms.*/\1/p' \
		    "$work/log")
		adopt=$(sed -n 's/.*upgrade: took .* in \([0-9.]*\) ms (.*/\1/p' \
		    "$work/log")
		newpid=$(sed -n 's/.*handed to pid \([0-9]*\) in.*/\1/p' \
		    "$work/log")
		wait "$spid" || true
		spid=$newpid
	fi
	kill "$spid"
	# The new process of an upgrade is not our child: wait by pid.
	for i in $(seq 200); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$spid" 2>/dev/null || true
	spid=
	awk "BEGIN { printf \"%.1f\", $gap / 1000 }"
	[ "$mode" = upgrade ] && printf ' %s %s' "$hand" "$adopt"
	echo
}

echo "chatbench -n N -s 10 -r $DELIVERIES/N -b 64 -t $DURATION, upgrade (-U) at" \
    "$(awk "BEGIN { print $DURATION / 2 }") s; REPS=$REPS"
echo "A (upgraded): $CHATD"
echo "B (left alone): $BASELINE"
for n in $SIZES; do
	: >"$work/a.$n"
	: >"$work/b.$n"
	for r in $(seq "$REPS"); do
		if [ $((r % 2)) = 1 ]; then
			b=$(run "$n" base); a=$(run "$n" upgrade)
		else
			a=$(run "$n" upgrade); b=$(run "$n" base)
		fi
		echo "N=$n round $r: B longest wait $b ms;" \
		    "A longest wait, hand-over, adoption (ms): $a"
		echo "$a" >>"$work/a.$n"
		echo "$b" >>"$work/b.$n"
	done
	echo "N=$n medians: B longest wait $(median <"$work/b.$n") ms;" \
	    "A longest wait $(cut -d' ' -f1 "$work/a.$n" | median) ms," \
	    "hand-over $(cut -d' ' -f2 "$work/a.$n" | median) ms," \
	    "adoption $(cut -d' ' -f3 "$work/a.$n" | median) ms"
done
