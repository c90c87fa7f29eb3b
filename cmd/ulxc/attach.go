package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/runtime"
)

const attachUsage = `Usage: ulxc attach NAME [-u UID] [-g GID] [--clear-env|--keep-env] [--keep-var VAR]... [-v VAR=VALUE]...
                   [-e[=CAP|CGROUP|LSM]] [-s NAMESPACES [-R]] [-f CONFIG] [-L LOG] [-- CMD [ARGS...]]

Run CMD inside the running container NAME: in all its namespaces and in its
cgroup (when you may move processes there), as UID:GID inside (default
0:0, the container's root). Without CMD, run the user's shell from the
container's /etc/passwd, else /bin/sh. When stdin, stdout or stderr is a
terminal, CMD gets a pty of the container's own in its place (tty inside
shows /dev/pts/N; your terminal itself never reaches the container), and
a terminal stdin is put in raw mode; window size changes follow. ulxc
exits with CMD's status, or 127 (not found) or 126 (not run) as a shell.

As lxc-attach, the environment is kept by default (--keep-env) with
container=lxc added; --clear-env starts from container=lxc, PATH, TERM,
HOME, USER and LOGNAME only, plus each --keep-var VAR you have set. -v sets
a variable on top of either.

As lxc-attach: -e (elevated privileges) keeps what attach would otherwise
take away: CAP every capability in the bounding set (lxc.cap.drop is not
applied), CGROUP the caller's cgroup (not the container's); LSM is accepted
and changes nothing (ulxc applies no LSM profile). -s joins only the listed
namespaces, MOUNT|PID|UTSNAME|IPC|USER|NETWORK|CGROUP, and implies -e; the
user namespace is always joined, since only through it does a rootless user
hold rights in the others. Without MOUNT the command is one of the host's,
run on the host's filesystem as the container's user: anything root of the
container can trace (in its pid namespace) can then read and write what
that user may on the host. -R then mounts a new /proc (and /sys, with
NETWORK) that shows the joined namespaces. -f takes the bounding set and
seccomp policy from CONFIG instead of the running container. -L appends
what the command writes to its terminal to LOG.

Examples:
  ulxc attach web
  ulxc attach web -- sh -c 'echo $$; id'
  ulxc attach web -u 1000 -g 1000 --clear-env -v LANG=C.UTF-8 -- id
  ulxc attach web --clear-env --keep-var http_proxy -- apt-get update
  ulxc attach -s NETWORK -R web -- ip addr
`

func cmdAttach(e *env, args []string) error {
	fs := e.newFlagSet("attach")
	name := fs.StringP("name", "n", "", "container `NAME`")
	uid := fs.Uint32P("uid", "u", 0, "run as `UID` inside the container")
	gid := fs.Uint32P("gid", "g", 0, "run as `GID` inside the container")
	clearEnv := fs.Bool("clear-env", false, "start from a clean environment")
	keepEnv := fs.Bool("keep-env", false, "keep the caller's environment (the default)")
	vars := stringsP(fs, "set-var", "v", "set `VAR=VALUE` in the environment (repeatable)")
	keepVars := stringsP(fs, "keep-var", "", "keep `VAR` of your environment with --clear-env (repeatable)")
	elevated := fs.StringP("elevated-privileges", "e", "", "keep `PRIVILEGES` (CAP|CGROUP|LSM; all when given alone)")
	fs.Lookup("elevated-privileges").NoOptDefVal = "CAP|CGROUP|LSM"
	namespaces := fs.StringP("namespaces", "s", "", "join only `NAMESPACES` (MOUNT|PID|UTSNAME|IPC|USER|NETWORK|CGROUP); implies -e")
	remount := fs.BoolP("remount-sys-proc", "R", false, "with -s but not MOUNT: mount /proc and /sys of the joined namespaces")
	rcfile := fs.StringP("rcfile", "f", "", "take the bounding set and seccomp policy from `CONFIG`")
	ptyLog := fs.StringP("pty-log", "L", "", "append the terminal's output to `FILE`")
	if err := e.parse(fs, attachUsage, optionalArgs(args, 'e', "elevated-privileges")); err != nil {
		return err
	}
	rest, err := nameAndCommand(fs, name, "attach")
	if err != nil {
		return err
	}
	if *clearEnv && *keepEnv {
		return usagef("attach: --clear-env and --keep-env conflict")
	}
	for _, v := range *vars {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return usagef("attach: -v %q: want VAR=VALUE", v)
		}
	}
	// As lxc-attach: a kept variable that is not set is left out; -v
	// still wins.
	var kept []string
	for _, k := range *keepVars {
		if k == "" || strings.Contains(k, "=") {
			return usagef("attach: --keep-var %q: want a variable name", k)
		}
		if v, ok := os.LookupEnv(k); ok {
			kept = append(kept, k+"="+v)
		}
	}
	opts := runtime.AttachOptions{Args: rest, UID: *uid, GID: *gid, ClearEnv: *clearEnv, Env: append(kept, *vars...),
		Remount: *remount}
	if err := attachPrivileges(&opts, *elevated, *namespaces, fs.Changed("elevated-privileges")); err != nil {
		return err
	}
	dir, err := e.runtimeDir(*name)
	if err != nil {
		return fmt.Errorf("attach %s: %w", *name, err)
	}
	if *rcfile != "" {
		var src source
		src.RCFile = *rcfile
		if err := src.check("attach"); err != nil {
			return err
		}
		if _, opts.Spec, err = e.containerSpec(*name, lifecycle.Options{Source: src.Source}); err != nil {
			return fmt.Errorf("attach %s: %w", *name, err)
		}
	}
	std := [3]*os.File{fileOf(e.stdin), fileOf(e.stdout), fileOf(e.stderr)}
	terms := terminals(std)
	// Any terminal among stdio is replaced by a pty of the container's,
	// as lxc-attach does: a descriptor of the caller's terminal would let
	// the container read it and type into the caller's shell (TIOCSTI).
	opts.TTY = terms[0] != nil || terms[1] != nil || terms[2] != nil
	for i := range std {
		if terms[i] != nil {
			std[i] = nil
		}
	}
	opts.Stdin, opts.Stdout, opts.Stderr = std[0], std[1], std[2]
	if t := firstTerminal(terms); t != nil {
		if ws, err := unix.IoctlGetWinsize(int(t.Fd()), unix.TIOCGWINSZ); err == nil {
			opts.Rows, opts.Cols = ws.Row, ws.Col
		}
	}
	p, err := runtime.Attach(dir, opts)
	if err != nil {
		return fmt.Errorf("attach %s: %w", *name, err)
	}
	if p.CgroupNote != "" {
		e.infof("ulxc: note: %s: not in the container's cgroup: %s", *name, p.CgroupNote)
	}
	var st runtime.ExitStatus
	if opts.TTY {
		st, err = e.relayAttached(p, terms, *ptyLog)
	} else {
		if *ptyLog != "" {
			e.warnf("attach %s: -L %s: no terminal, so nothing to log (as lxc-attach)", *name, *ptyLog)
		}
		st, err = p.WaitForwarding()
	}
	if err != nil {
		return fmt.Errorf("attach %s: %w", *name, err)
	}
	return &exitError{st.Code}
}

// terminals returns, for each of stdin, stdout and stderr, the file when
// it is a terminal, else nil.
func terminals(std [3]*os.File) [3]*os.File {
	var t [3]*os.File
	for i, f := range std {
		if f != nil && term.IsTerminal(int(f.Fd())) {
			t[i] = f
		}
	}
	return t
}

// firstTerminal is where a pty's output is shown: the terminal on stdout,
// else on stderr, else on stdin; nil when there is none.
func firstTerminal(t [3]*os.File) *os.File {
	for _, i := range []int{1, 2, 0} {
		if t[i] != nil {
			return t[i]
		}
	}
	return nil
}

// relayAttached relays the caller's terminals and the process's pty
// until the process exits: typed input when stdin is a terminal (put in
// raw mode), output to the first terminal (firstTerminal).
func (e *env) relayAttached(p *runtime.Process, terms [3]*os.File, logPath string) (runtime.ExitStatus, error) {
	pty := p.Pty()
	defer pty.Close()
	var out io.Writer = firstTerminal(terms)
	if logPath != "" {
		log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o600)
		if err != nil {
			p.Signal(syscall.SIGKILL)
			p.Wait()
			return runtime.ExitStatus{}, fmt.Errorf("pty log: %w", err)
		}
		defer log.Close()
		out = io.MultiWriter(out, log)
	}
	if in := terms[0]; in != nil {
		restore, err := rawTerminal(in, pty)
		if err != nil {
			p.Signal(syscall.SIGKILL)
			p.Wait()
			return runtime.ExitStatus{}, err
		}
		defer restore()
	}
	var in *os.File
	if terms[0] != nil {
		in = terms[0]
	}
	r := newRelay(pty, pty, in, out, -1)
	st, err := p.Wait()
	r.finish()
	return st, err
}

// fileOf returns v as an *os.File when it is one (the real stdio).
func fileOf(v any) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return nil
}
