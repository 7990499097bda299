#!/usr/bin/env bash
# Runs the HTTP caching test suite (http-tests/cache-tests, the one behind
# cache-tests.fyi) against `openfront serve` and prints the counts the way
# cache-tests.fyi classifies them: each test's `kind` is required (the
# default), optimal or check; a test whose dependency did not pass counts as
# not passed; browser-only tests are not run. docs/cache-tests.md explains
# every remaining failure.
#
#   scripts/cache-tests.sh                 full run, counts and failures
#   scripts/cache-tests.sh --json FILE     also keep the suite's JSON results
#   scripts/cache-tests.sh --id TEST-ID    one test, with its requests and responses
#   scripts/cache-tests.sh --config DIR    another config (default scripts/testdata/
#                                          cache-tests); "httpPort: 8000" in its
#                                          .cue files becomes the suite's port
#
# Needs go, node (>= 14.8) and npm. The suite is installed with npm into
# $CACHE_TESTS_DIR (default: the user cache dir, openfront/cache-tests) when
# it is not there yet. Both servers listen on free loopback ports and are
# stopped on exit. Exit status: 0 when the run completed, whatever the counts.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

suite_version=0.4.5
json_out=""
test_id=""
config=$repo/scripts/testdata/cache-tests
while [ $# -gt 0 ]; do
	case "$1" in
	--json) json_out=$2; shift 2 ;;
	--id) test_id=$2; shift 2 ;;
	--config) config=$(cd "$2" && pwd); shift 2 ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "cache-tests.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

for tool in go node npm; do
	command -v "$tool" >/dev/null || { echo "cache-tests.sh: $tool is needed" >&2; exit 1; }
done

suite_root=${CACHE_TESTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/openfront/cache-tests}
suite=$suite_root/node_modules/http-cache-tests
if [ ! -f "$suite/cli.mjs" ] || ! grep -q "\"version\": \"$suite_version\"" "$suite/package.json"; then
	echo "== installing http-cache-tests@$suite_version into $suite_root" >&2
	mkdir -p "$suite_root"
	npm install --prefix "$suite_root" --no-audit --no-fund --loglevel=error "http-cache-tests@$suite_version" >&2
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

wait_port() {
	for _ in $(seq 300); do
		if node -e 'require("net").connect(+process.argv[1], "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))' "$1"; then
			return 0
		fi
		sleep 0.1
	done
	echo "cache-tests.sh: nothing listens on port $1; the logs:" >&2
	cat "$work"/*.log >&2
	exit 1
}

(cd "$repo" && go build -o "$work/openfront" .)

origin_port=$(free_port)
edge_port=$(free_port)
while [ "$edge_port" = "$origin_port" ]; do
	edge_port=$(free_port)
done
cp -r "$config" "$work/config"
find "$work/config" -name '*.cue' -exec sed -i "s/httpPort: *8000/httpPort: $origin_port/" {} +

# The suite's server reads its settings from npm's environment; run it with
# node directly so its pid is ours to stop. It serves files relative to its
# working directory, and listens on all interfaces unless told otherwise:
# the preload keeps it on loopback.
cat >"$work/loopback.cjs" <<'EOF'
const http = require('http')
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) {
  return typeof port === 'object' ? listen.call(this, port, ...rest) : listen.call(this, port, '127.0.0.1', ...rest)
}
EOF
(cd "$suite" && exec env npm_config_protocol=http npm_config_port="$origin_port" \
	npm_config_pidfile="$work/server.pid" node --require "$work/loopback.cjs" server/server.mjs) >"$work/origin.log" 2>&1 &
pids+=($!)
"$work/openfront" serve --config "$work/config" --http "127.0.0.1:$edge_port" --https "" --admin "" --rtmp "" \
	--node-name cache-tests >"$work/openfront.log" 2>&1 &
pids+=($!)
wait_port "$origin_port"
wait_port "$edge_port"

base=http://127.0.0.1:$edge_port
if [ -n "$test_id" ]; then
	(cd "$suite" && env npm_config_base="$base" npm_package_config_id="$test_id" node --no-warnings cli.mjs)
	exit 0
fi

echo "== running the suite against openfront on $base (origin on port $origin_port)" >&2
(cd "$suite" && env npm_config_base="$base" npm_package_config_id="" node --no-warnings cli.mjs) >"$work/results.json"
if [ -n "$json_out" ]; then
	cp "$work/results.json" "$json_out"
fi

# Counting uses the suite's own test metadata: the suites cli.mjs runs
# (tests/index.mjs and Surrogate-Control), each test's kind and depends_on.
cat >"$work/count.mjs" <<'EOF'
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const [suiteDir, resultsFile] = process.argv.slice(2)
const load = async f => (await import(pathToFileURL(path.join(suiteDir, f)).href)).default
const suites = [...await load('tests/index.mjs'), await load('tests/surrogate-control.mjs')]
const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
const tests = new Map()
for (const s of suites) for (const t of s.tests) tests.set(t.id, { suite: s.id, ...t })

// As lib/display.mjs determineTestResult does for cache-tests.fyi.
const passing = new Set(['pass', 'yes'])
function outcome (id) {
  const t = tests.get(id)
  const r = results[id]
  if (r === undefined) return 'untested'
  for (const dep of t.depends_on || []) {
    if (!passing.has(outcome(dep))) return 'dependency_fail'
  }
  if (r[0] === 'Setup') return r[1] === 'retry' ? 'retry' : 'setup_fail'
  const kind = t.kind || 'required'
  if (kind === 'check') return r === true ? 'yes' : 'no'
  return r === true ? 'pass' : 'fail'
}

const counts = {}
const failures = []
for (const [id, t] of tests) {
  if (t.browser_only) continue
  const kind = t.kind || 'required'
  const scope = t.suite === 'surrogate-control' ? 'surrogate' : 'main'
  const o = outcome(id)
  for (const key of [`${kind}`, `${kind}/${scope}`]) {
    counts[key] = counts[key] || { total: 0, passed: 0 }
    counts[key].total++
    if (passing.has(o)) counts[key].passed++
  }
  if (!passing.has(o) && kind !== 'check') {
    const r = results[id]
    failures.push(`  ${kind.padEnd(8)} ${o.padEnd(15)} ${id}: ${r === undefined ? '' : r === true ? '(passed itself)' : r[1]}`)
  }
}
const line = (label, key) => {
  const c = counts[key] || { total: 0, passed: 0 }
  return `${label.padEnd(38)} ${String(c.passed).padStart(3)} passed, ${String(c.total - c.passed).padStart(3)} not, of ${c.total}`
}
console.log(line('required', 'required'))
console.log(line('optimal', 'optimal'))
console.log(line('check (informational: yes)', 'check'))
console.log(line('  required, without Surrogate-Control', 'required/main'))
console.log(line('  optimal, without Surrogate-Control', 'optimal/main'))
console.log(`not passed (required and optimal):\n${failures.join('\n')}`)
EOF
node "$work/count.mjs" "$suite" "$work/results.json"
