package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/ulxc/ulxc/runtime"
)

const consoleUsage = `Usage: ulxc console NAME [-t TTY] [-e ESCAPE]

Connect your terminal to the console of the running container NAME (tty 0,
its /dev/console) or to one of its ttys (-t N, 1 to lxc.tty.max), through
the container's monitor. Type Ctrl-a q to detach; the container keeps
running. Ctrl-a Ctrl-a sends one Ctrl-a. -e changes the escape key, as in
lxc-console (-e ^b, or one character).

Examples:
  ulxc console web
  ulxc console web -t 1 -e ^b
`

func cmdConsole(e *env, args []string) error {
	fs := e.newFlagSet("console")
	name := fs.StringP("name", "n", "", "container `NAME`")
	tty := fs.IntP("tty", "t", 0, "`TTY` number: 0 is the console")
	escStr := fs.StringP("escape", "e", "^a", "escape key `KEY` (^LETTER or one character)")
	if err := e.parse(fs, consoleUsage, args); err != nil {
		return err
	}
	if err := nameArg(name, fs.Args(), "console"); err != nil {
		return err
	}
	esc, err := parseEscape(*escStr)
	if err != nil {
		return usagef("console: -e %q: %v", *escStr, err)
	}
	if *tty < 0 {
		return usagef("console: -t %d: want 0 or more", *tty)
	}
	stdin := fileOf(e.stdin)
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		return fmt.Errorf("console %s: stdin is not a terminal", *name)
	}
	dir, err := e.runtimeDir(*name)
	if err != nil {
		return fmt.Errorf("console %s: %w", *name, err)
	}
	con, err := runtime.AttachConsole(dir, *tty)
	if err != nil {
		return fmt.Errorf("console %s: %w", *name, err)
	}
	defer con.Close()
	restore, err := rawTerminal(stdin, con.Master)
	if err != nil {
		return fmt.Errorf("console %s: %w", *name, err)
	}
	e.infof("Connected to tty %d of %s. Type %s q to detach.\r", *tty, *name, escapeName(esc))
	r := newRelay(con, con, stdin, e.stdout, int(esc))
	select {
	case <-r.detached:
	case <-r.outDone:
	}
	restore()
	e.infof("")
	return nil
}

// relay copies a pty's output to the terminal and the terminal's input to
// the pty. With an escape key (>= 0), "escape q" detaches and "escape
// escape" sends the key itself.
type relay struct {
	outDone  chan struct{} // the pty's output ended (EOF, EIO: no slave left)
	detached chan struct{}
	from     io.Reader
}

func newRelay(from io.Reader, to io.Writer, in *os.File, out io.Writer, escape int) *relay {
	r := &relay{outDone: make(chan struct{}), detached: make(chan struct{}), from: from}
	go func() {
		io.Copy(out, from)
		close(r.outDone)
	}()
	if in != nil {
		go r.input(in, to, escape)
	}
	return r
}

func (r *relay) input(in io.Reader, to io.Writer, escape int) {
	buf := make([]byte, 4096)
	pending := false
	for {
		n, err := in.Read(buf)
		out := make([]byte, 0, n+1)
		for _, b := range buf[:n] {
			switch {
			case escape < 0:
				out = append(out, b)
			case pending && b == 'q':
				to.Write(out)
				close(r.detached)
				return
			case pending:
				pending = false
				if int(b) != escape {
					out = append(out, byte(escape))
				}
				out = append(out, b)
			case int(b) == escape:
				pending = true
			default:
				out = append(out, b)
			}
		}
		if len(out) > 0 {
			if _, werr := to.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// finish waits for the rest of the output once the process has exited:
// what its last writes left in the pty, unless something in the
// container still holds the terminal open.
func (r *relay) finish() {
	if f, ok := r.from.(*os.File); ok {
		f.SetReadDeadline(time.Now().Add(time.Second))
	}
	<-r.outDone
}

// rawTerminal puts the terminal in raw mode, gives pty its size and keeps
// it in step on SIGWINCH. The returned function undoes it.
func rawTerminal(in *os.File, pty *os.File) (restore func(), err error) {
	return rawTerminalFollow(in, func() *os.File { return pty })
}

// rawTerminalFollow is rawTerminal for a pty that changes: each resize
// goes to the one pty returns then (a container's console, new after each
// reboot).
func rawTerminalFollow(in *os.File, ptyNow func() *os.File) (restore func(), err error) {
	fd := int(in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("raw terminal: %w", err)
	}
	resize := func() {
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err != nil {
			return
		}
		pty := ptyNow()
		if pty == nil {
			return
		}
		// Control, not Fd: Fd would make the pty blocking.
		if rc, err := pty.SyscallConn(); err == nil {
			rc.Control(func(p uintptr) { unix.IoctlSetWinsize(int(p), unix.TIOCSWINSZ, ws) })
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			resize()
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
		term.Restore(fd, old)
	}, nil
}

// parseEscape reads lxc-console's escape key: "^a" (Ctrl-a) or a single
// character.
func parseEscape(s string) (byte, error) {
	switch {
	case len(s) == 2 && s[0] == '^' && (s[1] >= 'a' && s[1] <= 'z' || s[1] >= 'A' && s[1] <= 'Z'):
		return s[1] & 0x1f, nil
	case len(s) == 1:
		return s[0], nil
	}
	return 0, errors.New("want ^LETTER (a control key) or one character")
}

func escapeName(b byte) string {
	if b < 0x20 {
		return "Ctrl-" + string(rune('a'+b-1))
	}
	return strconv.QuoteRune(rune(b))
}
