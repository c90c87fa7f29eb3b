//go:build !ulxc_lean

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ulxc/ulxc/download"
)

const keysUsage = `Usage: ulxc keys add FILE...
       ulxc keys list [--format table|json]
       ulxc keys generate NAME [--expire DURATION] (see 'ulxc keys generate --help')

Manage the OpenPGP keys ulxc trusts for images. The linuxcontainers key is
built in; other keys live in ${XDG_CONFIG_HOME:-~/.config}/ulxc/trusted.d/ and
are used with 'ulxc create ... -- --keyid FINGERPRINT' or 'ulxc images --keyid'.
'add' copies every public key of FILE there (secret keys are refused) and
prints their fingerprints: check them against what the image publisher says.

Examples:
  ulxc keys add mirror-signing-key.asc
  ulxc keys list
`

func cmdKeys(e *env, args []string) error {
	if len(args) > 0 && args[0] == "generate" {
		return cmdKeysGenerate(e, args[1:])
	}
	fs := e.newFlagSet("keys")
	format := fs.String("format", "table", "list output `FORMAT`: table or json")
	if err := e.parse(fs, keysUsage, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("keys: want 'add FILE...', 'list' or 'generate NAME' (see 'ulxc keys --help')")
	}
	switch sub := fs.Arg(0); sub {
	case "add":
		if fs.NArg() < 2 {
			return usagef("keys add: want a key FILE")
		}
		return keysAdd(e, fs.Args()[1:])
	case "list":
		if fs.NArg() > 1 {
			return usagef("keys list: unexpected argument %q", fs.Arg(1))
		}
		if *format != "table" && *format != "json" {
			return usagef("--format %q: want table or json", *format)
		}
		return keysList(e, *format)
	default:
		return usagef("keys: unknown subcommand %q: want add, list or generate", sub)
	}
}

func keysAdd(e *env, files []string) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("keys add: %w", err)
		}
		added, err := download.AddKeys("", f)
		f.Close()
		if err != nil {
			return fmt.Errorf("keys add %s: %w", name, err)
		}
		for _, k := range added {
			fmt.Fprintf(e.stdout, "%s  %s\n", k.Fingerprint, k.UserID)
		}
	}
	return nil
}

func keysList(e *env, format string) error {
	keys, err := download.ListKeys("")
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(keys)
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tCREATED\tEXPIRES\tUSER ID")
	for _, k := range keys {
		uid := k.UserID
		if k.Default {
			uid += " (built in, default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Fingerprint, day(k.Created), day(k.Expires), uid)
	}
	return tw.Flush()
}
