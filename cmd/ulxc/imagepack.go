//go:build !ulxc_lean

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lifecycle"
	"github.com/ulxc/ulxc/publish"
	"github.com/ulxc/ulxc/runtime"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/userns"
)

const imagePackUsage = `Usage: ulxc image pack ROOTFS-DIR|CONTAINER -d DIST -r RELEASE [-a ARCH] [--variant VARIANT]
                       [--build BUILD] [--sign-key FILE] -o TREE

Pack a stopped container, or a root filesystem directory, as one build of an
image in TREE, laid out as LXC's image servers are:
TREE/images/DIST/RELEASE/ARCH/VARIANT/BUILD/ with rootfs.tar.xz, meta.tar.xz,
SHA256SUMS and, with --sign-key, an armored signature of each. The build
appears whole or not at all, and an existing build is never replaced.

A plain NAME is a container (of -P LXCPATH); anything with a slash is a
directory (./NAME for one in the current directory). A container is read
inside its user namespace, so owners are the ids the container sees, and
the device nodes its create recorded are packed again; its name in
/etc/hostname and /etc/hosts goes back to LXC_NAME. A directory is read as
it is by root, and otherwise inside a user namespace where you are root and
your subordinate ids follow from 1 (as 'ulxc usernsexec' builds trees), or
with the maps of -m.

rootfs.tar.xz is compressed in blocks (decoded on every core by xz 5.4 and
ulxc) by xz-utils when installed, else in Go (ULXC_XZ=go or xz-utils forces
one); --xz-level trades size for time (default 6, as distrobuilder).

Examples:
  ulxc keys generate images
  ulxc image pack web -d busybox -r 1.36 --variant default \
      --sign-key ~/.config/ulxc/signing/images.key -o ~/tree
  ulxc image pack ./rootfs -d debian -r bookworm -a amd64 --variant minbase -o ~/tree
`

func cmdImagePack(e *env, args []string) error {
	fs := e.newFlagSet("image pack", "o") // -o is the tree, as the issue and distrobuilder have it
	var img download.IndexEntry
	fs.StringVarP(&img.Dist, "dist", "d", "", "`DIST`ribution name, e.g. debian")
	fs.StringVarP(&img.Release, "release", "r", "", "`RELEASE`, e.g. bookworm")
	fs.StringVarP(&img.Arch, "arch", "a", download.HostArch(), "`ARCH`itecture (Debian name)")
	fs.StringVar(&img.Variant, "variant", "default", "`VARIANT` name")
	fs.StringVar(&img.Build, "build", "", "`BUILD` id (default: the current UTC minute, 20060102_15:04)")
	signKey := fs.String("sign-key", "", "sign with the secret key in `FILE` ('ulxc keys generate')")
	tree := fs.StringP("output", "o", "", "the image `TREE` to write into (required)")
	expiry := fs.String("expiry", "30d", "clients re-check for a newer build after `DURATION`")
	message := fs.String("message", "", "create-message shown after each create (default: names the image)")
	level := fs.Int("xz-level", 6, "xz compression `LEVEL`, 1 (fast) to 9 (small)")
	mapFlags := stringsP(fs, "map", "m", "read a directory with id map `u|g|b:NSID:HOSTID:RANGE` (repeatable)")
	if err := e.parse(fs, imagePackUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("image pack: want one ROOTFS-DIR or CONTAINER (see 'ulxc image pack --help')")
	}
	switch {
	case *tree == "":
		return usagef("image pack: -o TREE is required")
	case img.Dist == "" || img.Release == "":
		return usagef("image pack: -d DIST and -r RELEASE are required")
	}
	opts := publish.PackOptions{Tree: absPath(*tree), Image: img, CreateMessage: *message,
		XZ: image.XZOptions{Level: *level}}
	var err error
	if opts.XZ.Encoder, err = image.ParseXZDecoder(os.Getenv("ULXC_XZ")); err != nil {
		return usagef("image pack: ULXC_XZ: %v", err)
	}
	if opts.Expiry, err = publish.ParseDuration(*expiry); err != nil {
		return usagef("image pack: --expiry: %v", err)
	}
	var maps []userns.Map
	for _, v := range *mapFlags {
		m, err := userns.ParseFlag(v)
		if err != nil {
			return usagef("image pack: -m: %v", err)
		}
		maps = append(maps, m...)
	}
	if *signKey != "" {
		if opts.Key, err = publish.LoadSigningKey(*signKey); err != nil {
			return fmt.Errorf("image pack: %w", err)
		}
	} else {
		e.warnf("image pack: no --sign-key: the build is not signed, and clients will only take it with --no-validate")
	}
	warn := func(s string) { e.warnf("%s", s) }
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	var src publish.Source
	if arg := fs.Arg(0); arg == "." || strings.Contains(arg, "/") {
		if src, err = publish.DirSource(arg, maps, warn); err != nil {
			return fmt.Errorf("image pack: %w", err)
		}
	} else {
		if len(maps) > 0 {
			return usagef("image pack: -m applies to a directory; a container is read with its own id map")
		}
		unlock, s, config, err := e.packContainer(arg, warn)
		if err != nil {
			return err
		}
		defer unlock()
		src = s
		opts.Config, opts.ConfigUser = publish.DistributionConfig(config, img.Arch)
	}
	p, err := publish.Pack(ctx, src, opts)
	if err != nil {
		return fmt.Errorf("image %w", err)
	}
	e.infof("Packed %s (%d entries, %d device nodes; rootfs.tar.xz %s with %s, meta.tar.xz %s)%s",
		p.Dir, p.Report.Entries, len(p.Report.Devices), humanBytes(p.RootfsSize), p.Encoder, humanBytes(p.MetaSize),
		map[bool]string{true: ", signed", false: ", not signed"}[p.Signed])
	fmt.Fprintln(e.stdout, p.Dir)
	return nil
}

// packContainer locks the stopped container name and returns its Source,
// its config and the unlock.
func (e *env) packContainer(name string, warn func(string)) (func(), publish.Source, string, error) {
	s, err := e.openStore()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := s.Get(name)
	if errors.Is(err, store.ErrNotExist) {
		if st, serr := os.Stat(name); serr == nil && st.IsDir() {
			return nil, nil, "", fmt.Errorf("image pack: %w; for the directory %s say ./%s", err, name, name)
		}
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("image pack: %w", err)
	}
	unlock, err := c.Lock(false)
	if err != nil {
		return nil, nil, "", fmt.Errorf("image pack %s: %w", name, err)
	}
	if _, st, err := lifecycle.Check(c); err != nil || st.Status != runtime.Stopped {
		unlock()
		if err == nil {
			err = lifecycle.RunningError(st) // the hint says to stop it first
		}
		return nil, nil, "", fmt.Errorf("image pack %s: %w", name, err)
	}
	src, config, err := publish.ContainerSource(c, warn)
	if err != nil {
		unlock()
		return nil, nil, "", fmt.Errorf("image pack: %w", err)
	}
	return unlock, src, config, nil
}
