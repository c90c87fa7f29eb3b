//go:build ulxc_lean

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ulxc/ulxc/hostcheck"
)

// The image verbs are not in this build (imageverbs.go): they link an HTTP
// client and OpenPGP, whose package initialisation every ulxc process
// would otherwise pay, `ulxc start` twice. They run in ulxc-image, the full
// build of this command, installed beside ulxc.

// imageBinary is the full build that the image verbs exec.
const imageBinary = "ulxc-image"

// errNoImageBinary reports a lean ulxc installed without its companion.
var errNoImageBinary = errors.New(imageBinary + " is not installed beside ulxc")

func cmdCreate(e *env, args []string) error { return e.imageVerb("create", args) }
func cmdImages(e *env, args []string) error { return e.imageVerb("images", args) }
func cmdKeys(e *env, args []string) error   { return e.imageVerb("keys", args) }
func cmdImage(e *env, args []string) error  { return e.imageVerb("image", args) }

// imageHints: ulxc-image prints its own.
func imageHints(error) []string { return nil }

// buildCheck is checkconfig's line about ulxc-image, which this build
// needs for create, images, keys and image.
func buildCheck() []hostcheck.Result {
	r := hostcheck.Result{Group: "ulxc", Name: imageBinary}
	path, err := imagePath()
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		r.Status, r.Detail = hostcheck.Warn, err.Error()
		r.Fix = "create, images, keys and image need it beside ulxc: CGO_ENABLED=0 go build -trimpath -o " + path + " ./cmd/ulxc (scripts/setup does)"
		return []hostcheck.Result{r}
	}
	r.Status, r.Detail = hostcheck.OK, path
	return []hostcheck.Result{r}
}

// imagePath is where ulxc-image should be: beside this executable.
func imagePath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", imageBinary, err)
	}
	return filepath.Join(filepath.Dir(exe), imageBinary), nil
}

// imageVerb replaces this process with ulxc-image running the same
// command: the global flags ulxc parsed, the verb and its arguments. Its
// output, hints and exit status are the command's.
func (e *env) imageVerb(verb string, args []string) error {
	path, err := imagePath()
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w (%s): build it as scripts/setup does: CGO_ENABLED=0 go build -trimpath -o %s ./cmd/ulxc",
			verb, errNoImageBinary, path, path)
	}
	argv := []string{imageBinary}
	if e.lxcPath != "" {
		argv = append(argv, "--lxcpath", e.lxcPath)
	}
	if e.logFile != "" {
		argv = append(argv, "--logfile", e.logFile)
	}
	if e.logPriority != "" {
		argv = append(argv, "--logpriority", e.logPriority)
	}
	if e.quiet {
		argv = append(argv, "--quiet")
	}
	if e.debug {
		argv = append(argv, "--debug")
	}
	argv = append(append(argv, verb), args...)
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("%s: exec %s: %w", verb, path, err)
	}
	return nil
}

// inFullBuild runs the documenting verbs in ulxc-image: the image verbs'
// flags are only there.
func (e *env) inFullBuild(verb string, args []string) (bool, error) {
	return true, e.imageVerb(verb, args)
}
