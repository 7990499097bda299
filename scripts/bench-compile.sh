#!/usr/bin/env bash
# Compiler figures for the README and issue notes: a cold compile of a
# generated config (wall, CPU, peak RSS), then the Go benchmarks for a
# one-file recompile and for route lookups at 10 and 10,000 distributions.
#   scripts/bench-compile.sh [N]      (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/openfront" .
go run ./scripts/genconfig -n "$n" "$dir/config"
echo "== cold compile of $n distributions (two runs)"
for _ in 1 2; do
	/usr/bin/time -f "%e s wall, %U s user, %M KB peak RSS" "$dir/openfront" compile "$dir/config" >/dev/null
done
echo "== recompile after one file changed, $n distributions"
OPENFRONT_BENCH_DISTRIBUTIONS=$n go test -run '^$' -bench RecompileOneFile -benchtime 20x ./compiler/ | grep Benchmark
echo "== route lookups"
go test -run '^$' -bench Route -benchmem ./compiler/table/ | grep Benchmark
