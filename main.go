// Command hearth is a self-hosted patient communication appliance for small
// clinics. Everything lives in package app; main only hands over the embedded
// files and the process's arguments.
package main

import (
	"context"
	"embed"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"hearth/app"
)

//go:embed all:embed
var files embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sub, _ := fs.Sub(files, "embed")
	os.Exit(app.Main(ctx, os.Args[1:], sub, os.Stdin, os.Stdout, os.Stderr))
}
