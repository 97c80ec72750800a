#!/usr/bin/env bash
#
# chatbench --ws against plain TCP on the same chatd, interleaved: the
# fan-out (CLIENTS readers, SENDERS of them sending SIZE-byte lines flat
# out for DURATION seconds) over WebSocket and over TCP, then the RSS per
# idle connection at IDLE clients over each.  With BASELINE=path (a chatd
# built from main) its TCP fan-out is run interleaved too, for the ratio
# of this build's plain TCP against it.  With WSS=1 the fan-out is run
# over wss:// too ([websocket] tls = true, a self-signed certificate made
# here; chatbench --ws --tls does a full handshake per client), for the
# ratio of wss against ws.  IDLE=0 skips the idle runs.  Medians of REPS
# runs.  See doc/performance.md.
#
#   CHATD=path CHATBENCH=path PLUGINS=dir BASELINE=path WSS=1
#   REPS=3 DURATION=5 CLIENTS=1000 SENDERS=10 SIZE=64 IDLE=10000
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
CHATD=${CHATD:-$top/chatd}
CHATBENCH=${CHATBENCH:-$top/chatbench}
PLUGINS=${PLUGINS:-$top/plugins}
BASELINE=${BASELINE:-}
REPS=${REPS:-3}
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-1000}
SENDERS=${SENDERS:-10}
SIZE=${SIZE:-64}
IDLE=${IDLE:-10000}
WSS=${WSS:-}

work=$(mktemp -d)
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
if [ -n "$WSS" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 1 -subj /CN=localhost -keyout "$work/key.pem" \
	    -out "$work/cert.pem" 2>/dev/null
fi

# start BINARY WS: a fresh chatd (WS: ws, with a [websocket] listener;
# wss, one with tls = true); sets spid, port (TCP) and wport (WebSocket)
start() {
	cat >"$work/chatd.ini" <<-EOF
	[server]
	bind = 127.0.0.1
	port = 0
	max_clients = 1000000
	idle_timeout = 0
	[limits]
	lines_per_second = 0
	max_per_ip = 0
	connects_per_second = 0
	[lua]
	path = $PLUGINS
	[log]
	level = info
	EOF
	if [ "$2" = ws ] || [ "$2" = wss ]; then
		printf '[websocket]\nbind = 127.0.0.1\nport = 0\n' \
		    >>"$work/chatd.ini"
	fi
	if [ "$2" = wss ]; then
		printf 'tls = true\n[tls]\ncert = %s\nkey = %s\n' \
		    "$work/cert.pem" "$work/key.pem" >>"$work/chatd.ini"
	fi
	: >"$work/chatd.log"
	"$1" -c "$work/chatd.ini" 2>"$work/chatd.log" &
	spid=$!
	port= wport=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
		    "$work/chatd.log" | head -1)
		wport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (websocket).*/\1/p' \
		    "$work/chatd.log" | head -1)
		[ -n "$port" ] && { [ "$2" = tcp ] || [ -n "$wport" ]; } &&
		    return 0
		sleep 0.05
	done
	cat "$work/chatd.log" >&2
	echo "chatd did not start" >&2
	exit 2
}
stop() {
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	spid=
}
# value KEY LINE: the value of KEY in chatbench's key=value line
value() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/fan" ; : >"$work/idle"
for r in $(seq "$REPS"); do
	for what in tcp ws wss base; do
		[ "$what" = base ] && [ -z "$BASELINE" ] && continue
		[ "$what" = wss ] && [ -z "$WSS" ] && continue
		if [ "$what" = base ]; then start "$BASELINE" tcp
		elif [ "$what" = wss ]; then start "$CHATD" wss
		else start "$CHATD" ws; fi
		args="-p $port"
		[ "$what" = ws ] && args="-p $wport --ws"
		[ "$what" = wss ] && args="-p $wport --ws --tls"
		out=$("$CHATBENCH" $args -P "$spid" -n "$CLIENTS" \
		    -s "$SENDERS" -b "$SIZE" -t "$DURATION" | tail -1)
		stop
		echo "$what $(value deliveries_per_s "$out") $(value lost "$out") $out" >>"$work/fan"
		echo "fanout $what run $r: $(value deliveries_per_s "$out") deliveries/s, lost $(value lost "$out")" >&2
	done
	[ "$IDLE" = 0 ] && continue
	for what in tcp ws; do
		start "$CHATD" ws
		args="-p $port"
		[ "$what" = ws ] && args="-p $wport --ws"
		out=$("$CHATBENCH" $args -P "$spid" -n "$IDLE" --idle -d 400 | tail -1)
		stop
		echo "$what $(value rss_per_conn_b "$out") $out" >>"$work/idle"
		echo "idle $what run $r: $(value rss_per_conn_b "$out") B/connection" >&2
	done
done
cat "$work/fan" "$work/idle" >&2
for what in tcp ws wss base; do
	m=$(awk -v w=$what '$1 == w { print $2 }' "$work/fan" | median)
	[ -n "$m" ] && echo "fanout_$what=$m"
done
t=$(awk '$1 == "tcp" { print $2 }' "$work/fan" | median)
w=$(awk '$1 == "ws" { print $2 }' "$work/fan" | median)
echo "ratio_ws_tcp=$(awk -v a="$w" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
if [ -n "$WSS" ]; then
	s=$(awk '$1 == "wss" { print $2 }' "$work/fan" | median)
	echo "ratio_wss_ws=$(awk -v a="$s" -v b="$w" 'BEGIN { printf "%.2f", a / b }')"
fi
if [ -n "$BASELINE" ]; then
	b=$(awk '$1 == "base" { print $2 }' "$work/fan" | median)
	echo "ratio_tcp_base=$(awk -v a="$t" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
fi
[ "$IDLE" = 0 ] && exit 0
for what in tcp ws; do
	echo "idle_rss_per_conn_$what=$(awk -v w=$what '$1 == w { print $2 }' "$work/idle" | median)"
done
