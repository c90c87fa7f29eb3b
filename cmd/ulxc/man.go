package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const manUsage = `Usage: ulxc man [-d DIR] [COMMAND]

Write the manual pages, in roff: ulxc(1) and one ulxc-COMMAND(1) a
command, made from the same text and flags as 'ulxc help COMMAND' prints.
With -d they are written to DIR as ulxc.1 and ulxc-COMMAND.1 (what
scripts/setup installs in /usr/local/share/man/man1); otherwise the page
of COMMAND, or ulxc(1), goes to stdout.

Examples:
  ulxc man start | man -l -
  ulxc man -d ~/.local/share/man/man1
`

func cmdMan(e *env, args []string) error {
	fs := e.newFlagSet("man")
	dir := fs.StringP("dir", "d", "", "write every page to `DIR`")
	if err := e.parse(fs, manUsage, args); err != nil {
		return err
	}
	if handled, err := e.inFullBuild("man", args); handled {
		return err
	}
	docs := verbDocs()
	if *dir == "" {
		switch fs.NArg() {
		case 0:
			_, err := fmt.Fprint(e.stdout, manIndex(docs))
			return err
		case 1:
			name := strings.TrimPrefix(fs.Arg(0), "lxc-")
			for _, d := range docs {
				if d.name == name {
					_, err := fmt.Fprint(e.stdout, manPage(d))
					return err
				}
			}
			return usagef("man: unknown command %q (see 'ulxc help')", fs.Arg(0))
		}
		return usagef("man: one command at most")
	}
	if fs.NArg() > 0 {
		return usagef("man: -d writes every page: no COMMAND with it")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("man: %w", err)
	}
	pages := map[string]string{"ulxc.1": manIndex(docs)}
	for _, d := range docs {
		pages["ulxc-"+d.name+".1"] = manPage(d)
	}
	for name, text := range pages {
		if err := writeFileAtomic(filepath.Join(*dir, name), text); err != nil {
			return fmt.Errorf("man: %w", err)
		}
	}
	e.infof("wrote %d pages to %s", len(pages), *dir)
	return nil
}

// writeFileAtomic writes name through a temporary file beside it, so that
// man never reads half a page.
func writeFileAtomic(name, text string) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// quote that would make it a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffDash also writes every dash as \-, a minus, which man renders as
// the ASCII hyphen-minus that a command typed or pasted needs (a bare -
// may become a typographic hyphen).
func roffDash(s string) string { return strings.ReplaceAll(roff(s), "-", `\-`) }

func manHeader(b *strings.Builder, name, summary string) {
	fmt.Fprintf(b, ".TH %s 1 \"\" \"ulxc %s\" \"ulxc manual\"\n.SH NAME\n%s \\- %s\n", strings.ToUpper(name), version, roffDash(name), roff(summary))
}

// manPage is the page of one command: its usage text and its flags.
func manPage(d verbDoc) string {
	var b strings.Builder
	manHeader(&b, "ulxc-"+d.name, d.summary)
	synopsis, paragraphs, examples := usageParts(d.usage)
	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, s := range synopsis {
		b.WriteString(roffDash(s) + "\n")
	}
	b.WriteString(".fi\n.SH DESCRIPTION\n")
	for i, p := range paragraphs {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		if strings.HasPrefix(p, "  ") {
			// Text set out by indentation (sample output) keeps its lines.
			b.WriteString(".RS\n.nf\n")
			for _, l := range strings.Split(p, "\n") {
				b.WriteString(roffDash(strings.TrimPrefix(l, "  ")) + "\n")
			}
			b.WriteString(".fi\n.RE\n")
			continue
		}
		for _, l := range strings.Split(p, "\n") {
			b.WriteString(roffDash(l) + "\n")
		}
	}
	if flags := visibleFlags(d.flags); len(flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, f := range flags {
			b.WriteString(".TP\n")
			if f.Shorthand != "" {
				fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", f.Shorthand)
			}
			fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", roffDash(f.Name))
			if v := flagValue(f); v != "" {
				fmt.Fprintf(&b, " \\fI%s\\fR", roff(v))
			}
			b.WriteString("\n" + roffDash(flagHelp(f)))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				fmt.Fprintf(&b, " (default %s)", roffDash(f.DefValue))
			}
			b.WriteString("\n")
		}
	}
	if len(examples) > 0 {
		b.WriteString(".SH EXAMPLES\n.nf\n")
		for _, ex := range examples {
			b.WriteString(roffDash(ex) + "\n")
		}
		b.WriteString(".fi\n")
	}
	b.WriteString(".SH SEE ALSO\n\\fBulxc\\fR(1)")
	if lxcTools[d.name] {
		fmt.Fprintf(&b, ", \\fBlxc\\-%s\\fR(1)", d.name)
	}
	b.WriteString("\n")
	return b.String()
}

// lxcTools are the commands that have an LXC namesake.
var lxcTools = map[string]bool{"checkconfig": true, "usernsexec": true, "create": true, "destroy": true, "start": true,
	"stop": true, "ls": true, "info": true, "attach": true, "execute": true, "wait": true, "monitor": true, "top": true,
	"device": true, "console": true, "freeze": true, "unfreeze": true, "cgroup": true, "autostart": true}

// manIndex is ulxc(1): what ulxc is and its commands.
func manIndex(docs []verbDoc) string {
	var b strings.Builder
	manHeader(&b, "ulxc", "run LXC-style system containers as an unprivileged user")
	b.WriteString(`.SH SYNOPSIS
.B ulxc
[\fB\-P\fR \fILXCPATH\fR] \fICOMMAND\fR [\fIOPTIONS\fR] [\fINAME\fR] [\fB\-\-\fR \fIARGS\fR...]
.SH DESCRIPTION
ulxc keeps LXC's commands and flags: an LXC user's scripts run with \fBlxc\-\fR
made \fBulxc \fR. Every command takes \fB\-P\fR \fILXCPATH\fR, \fB\-\-logfile\fR,
\fB\-\-logpriority\fR, \fB\-q\fR and \fB\-\-debug\fR; \fBulxc help\fR \fICOMMAND\fR
prints what its page says.
.SH COMMANDS
`)
	for _, d := range docs {
		fmt.Fprintf(&b, ".TP\n\\fBulxc\\-%s\\fR(1)\n%s\n", roffDash(d.name), roff(d.summary))
	}
	b.WriteString(".SH EXIT STATUS\nThe container's own where one ran (start \\-F, attach, execute); 2 for a usage error; 1 otherwise.\n")
	return b.String()
}
