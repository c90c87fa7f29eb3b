//go:build !ulxc_lean

package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/ulxc/ulxc/publish"
)

const imageIndexUsage = `Usage: ulxc image index TREE [--sign-key FILE]

(Re)write TREE/meta/1.0/index-system and index-user, the lists LXC's
clients and 'ulxc create' choose images from: one line per image for its
newest complete build (one with rootfs.tar.xz, meta.tar.xz and SHA256SUMS),
as images.linuxcontainers.org lists them, and sign both. The key is
--sign-key, or else the secret key in ~/.config/ulxc/signing whose
fingerprint is the tree's (TREE/keys/, which 'image pack' writes). Builds
whose SHA256SUMS that key did not sign are left out, with a warning.

Examples:
  ulxc image index ~/tree
  ulxc image index ~/tree --sign-key ~/.config/ulxc/signing/images.key
`

func cmdImageIndex(e *env, args []string) error {
	fs := e.newFlagSet("image index")
	signKey := fs.String("sign-key", "", "sign with the secret key in `FILE`")
	if err := e.parse(fs, imageIndexUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("image index: want one TREE (see 'ulxc image index --help')")
	}
	tree := absPath(fs.Arg(0))
	opts := publish.IndexOptions{Warn: func(s string) { e.warnf("image index: %s", s) }}
	var err error
	if *signKey != "" {
		opts.Key, err = publish.LoadSigningKey(*signKey)
	} else {
		opts.Key, err = publish.TreeKey(tree, "")
	}
	if err != nil {
		return fmt.Errorf("image index: %w", err)
	}
	if opts.Key == nil {
		e.warnf("image index: %s has no key and no --sign-key was given: the index is not signed", tree)
	}
	entries, err := publish.Index(tree, opts)
	if err != nil {
		return fmt.Errorf("image %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIST\tRELEASE\tARCH\tVARIANT\tBUILD")
	for _, x := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Dist, x.Release, x.Arch, x.Variant, x.Build)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	signed := "not signed"
	if opts.Key != nil {
		signed = "signed by " + opts.Key.Fingerprint()
	}
	e.infof("Wrote %s/index-{system,user} (%d images, %s)", filepath.Join(tree, "meta", "1.0"), len(entries), signed)
	return nil
}
