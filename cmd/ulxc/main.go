// Command ulxc runs LXC-style system containers without root.
//
// main only dispatches: the verbs live one per file (checkconfig.go,
// usernsexec.go, ...), each turning its flags into the Options of one library
// call. The hidden child entry points that ulxc re-executes itself into (see
// package userns) are dispatched here explicitly, before any flag parsing.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/nsenter"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// env is what every verb gets: the streams and the global flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	globals
	// runtimeWarned: the warning about XDG_RUNTIME_DIR was printed.
	runtimeWarned bool
	log           commandLog
	// introspect, when set, receives a verb's flags and usage in place
	// of parsing them (docs.go: completion and man pages).
	introspect func(fs *pflag.FlagSet, usage string)
}

// globals are the flags LXC accepts on every command. They may stand before
// the verb (`ulxc -P DIR start web`) or among the verb's own flags.
type globals struct {
	lxcPath     string // -P: container directory; default store.DefaultPath()
	logFile     string
	logPriority string
	quiet       bool
	debug       bool
}

// register adds the global options to fs, without the short forms in
// taken, which the verb uses for options of its own (as LXC's tools do:
// lxc-start-ephemeral's -o is the original container, not the log file).
func (g *globals) register(fs *pflag.FlagSet, taken ...string) {
	short := func(s string) string {
		for _, t := range taken {
			if t == s {
				return ""
			}
		}
		return s
	}
	fs.StringVarP(&g.lxcPath, "lxcpath", "P", g.lxcPath, "directory that holds the containers")
	fs.StringVarP(&g.logFile, "logfile", short("o"), g.logFile, "also write the log to `FILE`")
	fs.StringVarP(&g.logPriority, "logpriority", short("l"), g.logPriority, "log `LEVEL`: TRACE, DEBUG, INFO (default), NOTICE, WARN, ERROR, CRIT, ALERT, FATAL")
	fs.BoolVarP(&g.quiet, "quiet", "q", g.quiet, "print nothing but errors")
	fs.BoolVar(&g.debug, "debug", g.debug, "print debug messages")
}

// verb is one subcommand.
type verb struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

// verbs is the whole command table, in the order `ulxc help` lists it.
var verbs = []verb{
	{"checkconfig", "check this machine for rootless containers", cmdCheckconfig},
	{"usernsexec", "run a command in a mapped user namespace", cmdUsernsexec},
	{"create", "create a container from an image or the busybox template", cmdCreate},
	{"destroy", "remove a stopped container completely", cmdDestroy},
	{"copy", "copy or snapshot a container, or start an ephemeral copy", cmdCopy},
	{"rename", "rename a stopped container", cmdRename},
	{"start-ephemeral", "start a throwaway overlay copy of a container", cmdStartEphemeral},
	{"images", "list the images an image server offers", cmdImages},
	{"keys", "add, list and generate image-signing keys", cmdKeys},
	{"image", "pack, sign, index, serve, verify and test your own images", cmdImage},
	{"start", "start a container", cmdStart},
	{"stop", "stop a container", cmdStop},
	{"ls", "list containers", cmdLs},
	{"info", "show a container's state and resources", cmdInfo},
	{"attach", "run a command inside a running container", cmdAttach},
	{"execute", "run a command as the init of an application container", cmdExecute},
	{"wait", "wait until a container reaches one of some states", cmdWait},
	{"monitor", "print containers' state changes as they happen", cmdMonitor},
	{"top", "show the CPU, block I/O and memory use of running containers", cmdTop},
	{"device", "bind a host device node into a running container, or take it away", cmdDevice},
	{"console", "connect to a running container's console", cmdConsole},
	{"freeze", "freeze every process of a running container", cmdFreeze},
	{"unfreeze", "thaw a frozen container", cmdUnfreeze},
	{"cgroup", "read or write a cgroup file of a running container", cmdCgroup},
	{"autostart", "start or stop the containers marked lxc.start.auto", cmdAutostart},
	{"spec", "print a container as an OCI runtime-spec config.json", cmdSpec},
}

// childEntries are the hidden verbs ulxc re-executes itself into inside a new
// user namespace. They are never shown and take no global flags. A slice,
// not a map, which every ulxc process would build before main.
var childEntries = []childVerb{
	{"__usernsexec", usernsexecChild},
	{"__destroy", destroyChild},            // destroy.ChildEntry: removal of subordinate ids' files
	{"__clone", cloneChild},                // clone.ChildEntry: copies and snapshots
	{"__probe-overlay", probeOverlayChild}, // hostcheck.OverlayProbeEntry
	{"[monitor]", monitorChild},            // runtime.MonitorEntry: ps shows `ulxc [monitor] NAME`
	{"__du", duChild},                      // runtime.DiskUsageEntry
	{"__clonehook", cloneHookChild},        // runtime.CloneHookEntry: lxc.hook.clone with the copy's root mounted
	{"__fuseoverlay", fuseChild},           // runtime.FuseEntry: the fuse-overlayfs daemon of an overlay root
}

// childVerb is one of childEntries.
type childVerb struct {
	name string
	run  func(args []string) int
}

// childEntry is the hidden verb name, or nil.
func childEntry(name string) func(args []string) int {
	for _, c := range childEntries {
		if c.name == name {
			return c.run
		}
	}
	return nil
}

// usageError makes the command exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitError carries the exit status of a process that ran (a container's
// command, usernsexec's command): ulxc exits with it and prints nothing.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	growStack(len(os.Args))
	if len(os.Args) > 1 {
		if child := childEntry(os.Args[1]); child != nil {
			os.Exit(child(os.Args[2:]))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// growStack grows the main goroutine's stack from the runtime's 8 KiB to
// 32 KiB at once, while main is its only frame of ours. A verb's calls go
// deeper than 8 KiB within microseconds (flag parsing, the runtime
// directory, the state), and each growth copies the stack, walking every
// frame through tables that a fresh process has not paged in yet: in
// ulxc attach that cost 0.05 ms, a twentieth of what ulxc adds to the
// command it runs (bench/attach.sh). n keeps the frame from being
// optimised away.
//
//go:noinline
func growStack(n int) byte {
	var b [12 << 10]byte
	b[n%len(b)] = byte(n)
	return b[n/2%len(b)]
}

// run executes one ulxc command line and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	rest, help := args, new(bool)
	// Options before the verb: the global ones, --version and --help.
	// Without any (the usual case) there is nothing to parse here, and
	// the global options after the verb are the verb's FlagSet's
	// (newFlagSet): building this one for nothing cost 0.018 ms.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := pflag.NewFlagSet("ulxc", pflag.ContinueOnError)
		fs.SetInterspersed(false)
		fs.SetOutput(io.Discard)
		e.register(fs)
		showVersion := fs.Bool("version", false, "print the version")
		help = fs.BoolP("help", "h", false, "show help")
		if err := fs.Parse(args); err != nil {
			return e.fail(usagef("%v", err))
		}
		if *showVersion {
			fmt.Fprintln(stdout, "ulxc", version)
			return 0
		}
		rest = fs.Args()
	}
	if len(rest) == 0 && !*help {
		// A usage error, as in LXC's tools: the usage goes to stderr.
		printUsage(stderr)
		return 2
	}
	if *help || rest[0] == "help" {
		if len(rest) > 1 {
			rest = []string{rest[1], "--help"}
		} else {
			printUsage(stdout)
			return 0
		}
	}
	v, ok := lookupVerb(rest[0])
	if !ok {
		return e.fail(usagef("unknown command %q (see 'ulxc help')", rest[0]))
	}
	err := v.run(e, rest[1:])
	code := e.fail(err)
	e.logCommand(rest, code, err)
	e.closeLog()
	return code
}

func lookupVerb(name string) (verb, bool) {
	name = strings.TrimPrefix(name, "lxc-") // `ulxc lxc-ls` is a habit worth forgiving
	for _, v := range append(verbs[:len(verbs):len(verbs)], docVerbs()...) {
		if v.name == name {
			return v, true
		}
	}
	return verb{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `ulxc runs LXC-style system containers as an unprivileged user.

Usage:
  ulxc [-P LXCPATH] COMMAND [OPTIONS] [NAME] [-- ARGS...]

Commands:
`)
	for _, v := range append(verbs[:len(verbs):len(verbs)], docVerbs()...) {
		fmt.Fprintf(w, "  %-14s %s\n", v.name, v.summary)
	}
	fmt.Fprint(w, `
Run 'ulxc COMMAND --help' for the options of one command.

Examples:
  ulxc checkconfig
  ulxc usernsexec -- id
`)
}

// fail reports err the LXC way and returns the exit status for it.
func (e *env) fail(err error) int {
	if err == nil {
		return 0
	}
	// A command's own status (attach, start -F, execute): the common
	// end, spared errors.Is's and errors.As's walks, whose code a fresh
	// process pages in for them alone.
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(e.stderr, "ulxc: error: %v\n", err)
	for _, h := range hints(err) {
		fmt.Fprintf(e.stderr, "ulxc: hint: %s\n", h)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	// A command that could not be run, as shells say it: 127 when it
	// was not found, 126 when it was found but not run.
	var je *nsenter.JoinError
	if errors.As(err, &je) && je.IsExec() {
		if errors.Is(err, unix.ENOENT) {
			return 127
		}
		return 126
	}
	return 1
}

// warnf prints a warning, and logs it; warnings are never silenced by -q.
func (e *env) warnf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "ulxc: warning: "+format+"\n", a...)
	e.logFileOnly(slog.LevelWarn, fmt.Sprintf(format, a...))
}

// infof prints progress for humans unless -q.
func (e *env) infof(format string, a ...any) {
	if !e.quiet {
		fmt.Fprintf(e.stderr, format+"\n", a...)
	}
}

// newFlagSet returns a verb's flag set with the global flags registered and
// usage text written by hand.
func (e *env) newFlagSet(name string, taken ...string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("ulxc "+name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.register(fs, taken...)
	fs.Usage = func() {}
	fs.BoolP("help", "h", false, "show help")
	fs.Lookup("help").Hidden = true
	fs.SetInterspersed(true)
	fs.SortFlags = false
	return fs
}

// parse parses a verb's flags, printing its usage for --help, and opens
// the command's log (--logfile). Options may stand anywhere before `--`,
// before or after the container's name, as LXC's tools accept them; only
// `--` ends them.
func (e *env) parse(fs *pflag.FlagSet, usage string, args []string) error {
	if e.introspect != nil {
		e.introspect(fs, usage)
		return pflag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		verb := strings.TrimPrefix(fs.Name(), "ulxc ")
		if strings.Contains(usage, "-- CMD") && strings.Contains(err.Error(), "unknown") {
			// The option probably belongs to the command: `attach web ls -l`.
			return usagef("%s: %v (a command and its options go after --: see 'ulxc %s --help')", verb, err, verb)
		}
		return usagef("%s: %v (see 'ulxc %s --help')", verb, err, verb)
	}
	if h, _ := fs.GetBool("help"); h {
		fmt.Fprint(e.stdout, usage)
		fmt.Fprintln(e.stdout, "\nOptions:")
		fmt.Fprint(e.stdout, fs.FlagUsages())
		return pflag.ErrHelp
	}
	return e.openLog()
}

// operands returns what is left of a verb's arguments once its options
// are parsed: the operands before `--`, and those after it.
func operands(fs *pflag.FlagSet) (before, after []string) {
	args := fs.Args()
	if at := fs.ArgsLenAtDash(); at >= 0 {
		return args[:at], args[at:]
	}
	return args, nil
}

// nameAndCommand takes the container name from -n or the first operand and
// returns the command that follows it, as lxc-start and lxc-attach read
// their arguments: the operands after the name, then those after `--`.
func nameAndCommand(fs *pflag.FlagSet, name *string, verb string) ([]string, error) {
	before, after := operands(fs)
	if *name == "" && len(before) > 0 {
		*name, before = before[0], before[1:]
	}
	if *name == "" {
		return nil, usagef("%s: no container name (see 'ulxc %s --help')", verb, verb)
	}
	return append(before, after...), nil
}

// stringsFlag is a repeatable string option: each use appends its value,
// as pflag's StringArray does. StringArray renders its default for the
// usage through encoding/csv when the option is defined: code that a fresh
// process paged in, with three fresh heap pages, for every command with
// such an option, attach among them, help or not.
type stringsFlag struct{ p *[]string }

func (f stringsFlag) String() string {
	if f.p == nil || len(*f.p) == 0 {
		return "" // no default shown, as for an empty StringArray
	}
	return "[" + strings.Join(*f.p, ",") + "]"
}

func (f stringsFlag) Set(v string) error { *f.p = append(*f.p, v); return nil }

func (f stringsFlag) Type() string { return "stringArray" }

// stringsVarP defines a repeatable string option, its values in *p.
func stringsVarP(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	fs.VarP(stringsFlag{p}, name, short, usage)
}

// stringsP defines a repeatable string option and returns where its values go.
func stringsP(fs *pflag.FlagSet, name, short, usage string) *[]string {
	p := new([]string)
	stringsVarP(fs, p, name, short, usage)
	return p
}
