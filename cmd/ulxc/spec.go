package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/ocispec"
)

const specUsage = `Usage: ulxc spec [-n] NAME [-- CMD [ARGS...]]

Print container NAME as an OCI runtime-spec config.json: the exact model
that 'ulxc start' runs, which crun or runc can run too. CMD replaces the
init command, as with 'ulxc start NAME -- CMD'. Settings the spec cannot
express are annotations (ulxc.*); keys that ask for something ulxc does not
enforce are listed on stderr.

Examples:
  ulxc spec web
  ulxc spec web -- /bin/sh -c 'echo hi' > bundle/config.json
  crun --root "$XDG_RUNTIME_DIR/crun" run -b bundle web
`

func cmdSpec(e *env, args []string) error {
	fs := e.newFlagSet("spec")
	name := fs.StringP("name", "n", "", "the container's `NAME`")
	if err := e.parse(fs, specUsage, args); err != nil {
		return err
	}
	pos, command := operands(fs)
	if fs.ArgsLenAtDash() >= 0 && len(command) == 0 {
		return usagef("spec: nothing after -- (see 'ulxc spec --help')")
	}
	if *name == "" && len(pos) > 0 {
		*name, pos = pos[0], pos[1:]
	}
	switch {
	case *name == "":
		return usagef("spec: no container name (see 'ulxc spec --help')")
	case len(pos) > 0:
		return usagef("spec: unexpected %q (a command goes after --)", pos[0])
	}

	s, err := e.openStore()
	if err != nil {
		return fmt.Errorf("spec %s: %w", *name, err)
	}
	// What start runs with no -f, -s or --publish: lifecycle.Start makes
	// its spec with the same call.
	c, spec, err := lifecycle.Spec(s, *name, lifecycle.Options{Command: command,
		ConfigWarn: func(w lxcconf.Warning) { e.warnf("%s", w) }})
	if c == nil && err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if err != nil {
		return fmt.Errorf("spec %s: %w", *name, err)
	}
	if keys := ocispec.Unapplied(spec); len(keys) > 0 {
		e.warnf("%s: not enforced by ulxc: %s", *name, strings.Join(keys, ", "))
	}
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fmt.Errorf("spec %s: %w", *name, err)
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}
