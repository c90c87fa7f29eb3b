package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
)

// normalize makes rendered and printed text comparable: one space for
// any run of blanks.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestManMatchesHelp writes the manual pages as the user and renders each
// with groff, which must not warn; each page must say what `ulxc help
// COMMAND` says: every paragraph of its text, every flag with its usage.
func TestManMatchesHelp(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		testenv.Skipf(t, "no groff to render the pages: apt-get install groff-base")
	}
	h := testenv.SubIDUser(t).NewHome(t)
	dir := filepath.Join(h.Dir, "man1")
	h.MustRun(t, "man", "-d", dir)
	docs := verbDocs()
	for _, d := range append(docs, verbDoc{verb: verb{name: ""}}) {
		page := filepath.Join(dir, "ulxc-"+d.name+".1")
		if d.name == "" {
			page = filepath.Join(dir, "ulxc.1")
		}
		// No hyphenation, one long line a paragraph: text to compare.
		r := testenv.RunCmd(t, exec.Command("groff", "-man", "-Tutf8", "-ww", "-rHY=0", "-rLL=1000n", "-P-cbou", page))
		if r.Code != 0 || r.Stderr != "" {
			t.Errorf("groff %s: exit %d, warnings %q", filepath.Base(page), r.Code, r.Stderr)
			continue
		}
		text := normalize(r.Stdout)
		if d.name == "" {
			for _, v := range docs {
				if !strings.Contains(text, "ulxc-"+v.name+"(1) "+v.summary) {
					t.Errorf("ulxc(1) does not list %s: %s", v.name, v.summary)
				}
			}
			continue
		}
		help := h.MustRun(t, "help", d.name).Stdout
		if same := h.MustRun(t, d.name, "--help").Stdout; help != same {
			t.Errorf("help %s and %s --help differ", d.name, d.name)
		}
		desc, opts, _ := strings.Cut(help, "\nOptions:\n")
		_, paras, examples := usageParts(desc)
		for _, p := range append(paras, examples...) {
			if !strings.Contains(text, normalize(p)) {
				t.Errorf("ulxc-%s(1) lacks what help says: %q", d.name, normalize(p))
			}
		}
		for _, f := range visibleFlags(d.flags) {
			want := "--" + f.Name
			if f.Shorthand != "" {
				want = "-" + f.Shorthand + ", " + want
			}
			if v := flagValue(f); v != "" {
				want += " " + v
			}
			if !strings.Contains(text, want+" "+normalize(flagHelp(f))) || !strings.Contains(opts, f.Name) {
				t.Errorf("ulxc-%s(1): flag %q with %q, help:\n%s", d.name, want, flagHelp(f), opts)
			}
		}
	}
	if b, err := os.ReadDir(dir); err != nil || len(b) != len(docs)+1 {
		t.Errorf("man -d wrote %d files (%v), want %d", len(b), err, len(docs)+1)
	}
}
