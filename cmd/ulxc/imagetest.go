//go:build !ulxc_lean

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ulxc/ulxc/download"
)

const imageTestUsage = `Usage: ulxc image test --server S -d DIST -r RELEASE [-a ARCH] [--variant V | --all-variants]
                       [--keyid FPR [--keyring F | --keyserver URL]] [--format table|json] [--timeout D] [-- CMD...]

Smoke-test the newest build of each matching variant as its users will get
it: create a container from it (downloaded and verified as 'ulxc create'
does), start it and check that its init reaches a running state (with
systemd: 'systemctl is-system-running' says running), then run CMD in it. An
image without an init (no /sbin/init, no lxc.init.cmd) runs CMD, or
/bin/true, as its only process instead. Prints VARIANT, BUILD, RESULT,
TIME and SIZE (of rootfs.tar.xz); exits 1 if any variant fails. The
containers live in a directory of their own and are destroyed afterwards.

Examples:
  ulxc image test --server http://127.0.0.1:8080 -d busybox -r 1.36 --all-variants \
      --keyid FINGERPRINT --keyserver http://127.0.0.1:8080
  ulxc image test -d debian -r bookworm --variant cloud -- sh -c 'apt-get --version'
`

// variantResult is one row of image test's report.
type variantResult struct {
	Variant string  `json:"variant"`
	Build   string  `json:"build"`
	Result  string  `json:"result"` // PASS or FAIL
	Seconds float64 `json:"seconds"`
	Size    int64   `json:"size"` // of rootfs.tar.xz, bytes
	Check   string  `json:"check,omitempty"`
	Error   string  `json:"error,omitempty"`
}

func cmdImageTest(e *env, args []string) error {
	fs := e.newFlagSet("image test")
	var df downloadFlags
	df.register(fs)
	var req download.Request
	fs.StringVarP(&req.Dist, "dist", "d", "", "`DIST`ribution")
	fs.StringVarP(&req.Release, "release", "r", "", "`RELEASE`")
	fs.StringVarP(&req.Arch, "arch", "a", download.HostArch(), "`ARCH`itecture (Debian name)")
	fs.StringVar(&req.Variant, "variant", "", "test this `VARIANT` only (default: default)")
	all := fs.Bool("all-variants", false, "test every variant the server offers")
	format := fs.String("format", "table", "output `FORMAT`: table or json")
	timeout := fs.Duration("timeout", 2*time.Minute, "give each boot check `DURATION`")
	if err := e.parse(fs, imageTestUsage, args); err != nil {
		return err
	}
	cmd := fs.Args()
	if at := fs.ArgsLenAtDash(); at > 0 {
		return usagef("image test: unexpected argument %q before --", fs.Arg(0))
	} else if at < 0 && len(cmd) > 0 {
		return usagef("image test: unexpected argument %q (a command goes after --)", cmd[0])
	}
	switch {
	case req.Dist == "" || req.Release == "":
		return usagef("image test: -d DIST and -r RELEASE are required")
	case *all && req.Variant != "":
		return usagef("image test: --variant and --all-variants exclude each other")
	case *format != "table" && *format != "json":
		return usagef("image test: --format %q: want table or json", *format)
	case *timeout <= 0:
		return usagef("image test: --timeout must be positive")
	}
	if !*all && req.Variant == "" {
		req.Variant = "default"
	}
	opts, err := df.options(e)
	if err != nil {
		return err
	}
	opts.Progress = nil
	req.Server = df.server
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	entries, err := download.List(ctx, df.server, req, opts)
	if err != nil {
		return fmt.Errorf("image test: %w", err)
	}
	variants := newestPerVariant(entries)
	if len(variants) == 0 {
		return fmt.Errorf("image test: %s: %w", req, download.ErrNoMatch)
	}
	t, err := newImageTester(e, df, opts, *timeout, cmd)
	if err != nil {
		return fmt.Errorf("image test: %w", err)
	}
	defer t.close()
	var results []variantResult
	failed := 0
	for _, v := range variants {
		r := t.run(ctx, v)
		if r.Result != "PASS" {
			failed++
			e.warnf("image test: %s: %s", r.Variant, r.Error)
		}
		results = append(results, r)
	}
	if err := printTestResults(e, results, *format); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("image test: %d of %d variants failed", failed, len(results))
	}
	return nil
}

// newestPerVariant keeps the greatest build of each variant, by variant.
func newestPerVariant(entries []download.IndexEntry) []download.IndexEntry {
	best := map[string]download.IndexEntry{}
	for _, e := range entries {
		if b, ok := best[e.Variant]; !ok || e.Build > b.Build {
			best[e.Variant] = e
		}
	}
	var out []download.IndexEntry
	for _, e := range best {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Variant < out[j].Variant })
	return out
}

func printTestResults(e *env, results []variantResult, format string) error {
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIANT\tBUILD\tRESULT\tTIME\tSIZE")
	for _, r := range results {
		size := "-"
		if r.Size > 0 {
			size = humanBytes(r.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fs\t%s\n", r.Variant, r.Build, r.Result, r.Seconds, size)
	}
	return tw.Flush()
}
