// Command openfront is a self-hosted CDN edge configured in CUE: vet and
// compile distributions, explain routing, diff configs, and serve.
package main

import (
	"os"

	"openfront.dev/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
