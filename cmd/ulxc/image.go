//go:build !ulxc_lean

package main

import (
	"fmt"
	"io"
	"strings"
)

// imageCommands are the subcommands of `ulxc image`, one file each.
var imageCommands = []struct {
	name, summary string
	run           func(e *env, args []string) error
}{
	{"pack", "pack a container or rootfs directory as one build of an image", cmdImagePack},
	{"index", "write the tree's signed index of the newest build of each image", cmdImageIndex},
	{"serve", "serve a tree over HTTP(S) as LXC's image servers do, with a keyserver", cmdImageServe},
	{"verify", "check a file's signature, and a SHA256SUMS's files, as create does", cmdImageVerify},
	{"test", "create, boot and check every variant of an image from a server", cmdImageTest},
}

func printImageUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: ulxc image COMMAND [OPTIONS] ...

The image maintainer's loop, without root: pack a container or a root
filesystem into a tree in the layout of LXC's image servers, sign it, index
it, serve it, verify it and test every variant of it.

Commands:
`)
	for _, c := range imageCommands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'ulxc image COMMAND --help' for the options of one command.\n")
}

func cmdImage(e *env, args []string) error {
	if e.introspect != nil || len(args) == 0 || args[0] == "help" || strings.HasPrefix(args[0], "-") {
		// The command's own usage and options (the global ones), as
		// every verb prints them, for --help, completion and man pages.
		if len(args) > 0 && args[0] == "help" {
			args = []string{"--help"}
		}
		var b strings.Builder
		printImageUsage(&b)
		if err := e.parse(e.newFlagSet("image"), b.String(), args); err != nil {
			return err
		}
		return usagef("image: want a command (see 'ulxc image --help')")
	}
	for _, c := range imageCommands {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	return usagef("image: unknown command %q (see 'ulxc image --help')", args[0])
}
