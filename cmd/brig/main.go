// Command brig is the command-line client of a Brigade API server.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/brigadeplatform/brigade/internal/cli"
)

// Set at link time by release builds:
// -ldflags "-X main.version=v2.0.0 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	v, c := buildVersion()
	code := cli.Run(ctx, cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Version: v, Commit: c,
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

// buildVersion is the link-time version, else what the Go toolchain
// recorded (module version and VCS revision).
func buildVersion() (string, string) {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	return v, c
}
