// Command genconfig writes a generated config for benchmarks:
// go run ./scripts/genconfig -n 10000 DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"openfront.dev/internal/genconfig"
)

func main() {
	n := flag.Int("n", 10000, "number of distributions")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: genconfig [-n N] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := genconfig.Write(dir, *n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
