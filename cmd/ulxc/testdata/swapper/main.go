// Command swapper is a hostile container root's tool for the info tests:
// it exchanges each pair of names it is given with renameat2
// (RENAME_EXCHANGE), round after round, as fast as it can, so that a walk
// of the tree by path finds a directory when it lists and something else
// (a FIFO, a symlink to /) when it opens. After the first round it creates
// the file READY.
//
//	swapper READY A1 B1 [A2 B2]...
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	if len(args) < 3 || len(args)%2 != 1 {
		fmt.Fprintln(os.Stderr, "usage: swapper READY A1 B1 [A2 B2]...")
		os.Exit(2)
	}
	ready, pairs := args[0], args[1:]
	for round := 0; ; round++ {
		for i := 0; i < len(pairs); i += 2 {
			if err := unix.Renameat2(unix.AT_FDCWD, pairs[i], unix.AT_FDCWD, pairs[i+1], unix.RENAME_EXCHANGE); err != nil {
				fmt.Fprintf(os.Stderr, "swapper: exchange %s %s: %v\n", pairs[i], pairs[i+1], err)
				os.Exit(1)
			}
		}
		if round == 0 {
			if err := os.WriteFile(ready, nil, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "swapper: %v\n", err)
				os.Exit(1)
			}
		}
	}
}
