//go:build !ulxc_lean

package main

import (
	"fmt"
	"time"

	"github.com/ulxc/ulxc/publish"
)

const keysGenerateUsage = `Usage: ulxc keys generate NAME [--expire DURATION] [--email ADDRESS] [--algorithm ed25519|rsa4096] [-o DIR]

Make an OpenPGP key that signs the images you pack ('ulxc image pack
--sign-key'). The secret part goes to DIR/NAME.key (mode 0600, not
passphrase-protected: keep it private), the public part to DIR/NAME.asc;
DIR is ${XDG_CONFIG_HOME:-~/.config}/ulxc/signing by default. Ed25519 needs
gpg 2.1 or later on clients that check with gpg; rsa4096 suits older ones.
No SHA-1 is used: the key signs with SHA-512 and prefers SHA-512 and SHA-256.

Examples:
  ulxc keys generate images --expire 2y --email images@example.org
  ulxc image pack web -d busybox -r 1.36 -a amd64 --variant default \
      --sign-key ~/.config/ulxc/signing/images.key -o ~/tree
`

func cmdKeysGenerate(e *env, args []string) error {
	fs := e.newFlagSet("keys generate", "o") // -o is the output directory here
	expire := fs.String("expire", "", "the key expires after `DURATION` (30d, 2w, 1y, 36h); default never")
	email := fs.String("email", "", "add this e-mail `ADDRESS` to the key's user id")
	algo := fs.String("algorithm", string(publish.Ed25519), "`ALGORITHM`: ed25519 or rsa4096")
	dir := fs.StringP("output", "o", "", "write the key files into `DIR` (default ~/.config/ulxc/signing)")
	if err := e.parse(fs, keysGenerateUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("keys generate: want one NAME (see 'ulxc keys generate --help')")
	}
	name := fs.Arg(0)
	o := publish.KeyOptions{Name: name, Email: *email}
	var err error
	if o.Algorithm, err = publish.ParseKeyAlgorithm(*algo); err != nil {
		return usagef("keys generate: --algorithm: %v", err)
	}
	if *expire != "" {
		if o.Lifetime, err = publish.ParseDuration(*expire); err != nil {
			return usagef("keys generate: --expire: %v", err)
		}
	}
	if *dir == "" {
		if *dir, err = publish.KeyDir(); err != nil {
			return fmt.Errorf("keys generate: %w", err)
		}
	}
	k, err := publish.GenerateKey(o)
	if err != nil {
		return fmt.Errorf("keys generate %s: %w", name, err)
	}
	files, err := publish.WriteKeyFiles(k, absPath(*dir), name)
	if err != nil {
		return fmt.Errorf("keys generate %s: %w", name, err)
	}
	expires := "never"
	if t := k.Expires(); !t.IsZero() {
		expires = t.UTC().Format(time.DateOnly)
	}
	fmt.Fprintf(e.stdout, `Fingerprint: %s
User ID:     %s (%s, expires %s)
Secret key:  %s (mode 0600: keep it private, it signs your images)
Public key:  %s

Sign with:   ulxc image pack ... --sign-key %s
Publish:     'image pack' copies the public key into the tree (keys/%s.asc) and
             'ulxc image serve' answers keyserver lookups for it. Users trust it with
               ulxc keys add %s            (or gpg --import it)
             and then create with --keyid %s
             (or --keyid ... --keyserver http://YOUR-SERVER without adding it).
`, k.Fingerprint(), k.UserID(), o.Algorithm, expires, files.Secret, files.Public,
		files.Secret, k.Fingerprint(), files.Public, k.Fingerprint())
	return nil
}
