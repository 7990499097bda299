#!/usr/bin/env bash
# Edge figures for issue 3's performance targets; the method and the
# figures are in docs/benchmarks.md.
#
#   scripts/bench-edge.sh [hits] [h2] [tls] [h3] [coalesce] [memory] [profile]
#
# With no argument it runs the first four:
#   hits      cache hits over HTTP/1.1 keep-alive, wrk -c 50 -t 1, 1 KiB and
#             100 KiB: openfront vs nginx proxy_cache vs a bare Go net/http server
#   h2        cache hits over HTTP/2 with TLS, h2load -c 50 -m 10 -t 1, the same
#             objects and targets (nginx "listen ... ssl http2", the bare server's
#             net/http TLS listener), all three with one self-signed ECDSA
#             certificate; not in the default set (needs h2load:
#             apt-get install -y nghttp2-client)
#   tls       cache hits over HTTP/1.1 with TLS, h2load --h1 -c 50 -m 1 -t 1 (one
#             request in flight a connection, as wrk), the h2 section's ports
#             and targets; not in the default set (needs h2load)
#   h3        cache hits over HTTP/3 (edgebench h3load on quic-go's
#             http3.Transport): openfront vs a bare quic-go http3 server
#   coalesce  200 simultaneous requests for one uncached key: origin requests
#   memory    --cache-memory 64MiB, 20,000 distinct 100 KiB objects: VmHWM/VmRSS
#   profile   a 10 s CPU profile of openfront serving 1 KiB hits (pprof top;
#             PROFILE_LOGS=1: with the distribution's access log on;
#             PROFILE_H2=1: over HTTP/2 with h2load, and the bare server's too)
#   kernel    perf profiles (kernel and user) of each HTTP/1 target serving
#             PROFILE_SIZE (100k) hits, side by side
#   signed    cache hits with a signed URL and with signed cookies against the
#             same object unprotected, on one node (issue 5: >= 0.8x)
#   logcost   what the access log costs a hit (issue 6: <= 5%), on one node:
#             the same object through a distribution that logs and one that
#             does not, in LOGCOST_ROUNDS (30) short alternating runs of
#             LOGCOST_DURATION (1s), so the two share the process and the
#             machine's drift (this host changes speed within seconds: many
#             short rounds give a median good to about one percent,
#             where 10 rounds of 3s moved by 2% between runs);
#             LOGCOST_TLS=1 also over HTTPS (logcost-tls);
#             LOGCOST_RATE=N also at a fixed N requests/s (edgebench rate,
#             HTTP only; groups GROUP-rN): below saturation both targets
#             get the same request pattern, so the server's CPU per request
#             differs by the logging alone, not by how often the load
#             generator's core idles (see docs/benchmarks.md)
#
# Servers run on SERVER_CPU, load generators on LOAD_CPU (taskset). Each
# round runs every target once, in a rotated order; ratios are taken within
# a round and the table shows medians. A run during which other processes
# used more than MAX_FOREIGN cores is repeated (up to 4 times): the machine
# is shared.
#
# Environment: ROUNDS (3), DURATION (10s), SIZES ("1k 100k": objects for hits), SERVER_CPU (0), LOAD_CPU (1),
# MAX_FOREIGN (0.10), H3_CONNS (8), H3_STREAMS (16), H2_CONNS (50),
# H2_STREAMS (10), BASE_PORT (18080: uses the next 28 ports too), KEEP=1
# keeps the work directory (logs, profiles).
# EDGE_HEADERS=1 adds a target "bare+hdr": the bare server also sending the
# fields an openfront hit adds (what the header count alone costs).
# BEFORE=FILE adds a target "before": another openfront binary (an older
# build), for before/after figures taken in the same rounds; in logcost,
# a second node of that binary whose runs (logcost-before) alternate with
# the first's.
# GC_ENV="GOGC=400 GOMEMLIMIT=164MiB" adds a target "gc-tuned": this build
# run with that environment (and a second memory run with it).
# LOGS=1 adds a target "logging": the same distribution with
# logging.enabled, the node writing its access log to --log-dir; and
# "nginx+logs": the nginx target writing a gzipped access log of
# CloudFront's fields (nginx's own cost of logging, for reference).
# Needs wrk, nginx (apt-get install -y wrk nginx), taskset, curl; nginx runs
# from a temporary config on loopback, not as a service.
# shellcheck disable=SC2154 # the NAME_pid variables are set by start (printf -v)
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in wrk nginx taskset curl go openssl; do
	command -v "$tool" >/dev/null || { echo "bench-edge: $tool is missing (apt-get install -y wrk nginx)" >&2; exit 1; }
done
sections=${*:-hits h3 coalesce memory}
rounds=${ROUNDS:-3}
dur=${DURATION:-10s}
scpu=${SERVER_CPU:-0}
lcpu=${LOAD_CPU:-1}
maxf=${MAX_FOREIGN:-0.10}
base=${BASE_PORT:-18080}
of_http=$base origin=$((base + 1)) nginx_port=$((base + 2)) bare_http=$((base + 3))
of_https=$((base + 4)) bare_h3=$((base + 5)) mem_http=$((base + 6)) mem_https=$((base + 7))
prof_http=$((base + 8)) pprof=$((base + 9))
hdr_http=$((base + 10)) hdr_h3=$((base + 11)) before_http=$((base + 12)) before_https=$((base + 13))
gc_http=$((base + 14)) gc_https=$((base + 15)) signed_http=$((base + 16)) signed_https=$((base + 17))
log_http=$((base + 18)) log_https=$((base + 19)) nginx_log_port=$((base + 20)) logcost_http=$((base + 21))
logcost_before_http=$((base + 22)) logcost_https=$((base + 23)) logcost_before_https=$((base + 24))
nginx_h2=$((base + 25)) bare_https=$((base + 26)) prof_https=$((base + 27)) bare_pprof=$((base + 28))

work=$(mktemp -d)
started=()
cleanup() {
	for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building"
go build -o "$work/openfront" .
go build -o "$work/edgebench" ./scripts/edgebench
eb=$work/edgebench
results=$work/results.jsonl

# start NAME CPU CMD...: runs CMD pinned to CPU in the background; its pid
# (taskset execs CMD) goes into NAME_pid.
start() {
	local name=$1 cpu=$2
	shift 2
	taskset -c "$cpu" "$@" >"$work/$name.log" 2>&1 &
	started+=($!)
	printf -v "${name}_pid" '%s' $!
}

# stop NAME: ends a process started by start.
stop() {
	local pid_var="${1}_pid"
	kill "${!pid_var}" 2>/dev/null || true
	wait "${!pid_var}" 2>/dev/null || true
}

wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "bench-edge: $1 did not come up" >&2
	exit 1
}

# warm URL WANT: requests URL until its X-Cache says WANT (a hit).
warm() {
	for _ in 1 2 3; do
		curl -s -o /dev/null -D "$work/warm.h" "$1"
		if grep -qi "^x-cache: $2" "$work/warm.h"; then return 0; fi
	done
	echo "bench-edge: $1 is not a cache hit:" >&2
	cat "$work/warm.h" >&2
	exit 1
}

write_config() {
	mkdir -p "$work/config"
	cat >"$work/config/main.cue" <<EOF
package bench

import "openfront.dev/schema"

schema.#Config

distributions: bench: {
	aliases: ["127.0.0.1", "localhost"]
	httpVersion: "http2and3"
	origins: [{
		id:         "origin"
		domainName: "127.0.0.1"
		customOriginConfig: {originProtocolPolicy: "http-only", httpPort: $origin}
	}]
	defaultCacheBehavior: {
		targetOriginId:       "origin"
		viewerProtocolPolicy: "allow-all"
		defaultTTL:           86400
	}
}
EOF
}

# write_cert: the one certificate every TLS target serves (ECDSA P-256, as
# openfront's own self-signed default), so TLS costs the same for each.
write_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
	chmod 644 "$work/key.pem"
}

write_nginx() {
	local d=$work/nginx
	mkdir -p "$d/cache" "$d/tmp"
	# Started as root, nginx's worker runs as nobody: it must reach its cache.
	chmod 755 "$work" "$d"
	chmod 777 "$d/cache" "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
# Debian's nginx, one worker (like the one core openfront gets), tuned
# for the hit path: no access log on its first port (openfront writes
# none either),
# unlimited keep-alive requests, sendfile without TCP_CORK (with
# tcp_nopush, 100 KiB hits stall on delayed ACKs: ~1,300 req/s).
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
	sendfile on;
	tcp_nodelay on;
	keepalive_timeout 75s;
	keepalive_requests 100000000;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	proxy_cache_path $d/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1d use_temp_path=off;
	upstream origin { server 127.0.0.1:$origin; keepalive 16; }
	# With LOGS=1 a second port logs each request as CloudFront's 33
	# tab-separated fields would be, gzipped (level 1) in 64 KiB buffers:
	# what logging costs nginx, on the same cache.
	log_format cloudfront '\$time_iso8601\t-\tbench\t\$bytes_sent\t\$remote_addr\t\$request_method\t\$host\t\$uri\t\$status\t\$http_referer\t\$http_user_agent\t\$args\t-\t\$upstream_cache_status\t\$request_id\t\$host\t\$scheme\t\$request_length\t\$request_time\t\$http_x_forwarded_for\t-\t-\t\$upstream_cache_status\t\$server_protocol\t-\t-\t\$remote_port\t\$request_time\t\$upstream_cache_status\t\$sent_http_content_type\t\$sent_http_content_length\t-\t-';
	map \$server_port \$logged { $nginx_log_port 1; default 0; }
	access_log $d/access.log.gz cloudfront gzip=1 buffer=64k flush=1s if=\$logged;
	server {
		listen 127.0.0.1:$nginx_port;
		listen 127.0.0.1:$nginx_log_port;
		# HTTP/2 over TLS (the h2 section); nginx 1.22's form. TLS 1.3,
		# as the Go servers negotiate (1.22's default stops at 1.2).
		listen 127.0.0.1:$nginx_h2 ssl http2;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache bench;
			proxy_cache_valid 200 1d;
			proxy_cache_lock on;
			add_header X-Cache \$upstream_cache_status;
		}
	}
}
EOF
}

# serve_openfront NAME HTTP-PORT HTTPS-ADDR [CMD [CONFIG-DIR]]: the node, as the user runs it.
serve_openfront() {
	local cmd=${4:-"$work/openfront serve"} config=${5:-$work/config}
	# shellcheck disable=SC2086 # cmd is a command and its arguments
	start "$1" "$scpu" $cmd --config "$config" --http "127.0.0.1:$2" --https "$3" \
		--admin "" --rtmp "" --cache-memory 64MiB --node-name bench --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
	wait_http "http://127.0.0.1:$2/obj/1k/up"
}

write_config
write_cert
write_nginx
start origin "$lcpu" "$eb" origin -addr "127.0.0.1:$origin"
wait_http "http://127.0.0.1:$origin/_stats"

need_servers() {
	[ -n "${openfront_pid:-}" ] && return 0
	serve_openfront openfront "$of_http" "127.0.0.1:$of_https"
	start nginx "$scpu" nginx -c "$work/nginx/nginx.conf"
	wait_http "http://127.0.0.1:$nginx_port/obj/1k/up"
	# The worker, not the cache loader (it exits after a minute).
	nginx_pids="$nginx_pid,$(pgrep -P "$nginx_pid" -f "worker process" | paste -sd,)"
	start bare "$scpu" "$eb" bare -http "127.0.0.1:$bare_http" -https "127.0.0.1:$bare_https" -h3 "127.0.0.1:$bare_h3" \
		-tls-cert "$work/cert.pem" -tls-key "$work/key.pem"
	wait_http "http://127.0.0.1:$bare_http/obj/1k/up"
	h1_targets=(nginx bare openfront) h2_targets=(nginx bare openfront) h3_targets=(bare-h3 openfront)
	declare -gA url1 url2 url3 pids_of
	url1=([nginx]=http://127.0.0.1:$nginx_port [bare]=http://127.0.0.1:$bare_http [openfront]=http://127.0.0.1:$of_http)
	# By name: openfront, as CloudFront, offers h2 and h3 only with SNI.
	url2=([nginx]=https://localhost:$nginx_h2 [bare]=https://localhost:$bare_https [openfront]=https://localhost:$of_https)
	url3=([bare-h3]=https://localhost:$bare_h3 [openfront]=https://localhost:$of_https)
	pids_of=([nginx]=$nginx_pids [bare]=$bare_pid [bare-h3]=$bare_pid [openfront]=$openfront_pid)
	if [ -n "${EDGE_HEADERS:-}" ]; then
		start barehdr "$scpu" "$eb" bare -edge-headers -http "127.0.0.1:$hdr_http" -h3 "127.0.0.1:$hdr_h3"
		wait_http "http://127.0.0.1:$hdr_http/obj/1k/up"
		h1_targets+=(bare+hdr) h3_targets+=(bare-h3+hdr)
		url1[bare+hdr]=http://127.0.0.1:$hdr_http url3[bare-h3+hdr]=https://localhost:$hdr_h3
		pids_of[bare+hdr]=$barehdr_pid pids_of[bare-h3+hdr]=$barehdr_pid
	fi
	if [ -n "${BEFORE:-}" ]; then
		serve_openfront before "$before_http" "127.0.0.1:$before_https" "$BEFORE serve"
		h1_targets+=(before) h2_targets+=(before) h3_targets+=(before)
		url1[before]=http://127.0.0.1:$before_http url2[before]=https://localhost:$before_https url3[before]=https://localhost:$before_https
		pids_of[before]=$before_pid
	fi
	if [ -n "${GC_ENV:-}" ]; then
		serve_openfront gctuned "$gc_http" "127.0.0.1:$gc_https" "env $GC_ENV $work/openfront serve"
		h1_targets+=(gc-tuned) h3_targets+=(gc-tuned)
		url1[gc-tuned]=http://127.0.0.1:$gc_http url3[gc-tuned]=https://localhost:$gc_https
		pids_of[gc-tuned]=$gctuned_pid
	fi
	if [ -n "${LOGS:-}" ]; then
		mkdir -p "$work/logging" "$work/logs"
		sed 's/^\tdefaultCacheBehavior: {/\tlogging: enabled: true\n&/' "$work/config/main.cue" >"$work/logging/main.cue"
		serve_openfront logging "$log_http" "127.0.0.1:$log_https" "$work/openfront serve --log-dir $work/logs" "$work/logging"
		h1_targets+=(logging nginx+logs) h3_targets+=(logging)
		url1[logging]=http://127.0.0.1:$log_http url3[logging]=https://localhost:$log_https
		url1[nginx+logs]=http://127.0.0.1:$nginx_log_port
		pids_of[logging]=$logging_pid pids_of[nginx+logs]=$nginx_pids
	fi
	for size in 1k 100k; do
		if [ -n "${LOGS:-}" ]; then warm "http://127.0.0.1:$log_http/obj/$size/bench" "Hit from openfront"; fi
		warm "http://127.0.0.1:$of_http/obj/$size/bench" "Hit from openfront"
		warm "http://127.0.0.1:$nginx_port/obj/$size/bench" "HIT"
		if [ -n "${BEFORE:-}" ]; then warm "http://127.0.0.1:$before_http/obj/$size/bench" "Hit from openfront"; fi
		if [ -n "${GC_ENV:-}" ]; then warm "http://127.0.0.1:$gc_http/obj/$size/bench" "Hit from openfront"; fi
	done
}

# measure LABEL ROUND PIDS LOAD-CMD...
measure() {
	local label=$1 round=$2 pids=$3
	shift 3
	"$eb" run -label "$label" -round "$round" -pids "$pids" -max-foreign "$maxf" -out "$results" -- taskset -c "$lcpu" "$@"
}

# rotate TEST SIZES LOAD TARGET...: for each size, ROUNDS rounds that run
# every target once, in an order rotated from round to round, as
# LOAD LABEL ROUND TARGET SIZE (LABEL is TEST/SIZE/TARGET).
rotate() {
	local test=$1 sizes=$2 load=$3 size r i t
	shift 3
	local targets=("$@") n=$#
	for size in $sizes; do
		for r in $(seq "$rounds"); do
			for i in $(seq 0 $((n - 1))); do
				t=${targets[$(((i + r) % n))]}
				"$load" "$test/$size/$t" "$r" "$t" "$size"
			done
		done
	done
}

load_h1() { measure "$1" "$2" "${pids_of[$3]}" wrk -c 50 -t 1 -d "$dur" "${url1[$3]}/obj/$4/bench"; }

section_hits() {
	need_servers
	echo "== cache hits, HTTP/1.1 keep-alive: wrk -c 50 -t 1 -d $dur, $rounds rounds"
	rotate h1 "${SIZES:-1k 100k}" load_h1 "${h1_targets[@]}"
}

# h2load's one thread is the load core; 50 connections of 10 streams keep
# 500 requests in flight, which leaves the server no idle moment (its CPU
# shows it at about one core) while h2load, in C, spends less per request.
load_h2() {
	measure "$1" "$2" "${pids_of[$3]}" h2load -c "${H2_CONNS:-50}" -m "${H2_STREAMS:-10}" -t 1 -D "$dur" "${url2[$3]}/obj/$4/bench"
}

section_h2() {
	command -v h2load >/dev/null || { echo "bench-edge: h2 needs h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
	need_servers
	local t size
	for t in "${h2_targets[@]}"; do
		for size in 1k 100k; do
			# Each answers over h2 (curl says HTTP/2), and a hit.
			curl -sk --http2 -o /dev/null -D "$work/warm.h" "${url2[$t]}/obj/$size/bench"
			grep -q '^HTTP/2 200' "$work/warm.h" || { echo "bench-edge: $t is not answering over HTTP/2:" >&2; cat "$work/warm.h" >&2; exit 1; }
		done
		printf '%-10s %s\n' "$t" "$(h2load -n 1 "${url2[$t]}/obj/1k/bench" | grep -E '^(TLS Protocol|Cipher):' | paste -sd ' ')"
	done
	echo "== cache hits, HTTP/2 over TLS: h2load -c ${H2_CONNS:-50} -m ${H2_STREAMS:-10} -t 1 -D $dur, $rounds rounds"
	rotate h2 "1k 100k" load_h2 "${h2_targets[@]}"
}

# HTTP/1.1 over TLS on the same ports: h2load in h1 mode sends one
# request at a time on each connection.
load_tls() {
	measure "$1" "$2" "${pids_of[$3]}" h2load --h1 -c 50 -m 1 -t 1 -D "$dur" "${url2[$3]}/obj/$4/bench"
}

section_tls() {
	command -v h2load >/dev/null || { echo "bench-edge: tls needs h2load (apt-get install -y nghttp2-client)" >&2; exit 1; }
	need_servers
	echo "== cache hits, HTTP/1.1 over TLS: h2load --h1 -c 50 -m 1 -t 1 -D $dur, $rounds rounds"
	rotate tls "${SIZES:-1k 100k}" load_tls "${h2_targets[@]}"
}

load_h3() {
	measure "$1" "$2" "${pids_of[$3]}" "$eb" h3load -url "${url3[$3]}/obj/$4/bench" -conns "${H3_CONNS:-8}" -streams "${H3_STREAMS:-16}" -d "$dur"
}

section_h3() {
	need_servers
	echo "== cache hits, HTTP/3: edgebench h3load, ${H3_CONNS:-8} connections x ${H3_STREAMS:-16} streams, $dur, $rounds rounds"
	rotate h3 "1k 100k" load_h3 "${h3_targets[@]}"
}

section_coalesce() {
	need_servers
	echo "== coalescing: 200 simultaneous requests for one uncached key (count at the origin)"
	local warmurl=http://127.0.0.1:$of_http/obj/1k/bench tag=$$-$RANDOM
	for path in "/slow/200/1k/coalesce-$tag" "/obj/1k/coalesce-$tag" "/slow/200/100k/coalesce-$tag" "/obj/100k/coalesce-$tag"; do
		printf '%-34s ' "$path"
		taskset -c "$lcpu" "$eb" burst -n 200 -url "http://127.0.0.1:$of_http$path" -warm "$warmurl" -origin "http://127.0.0.1:$origin"
	done
}

section_memory() {
	local envs=("") label
	if [ -n "${GC_ENV:-}" ]; then envs+=("$GC_ENV"); fi
	for env in "${envs[@]}"; do
		label=${env:-default GC settings}
		echo "== memory: --cache-memory 64MiB, 20,000 distinct 100 KiB objects, 50 in flight (a fresh node, $label)"
		serve_openfront mem "$mem_http" "127.0.0.1:$mem_https" "env $env $work/openfront serve"
		taskset -c "$lcpu" "$eb" fill -url "http://127.0.0.1:$mem_http" -n 20000 -c 50 -size 100k -prefix "fill-$$-" -pid "$mem_pid" | tee "$work/memory.txt"
		# Large cached bodies live in unlinked files (--cache-body-dir, or
		# memfds), outside RSS: the bound is VmHWM plus the most file bytes
		# seen.
		local bound
		bound=$(sed -n 's/.*bound_mib=\([0-9.]*\).*/\1/p' "$work/memory.txt")
		awk -v h="$bound" 'BEGIN { lim = 64 + 150; printf "VmHWM + body files %.1f MiB, limit %d MiB: %s\n", h, lim, (h < lim ? "PASS" : "FAIL") }'
		stop mem
	done
}

# take_profile NAME PPROF-ADDR LOAD-CMD...: a 10 s CPU profile from
# PPROF-ADDR while LOAD-CMD (pinned to the load core) runs; its top entries.
take_profile() {
	local name=$1 addr=$2
	shift 2
	taskset -c "$lcpu" "$@" >"$work/profile-$name-load.txt" &
	local load_pid=$!
	sleep 1
	curl -s -o "$work/cpu-$name.prof" "http://$addr/debug/pprof/profile?seconds=10"
	wait "$load_pid"
	grep -E 'Requests/sec|req/s,' "$work/profile-$name-load.txt"
	go tool pprof -top -nodecount 40 "$eb" "$work/cpu-$name.prof" 2>/dev/null | sed -n '4,48p'
	echo "profile: $work/cpu-$name.prof (KEEP=1 keeps it; go tool pprof $eb FILE)"
}

section_profile() {
	local cmd="$eb serve -pprof 127.0.0.1:$pprof --" config=$work/config what=""
	if [ -n "${PROFILE_LOGS:-}" ]; then
		mkdir -p "$work/prof-logging" "$work/prof-logs"
		sed 's/^\tdefaultCacheBehavior: {/\tlogging: enabled: true\n&/' "$work/config/main.cue" >"$work/prof-logging/main.cue"
		cmd+=" --log-dir $work/prof-logs" config=$work/prof-logging what=", access log on"
	fi
	local https="" load=(wrk -c 50 -t 1 -d 13s) scheme=http port=$prof_http
	if [ -n "${PROFILE_H2:-}" ]; then
		https=127.0.0.1:$prof_https load=(h2load -c 50 -m 10 -t 1 -D 13s) scheme=https port=$prof_https what+=", HTTP/2"
	fi
	echo "== profile: openfront (edgebench serve, same code plus /debug/pprof) serving 1 KiB hits$what"
	serve_openfront prof "$prof_http" "$https" "$cmd" "$config"
	warm "http://127.0.0.1:$prof_http/obj/1k/bench" "Hit from openfront"
	take_profile 1k "127.0.0.1:$pprof" "${load[@]}" "$scheme://localhost:$port/obj/1k/bench"
	stop prof
	if [ -n "${PROFILE_H2:-}" ]; then
		echo "== profile: the bare Go server serving 1 KiB over HTTP/2"
		start bareprof "$scpu" "$eb" bare -http "127.0.0.1:$prof_http" -https "127.0.0.1:$prof_https" -pprof "127.0.0.1:$bare_pprof" \
			-tls-cert "$work/cert.pem" -tls-key "$work/key.pem"
		wait_http "http://127.0.0.1:$prof_http/obj/1k/up"
		take_profile bare-1k "127.0.0.1:$bare_pprof" "${load[@]}" "https://localhost:$prof_https/obj/1k/bench"
		stop bareprof
	fi
}

# write_signed_config: the bench distribution plus a behavior for objects
# named private-*, which requires a signature from a fresh RSA-2048 key.
write_signed_config() {
	mkdir -p "$work/signed"
	openssl genrsa -out "$work/signed/private.pem" 2048 2>/dev/null
	local pub
	pub=$(openssl rsa -in "$work/signed/private.pem" -pubout 2>/dev/null)
	sed -e '/defaultCacheBehavior: {/,$d' "$work/config/main.cue" >"$work/signed/main.cue"
	cat >>"$work/signed/main.cue" <<EOF
	defaultCacheBehavior: {
		targetOriginId:       "origin"
		viewerProtocolPolicy: "allow-all"
		defaultTTL:           86400
	}
	cacheBehaviors: [{
		pathPattern:          "/obj/*/private-*"
		targetOriginId:       "origin"
		viewerProtocolPolicy: "allow-all"
		defaultTTL:           86400
		trustedKeyGroups: ["signers"]
	}]
}

keyGroups: signers: publicKeys: [{
	id: "KBENCH"
	encodedKey: """
		${pub//$'\n'/$'\n\t\t'}
		"""
}]
EOF
}

section_signed() {
	# Its own results: the report compares each signed target with unsigned.
	local results=$work/signed.jsonl
	write_signed_config
	serve_openfront signed "$signed_http" "127.0.0.1:$signed_https" "" "$work/signed"
	local base_url=http://127.0.0.1:$signed_http
	local sign=("$work/openfront" sign --key-pair-id KBENCH --private-key "$work/signed/private.pem" --expires 24h)
	local n=3 r i t size plain private signed_url cookie
	for size in 1k 100k; do
		plain=$base_url/obj/$size/bench private=$base_url/obj/$size/private-bench
		signed_url=$("${sign[@]}" --url "$private")
		# The Set-Cookie lines, sent back as a browser would.
		cookie=$("${sign[@]}" --url "$private" --resource "$base_url/obj/*/private-*" --cookies |
			sed -n 's/^Set-Cookie: \([^;]*\).*/\1/p' | paste -sd ';' | sed 's/;/; /g')
		warm "$plain" "Hit from openfront"
		warm "$signed_url" "Hit from openfront"
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "$private")" != 403 ]; then
			echo "bench-edge: $private is served without a signature" >&2
			exit 1
		fi
		if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$private")" != 200 ]; then
			echo "bench-edge: the signed cookies are refused: $cookie" >&2
			exit 1
		fi
		echo "== signed vs unprotected cache hits, $size: wrk -c 50 -t 1 -d $dur, $rounds rounds"
		local targets=(unsigned signed-url signed-cookie)
		for r in $(seq "$rounds"); do
			for i in $(seq 0 $((n - 1))); do
				t=${targets[$(((i + r) % n))]}
				case $t in
				unsigned) measure "signed/$size/$t" "$r" "$signed_pid" wrk -c 50 -t 1 -d "$dur" "$plain" ;;
				signed-url) measure "signed/$size/$t" "$r" "$signed_pid" wrk -c 50 -t 1 -d "$dur" "$signed_url" ;;
				signed-cookie) measure "signed/$size/$t" "$r" "$signed_pid" wrk -c 50 -t 1 -d "$dur" -H "Cookie: $cookie" "$private" ;;
				esac
			done
		done
	done
	stop signed
}

# section_kernel: where the server CPU goes, kernel included, for each HTTP/1
# target serving PROFILE_SIZE (100k) hits: perf record on SERVER_CPU, the
# top symbols of each (needs perf; KEEP=1 keeps the perf.data files,
# PERF_G=1 records call graphs).
section_kernel() {
	command -v perf >/dev/null || { echo "bench-edge: kernel needs perf (apt-get install -y linux-perf)" >&2; exit 1; }
	need_servers
	local size=${PROFILE_SIZE:-100k}
	echo "== kernel: perf record -C $scpu, $size hits, wrk -c 50 -t 1"
	for t in "${h1_targets[@]}"; do
		taskset -c "$lcpu" wrk -c 50 -t 1 -d 12s "${url1[$t]}/obj/$size/bench" >"$work/kernel-$t-wrk.txt" &
		local wrk_pid=$!
		sleep 2
		perf record -q ${PERF_G:+-g} -e cpu-clock -C "$scpu" -o "$work/kernel-$t.data" -- sleep 8 2>/dev/null
		wait "$wrk_pid"
		echo "-- $t: $(grep Requests/sec "$work/kernel-$t-wrk.txt")"
		perf report -q -i "$work/kernel-$t.data" --sort dso 2>/dev/null | sed -n '1,4p'
		perf report -q -i "$work/kernel-$t.data" --sort sym --percent-limit 0.7 2>/dev/null | sed -n '1,40p'
		if [ -n "${STRACE:-}" ]; then
			# System calls per request: 2,000 requests on one connection.
			local p=${pids_of[$t]##*,}
			strace -f -c -o "$work/strace-$t.txt" -p "$p" &
			local st=$!
			sleep 1
			taskset -c "$lcpu" "$eb" burst -n 1 -url "${url1[$t]}/obj/$size/bench" >/dev/null 2>&1 || true
			for _ in $(seq 2000); do echo "${url1[$t]}/obj/$size/bench"; done | taskset -c "$lcpu" xargs curl -s -o /dev/null >/dev/null
			kill -INT "$st"; wait "$st" 2>/dev/null || true
			echo "-- $t: system calls for 2,000 requests on one connection"
			sed -n '1,14p' "$work/strace-$t.txt"
		fi
	done
}

# section_logcost: one node, two distributions on the same origin, the
# second with logging.enabled (Host: logged.test); alternating runs.
section_logcost() {
	local results=$work/logcost.jsonl r i t size host url
	mkdir -p "$work/logcost" "$work/logcost-logs" "$work/logcost-before-logs"
	# The logged distribution is the bench one under another alias, with
	# logging on: the same answer, Alt-Svc included.
	sed -e 's/^distributions: bench: {/distributions: logged: {\n\taliases: ["logged.test"]\n\thttpVersion: "http2and3"\n\tlogging: enabled: true\n\torigins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: '"$origin"'}}]\n\tdefaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}\n}\n\n&/' \
		"$work/config/main.cue" >"$work/logcost/main.cue"
	local tls=${LOGCOST_TLS:-} https="" before_https=""
	if [ -n "$tls" ]; then https=127.0.0.1:$logcost_https before_https=127.0.0.1:$logcost_before_https; fi
	serve_openfront logcost "$logcost_http" "$https" "$work/openfront serve --log-dir $work/logcost-logs" "$work/logcost"
	# A group is a node reached one way: its runs are labelled with its name.
	local -A lurl=([logcost]=http://127.0.0.1:$logcost_http) lpid=([logcost]=$logcost_pid)
	local groups=(logcost)
	if [ -n "$tls" ]; then
		lurl[logcost-tls]=https://$https lpid[logcost-tls]=$logcost_pid
		groups+=(logcost-tls)
	fi
	if [ -n "${BEFORE:-}" ]; then
		serve_openfront logcost_before "$logcost_before_http" "$before_https" "$BEFORE serve --log-dir $work/logcost-before-logs" "$work/logcost"
		lurl[logcost-before]=http://127.0.0.1:$logcost_before_http lpid[logcost-before]=$logcost_before_pid
		groups+=(logcost-before)
		if [ -n "$tls" ]; then
			lurl[logcost-before-tls]=https://$before_https lpid[logcost-before-tls]=$logcost_before_pid
			groups+=(logcost-before-tls)
		fi
	fi
	local lrounds=${LOGCOST_ROUNDS:-30} ldur=${LOGCOST_DURATION:-1s} targets=() group rate=${LOGCOST_RATE:-}
	for group in "${groups[@]}"; do
		targets+=("$group unlogged" "$group logged")
		if [ -n "$rate" ] && [[ $group != *-tls ]]; then targets+=("$group-r$rate unlogged" "$group-r$rate logged"); fi
	done
	local n=${#targets[@]}
	for size in ${SIZES:-1k 100k}; do
		for group in "${groups[@]}"; do
			url=${lurl[$group]}
			for host in 127.0.0.1 logged.test; do
				for _ in 1 2 3; do curl -sk -o /dev/null -H "Host: $host" "$url/obj/$size/bench"; done
				curl -sk -o /dev/null -D "$work/warm.h" -H "Host: $host" "$url/obj/$size/bench"
				grep -qi "^x-cache: Hit from openfront" "$work/warm.h" || { echo "bench-edge: $group $host $size is not a hit" >&2; cat "$work/warm.h" >&2; exit 1; }
			done
		done
		echo "== access log on vs off, $size hits on ${groups[*]}: wrk -c 50 -t 1 -d $ldur, $lrounds rounds"
		for r in $(seq "$lrounds"); do
			for i in $(seq 0 $((n - 1))); do
				read -r group t <<<"${targets[$(((i + r) % n))]}"
				host=127.0.0.1
				if [ "$t" = logged ]; then host=logged.test; fi
				if [[ $group == *-r"$rate" ]] && [ -n "$rate" ]; then
					local node=${group%-r"$rate"}
					measure "$group/$size/$t" "$r" "${lpid[$node]}" "$eb" rate -conns 50 -rate "$rate" -d "$ldur" -host "$host" -url "${lurl[$node]}/obj/$size/bench"
				else
					measure "$group/$size/$t" "$r" "${lpid[$group]}" wrk -c 50 -t 1 -d "$ldur" -H "Host: $host" "${lurl[$group]}/obj/$size/bench"
				fi
			done
		done
	done
	stop logcost
	if [ -n "${BEFORE:-}" ]; then stop logcost_before; fi
	local lines
	lines=$(find "$work/logcost-logs" -name '*.gz' -exec zcat {} + 2>/dev/null | grep -vc '^#' || true)
	echo "access log lines written: $lines"
}

for s in $sections; do
	case $s in
	hits | h2 | tls | h3 | coalesce | memory | profile | signed | kernel | logcost) "section_$s" ;;
	*) echo "bench-edge: unknown section $s" >&2; exit 2 ;;
	esac
done

if [ -s "$results" ]; then
	echo
	echo "== figures (medians over rounds; ratios taken within each round)"
	"$eb" report -in "$results"
	if [ -n "${KEEP:-}" ]; then echo "runs: $results"; fi
fi
if [ -s "$work/logcost.jsonl" ]; then
	echo
	echo "== what the access log costs: unlogged ÷ logged (medians over rounds; ratios within each round)"
	"$eb" report -in "$work/logcost.jsonl" -subject unlogged
fi
if [ -s "$work/signed.jsonl" ]; then
	for subject in signed-url signed-cookie; do
		echo
		echo "== $subject against unprotected hits (medians over rounds; ratios within each round)"
		"$eb" report -in "$work/signed.jsonl" -subject "$subject" | grep -v "| $([ $subject = signed-url ] && echo signed-cookie || echo signed-url) |"
	done
fi
