//go:build !ulxc_lean

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/lxcconf"
	"github.com/ulxc/ulxc/store"
	"github.com/ulxc/ulxc/template"
	"github.com/ulxc/ulxc/userns"
)

const createUsage = `Usage: ulxc create [-n] NAME [-t download] [-B dir|overlay] [-m MAP]... [-f CONFIG] -- -d DIST -r RELEASE [-a ARCH] [OPTIONS]
       ulxc create [-n] NAME -t busybox [-B dir|overlay]

Create a container, as lxc-create does. The download template fetches an
image from an LXC image server, checks its OpenPGP signatures against a
pinned key and unpacks it inside your user namespace; the busybox template
builds a small system from the host's static busybox, without network.
The download options may also be given without "-t download --".

-B dir (the default) gives the container its own copy of the image in
NAME/rootfs. -B overlay unpacks the image once, per build and id map, into
a read-only layer shared by every container made from it
(~/.cache/ulxc/layers); the container is an overlay whose upper layer,
NAME/overlay/delta, holds all it changes. The next create of that image
takes milliseconds and no space. A layer is kept while a container uses
it; 'ulxc images --prune-layers' removes the unused ones.

Download options (after --):
  -d, --dist DIST          distribution, e.g. debian
  -r, --release RELEASE    release, e.g. bookworm
  -a, --arch ARCH          architecture (Debian name); default this machine's
      --variant VARIANT    default "default"
      --server SERVER      image server; default images.linuxcontainers.org
      --keyid FPR          trust the key with this 40-hex-digit fingerprint
      --keyring FILE       ...taken from this key file
      --keyserver URL      ...or fetched from this HKP keyserver
      --no-validate        do not check signatures (warns every time)
      --flush-cache        download again, replacing the cached image (and,
                           with -B overlay, its layer; one in use is kept)
      --force-cache        use the cached image, no network at all

The first create from an image decompresses its rootfs.tar.xz (with xz-utils
when installed, else in Go; ULXC_XZ=go or ULXC_XZ=xz-utils forces one) and
keeps the decompressed tar in the cache, so that later creates skip the
decompression; --flush-cache removes it with the rest of the image.

Examples:
  ulxc create web -t download -- -d debian -r bookworm -a amd64
  ulxc create -n web -d alpine -r 3.19
  ulxc create box -t busybox
  ulxc create web2 -B overlay -t download -- -d debian -r bookworm
`

// imageFlags are the download template's own options; the server and
// key options are images' downloadFlags.
type imageFlags struct {
	req                    download.Request
	flushCache, forceCache bool
	server                 downloadFlags
}

// register adds the flags to fs. Both flag sets (before and after "--")
// are registered before either is parsed: registering resets a value.
func (d *imageFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&d.req.Dist, "dist", "d", "", "distribution")
	fs.StringVarP(&d.req.Release, "release", "r", "", "release")
	fs.StringVarP(&d.req.Arch, "arch", "a", "", "architecture")
	fs.StringVar(&d.req.Variant, "variant", "", "variant")
	fs.BoolVar(&d.flushCache, "flush-cache", false, "download again")
	fs.BoolVar(&d.forceCache, "force-cache", false, "use the cache only")
	d.server.register(fs)
}

func (d *imageFlags) set() bool {
	return d.req != download.Request{} || d.flushCache || d.forceCache || d.server != downloadFlags{}
}

func cmdCreate(e *env, args []string) error {
	fs := e.newFlagSet("create")
	name := fs.StringP("name", "n", "", "container `NAME`")
	tmpl := fs.StringP("template", "t", "download", "template: download or busybox")
	mapFlags := stringsP(fs, "map", "m", "id map `u|g|b:NSID:HOSTID:RANGE` instead of default.conf's (repeatable)")
	confFile := fs.StringP("config", "f", "", "start from this config `FILE` instead of default.conf")
	bdev := fs.StringP("bdev", "B", "dir", "backing store: dir or overlay")
	var dl imageFlags
	dl.register(fs)
	tfs := pflag.NewFlagSet("ulxc create", pflag.ContinueOnError)
	tfs.SetOutput(io.Discard)
	tfs.Usage = func() {}
	dl.register(tfs)
	list := tfs.BoolP("list", "l", false, "")
	if err := e.parse(fs, createUsage, args); err != nil {
		return err
	}
	pos, tmplArgs := operands(fs)
	cname, err := containerName(*name, pos, "create")
	if err != nil {
		return err
	}
	kind, err := template.ParseKind(*tmpl)
	if err != nil {
		return usagef("create: %v", err)
	}
	if err := tfs.Parse(tmplArgs); err != nil || tfs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", tfs.Arg(0))
		}
		return usagef("create: template %s: %v (see 'ulxc create --help')", kind, err)
	}
	if *list {
		return usagef("create: --list: 'ulxc images [--server S] [-d DIST]' lists what a server offers")
	}
	if kind == template.Busybox && dl.set() {
		return usagef("create: -t busybox takes no download options (-d, -r, --server...)")
	}
	if kind == template.Download && (dl.req.Dist == "" || dl.req.Release == "") {
		return usagef("create: the download template needs -d DIST and -r RELEASE (see 'ulxc images' for what a server offers)")
	}
	if dl.flushCache && dl.forceCache {
		return usagef("create: --flush-cache and --force-cache exclude each other")
	}

	backend, err := store.ParseBackend(*bdev)
	if err != nil {
		return usagef("create: -B: %v", err)
	}
	opts := template.Options{Template: kind, Backend: backend, Image: dl.req, Warn: func(s string) { e.warnf("%s", s) }, Log: e.logger()}
	if opts.XZ, err = image.ParseXZDecoder(os.Getenv("ULXC_XZ")); err != nil {
		return usagef("create: ULXC_XZ: %v", err)
	}
	for _, v := range *mapFlags {
		maps, err := userns.ParseFlag(v)
		if err != nil {
			return usagef("create: -m: %v", err)
		}
		opts.Maps = append(opts.Maps, maps...)
	}
	if opts.Config, err = loadBaseConfig(*confFile); err != nil {
		return fmt.Errorf("create %s: %w", cname, err)
	}
	dl.server.keyring = absPath(dl.server.keyring)
	if opts.Fetch, err = dl.server.options(e); err != nil {
		return err
	}
	opts.Fetch.FlushCache, opts.Fetch.ForceCache = dl.flushCache, dl.forceCache
	opts.Image.Server = dl.server.server
	opts.Comment = []string{"Created by: ulxc create " + strings.Join(args, " ")}

	s, err := e.openStore()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	res, err := template.Create(ctx, s, cname, opts)
	if err != nil {
		return err
	}
	if res.PasswordLocked {
		e.infof("The root password shipped with the image is locked (every user of the image knows it).")
	}
	e.infof("Created container %s in %s", cname, res.Container.Dir)
	if res.CreateMessage != "" && !e.quiet {
		fmt.Fprintf(e.stdout, "\n---\n%s\n", res.CreateMessage)
	}
	return nil
}

// loadBaseConfig loads -f FILE, or default.conf.
func loadBaseConfig(file string) (*lxcconf.Config, error) {
	if file == "" {
		return lxcconf.LoadDefault(lxcconf.Options{})
	}
	return lxcconf.Load(file, lxcconf.Options{})
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// templateChild is template.ChildEntry: create's unpack and busybox build
// inside the container's user namespace.
func templateChild(args []string) int { return template.ChildMain(args) }
