//go:build !ulxc_lean

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/template"
)

const imagesUsage = `Usage: ulxc images [--server S] [-d DIST] [-r RELEASE] [-a ARCH] [--variant V] [--format table|json]
                   [--keyid FPR [--keyring FILE | --keyserver URL]] [--no-validate]
       ulxc images --prune-layers

List the images an LXC image server offers (its meta/1.0 index, verified with
the pinned signing key). Filters combine; without --variant every variant is
listed.

--prune-layers removes the shared layers of 'ulxc create -B overlay' that no
container uses any more, and the remains of interrupted creates, and names
what it removed; a layer a container uses is kept.

Examples:
  ulxc images
  ulxc images -d debian -a arm64
  ulxc images --server http://127.0.0.1:8080 --format json
  ulxc images --server mirror.example.org --keyid "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"
`

// downloadFlags are the image-server flags shared by images and create.
type downloadFlags struct {
	server, keyID, keyring, keyserver string
	noValidate                        bool
}

func (d *downloadFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&d.server, "server", "", "image server: `HOST[:PORT]` (https) or an http(s):// URL (default "+download.DefaultServer+")")
	fs.StringVar(&d.keyID, "keyid", "", "trust the key with this full `FINGERPRINT` (40 hex digits) instead of the linuxcontainers key")
	fs.StringVar(&d.keyring, "keyring", "", "take the --keyid key from this key `FILE`")
	fs.StringVar(&d.keyserver, "keyserver", "", "fetch the --keyid key from this HKP `URL` if it is not in the trust store")
	fs.BoolVar(&d.noValidate, "no-validate", false, "do not verify signatures (insecure; warns every time)")
}

// options checks the flags and turns them into download.Options.
func (d *downloadFlags) options(e *env) (download.Options, error) {
	o := download.Options{
		NoValidate: d.noValidate,
		UserAgent:  "ulxc/" + version,
		Warn:       func(msg string) { e.warnf("%s", msg) },
	}
	switch {
	case d.noValidate && d.keyID != "":
		return o, usagef("--no-validate and --keyid exclude each other")
	case d.keyring != "" && d.keyserver != "":
		return o, usagef("--keyring and --keyserver exclude each other")
	case d.keyID == "" && (d.keyring != "" || d.keyserver != ""):
		return o, usagef("--keyring and --keyserver need --keyid FINGERPRINT")
	}
	if d.keyID != "" {
		fpr, err := download.ParseFingerprint(d.keyID)
		if err != nil {
			return o, usagef("--keyid %q: not a full fingerprint: give all 40 hex digits (short key ids can be forged)", d.keyID)
		}
		o.Key = download.KeySource{Fingerprint: fpr, Keyring: d.keyring, Keyserver: d.keyserver}
	}
	if f, ok := e.stderr.(*os.File); ok && !e.quiet && term.IsTerminal(int(f.Fd())) {
		o.Progress = f
	}
	return o, nil
}

func cmdImages(e *env, args []string) error {
	fs := e.newFlagSet("images")
	var df downloadFlags
	var filter download.Request
	df.register(fs)
	fs.StringVarP(&filter.Dist, "dist", "d", "", "only this `DIST`ribution")
	fs.StringVarP(&filter.Release, "release", "r", "", "only this `RELEASE`")
	fs.StringVarP(&filter.Arch, "arch", "a", "", "only this `ARCH` (Debian name: amd64, arm64...)")
	fs.StringVar(&filter.Variant, "variant", "", "only this `VARIANT`")
	format := fs.String("format", "table", "output `FORMAT`: table or json")
	prune := fs.Bool("prune-layers", false, "remove the shared layers no container uses")
	if err := e.parse(fs, imagesUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("images: unexpected argument %q", fs.Arg(0))
	}
	if *prune {
		return e.pruneLayers()
	}
	if *format != "table" && *format != "json" {
		return usagef("--format %q: want table or json", *format)
	}
	opts, err := df.options(e)
	if err != nil {
		return err
	}
	entries, err := download.List(context.Background(), df.server, filter, opts)
	if err != nil {
		return err
	}
	if *format == "json" {
		if entries == nil {
			entries = []download.IndexEntry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	if len(entries) == 0 {
		return errors.New("no matching images")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIST\tRELEASE\tARCH\tVARIANT\tBUILD")
	for _, x := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Dist, x.Release, x.Arch, x.Variant, x.Build)
	}
	return tw.Flush()
}

// pruneLayers is images --prune-layers.
func (e *env) pruneLayers() error {
	removed, err := template.NewLayerCache("").Prune(context.Background())
	for _, d := range removed {
		e.infof("Removed layer %s", d)
	}
	if err != nil {
		return fmt.Errorf("prune layers: %w", err)
	}
	return nil
}
