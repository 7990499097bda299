#!/usr/bin/env bash
# RTMP live fan-out figures for issue 7 (docs/rtmp.md): one 2 Mbit/s
# publisher (ffmpeg -re, 640x360 30 fps, 2 s GOP) and PLAYERS cheap players
# (scripts/rtmpbench, go-rtmp's chunk layer, no decoding) on loopback, for
# openfront's RTMP server and nginx's RTMP module in the same run. For each:
# server CPU per player-second (utime+stime over the middle of the publish),
# RSS per player (VmRSS with players minus before them), and the frames each
# player received out of those published.
#
#   scripts/bench-rtmp.sh
#
# Environment: PLAYERS (200), SECONDS_ (30: publish length), SERVER_CPU (0),
# LOAD_CPU (1), PORT (19350, uses the next one too), KEEP=1 keeps the work dir,
# PROFILE=1 writes openfront's CPU profile there (cpu.pprof), FLUSH=200ms sets
# openfront's live FlushInterval (default 200ms).
# Needs ffmpeg, nginx with libnginx-mod-rtmp, taskset, go.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in ffmpeg nginx taskset go; do
	command -v "$tool" >/dev/null || { echo "bench-rtmp: $tool is missing" >&2; exit 1; }
done
MOD=/usr/lib/nginx/modules/ngx_rtmp_module.so
[ -f "$MOD" ] || { echo "bench-rtmp: $MOD is missing (apt-get install -y libnginx-mod-rtmp)" >&2; exit 1; }

PLAYERS=${PLAYERS:-200}
SECS=${SECONDS_:-30}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-19350}
WORK=$(mktemp -d)
cleanup() {
	jobs -p | xargs -r kill 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "work dir: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

echo "building..." >&2
go build -o "$WORK/rtmpbench" ./scripts/rtmpbench
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440 -t 20 \
	-c:v libx264 -preset veryfast -b:v 1900k -maxrate 2M -bufsize 2M -g 60 -pix_fmt yuv420p \
	-c:a aac -b:a 96k -f flv "$WORK/src.flv"

# openfront: a streaming distribution with live enabled.
KEY=benchkey
SHA=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)
mkdir -p "$WORK/config"
cat >"$WORK/config/main.cue" <<CUE
package cdn

streamingDistributions: tv: {
	aliases: ["tv.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: "http://127.0.0.1:9", bucket: "media", region: "us-east-1"}
	live: {enabled: true, streamKeySHA256: ["$SHA"]}
}
CUE

# nginx-rtmp: the Debian module, one worker, as a stock live application.
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGINX
load_module $MOD;
worker_processes 1;
daemon off;
master_process off;
error_log $WORK/nginx/logs/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
rtmp {
	server {
		listen 127.0.0.1:$((PORT + 1));
		chunk_size 4096;
		application live { live on; }
	}
}
NGINX

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# run NAME PID PLAY_URL PUBLISH_URL TCURL: players, then the publisher.
run() {
	local name=$1 pid=$2 play=$3 publish=$4 tc=$5
	sleep 1
	local rss0; rss0=$(rss_kib "$pid")
	taskset -c "$LOAD_CPU" "$WORK/rtmpbench" play -url "$play" -tcurl "$tc" -n "$PLAYERS" >"$WORK/$name.json" 2>"$WORK/$name.players.log" &
	local players=$!
	sleep 3
	taskset -c "$LOAD_CPU" ffmpeg -v error -nostdin -re -stream_loop -1 -i "$WORK/src.flv" -t "$SECS" -c copy \
		-rtmp_tcurl "$tc" -f flv "$publish" 2>"$WORK/$name.publish.log" &
	local pub=$!
	local warm=$((SECS / 6)) span=$((SECS * 2 / 3))
	sleep "$warm"
	local t0; t0=$(ticks "$pid")
	sleep $((span / 2))
	local rss1; rss1=$(rss_kib "$pid")
	sleep $((span - span / 2))
	local t1; t1=$(ticks "$pid")
	wait "$pub" || true
	wait "$players" || true
	local frames=$((SECS * 30))
	python3 - "$name" "$WORK/$name.json" "$t0" "$t1" "$HZ" "$span" "$PLAYERS" "$rss0" "$rss1" "$frames" <<'PY'
import json, sys
name, path, t0, t1, hz, span, n, rss0, rss1, frames = sys.argv[1:]
r = json.load(open(path))
cpu_ms = (int(t1) - int(t0)) * 1000 / int(hz)
per = cpu_ms / (int(span) * int(n))
got = sorted(r["frames"])
ok = sum(1 for f in got if f >= 0.99 * int(frames))
errs = [e for e in r["errors"] if e]
print(f"{name:9} cpu {cpu_ms/int(span)/10:5.1f}% of a core, {per:.3f} ms per player-second; "
      f"rss {int(rss0)/1024:.1f} -> {int(rss1)/1024:.1f} MiB, {(int(rss1)-int(rss0))/int(n):.0f} KiB per player; "
      f"frames min/median {got[0]}/{got[len(got)//2]} of ~{frames}, {ok}/{n} players >= 99%"
      + (f"; {len(errs)} errors, e.g. {errs[0]}" if errs else ""))
PY
}

echo "openfront: $PLAYERS players, ${SECS}s publish" >&2
taskset -c "$SERVER_CPU" "$WORK/rtmpbench" serve -config "$WORK/config" -addr "127.0.0.1:$PORT" ${PROFILE:+-cpuprofile "$WORK/cpu.pprof"} ${FLUSH:+-flush "$FLUSH"} 2>"$WORK/openfront.log" &
OF=$!
run openfront "$OF" "rtmp://127.0.0.1:$PORT/live/bench" "rtmp://127.0.0.1:$PORT/live/bench?key=$KEY" "rtmp://tv.test/live"
kill "$OF"; wait "$OF" 2>/dev/null || true

echo "nginx-rtmp: $PLAYERS players, ${SECS}s publish" >&2
taskset -c "$SERVER_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NG=$!
run nginx-rtmp "$NG" "rtmp://127.0.0.1:$((PORT + 1))/live/bench" "rtmp://127.0.0.1:$((PORT + 1))/live/bench" "rtmp://127.0.0.1:$((PORT + 1))/live"
kill "$NG"; wait "$NG" 2>/dev/null || true
