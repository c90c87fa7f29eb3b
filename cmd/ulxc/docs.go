package main

import (
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// The shell completions (completion.go) and the manual pages (man.go) are
// generated from the verbs themselves: each verb is run with an env whose
// introspect hook receives its flag set and usage text where parse would
// have parsed them, so what they say is what the verb accepts, and `ulxc
// help VERB` prints the same text the manual page holds.

// docVerbs are the verbs that document the others; they are not in verbs,
// whose functions they read: a function, since Go forbids a variable
// that refers to itself.
func docVerbs() []verb {
	return []verb{
		{"completion", "print a shell completion script for bash, zsh or fish", cmdCompletion},
		{"man", "write the manual pages, in roff", cmdMan},
	}
}

// verbDoc is what a verb says of itself.
type verbDoc struct {
	verb
	usage string
	flags *pflag.FlagSet
}

// verbDocs returns every verb's documentation, in `ulxc help`'s order.
func verbDocs() []verbDoc {
	var out []verbDoc
	for _, v := range append(verbs[:len(verbs):len(verbs)], docVerbs()...) {
		d := verbDoc{verb: v}
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			introspect: func(fs *pflag.FlagSet, usage string) { d.flags, d.usage = fs, usage }}
		_ = v.run(e, []string{"--help"})
		if d.flags == nil {
			d.flags = pflag.NewFlagSet("ulxc "+v.name, pflag.ContinueOnError)
		}
		out = append(out, d)
	}
	return out
}

// visibleFlags are the flags a verb documents, in definition order.
func visibleFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			out = append(out, f)
		}
	})
	return out
}

// globalValue names the value of a global flag, whose usage text (main.go)
// names none. Switches, not package maps, which every ulxc process would
// build before main.
func globalValue(flag string) (string, bool) {
	switch flag {
	case "lxcpath":
		return "LXCPATH", true
	case "logpriority":
		return "LEVEL", true
	}
	return "", false
}

// flagValue is the name of a flag's value ("FILE"), "" for a switch.
func flagValue(f *pflag.Flag) string {
	if f.Value.Type() == "bool" {
		return ""
	}
	if v, ok := globalValue(f.Name); ok {
		return v
	}
	name, _ := pflag.UnquoteUsage(f)
	if name == "" || strings.ToLower(name) == name {
		name = "VALUE" // a type name such as "string"
	}
	return name
}

// flagHelp is a flag's usage text without the backquotes.
func flagHelp(f *pflag.Flag) string {
	_, usage := pflag.UnquoteUsage(f)
	return usage
}

var fileish = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`FILE|DIR|PATH|LOG|CONFIG|CONSOLE|KEYRING`) })

// takesFile says whether a flag's value is a path, to complete as one.
func takesFile(f *pflag.Flag) bool { return fileish().MatchString(flagValue(f)) }

// takesContainer says whether a verb's operand is an existing container,
// to complete with the store's names: the verbs with -n, but create,
// whose name is a new one, and monitor, whose -n is a pattern.
func takesContainer(d verbDoc) bool {
	return d.flags.Lookup("name") != nil && d.name != "create" && d.name != "monitor"
}

// operandWords are the fixed words some verbs take first.
func operandWords(verb string) []string {
	switch verb {
	case "completion":
		return []string{"bash", "zsh", "fish"}
	case "keys":
		return []string{"add", "list"}
	case "device":
		return []string{"add", "del"}
	}
	return nil
}

// usageParts splits a usage text into its synopsis (the "Usage:" lines),
// the description's paragraphs and the examples.
func usageParts(usage string) (synopsis []string, paragraphs []string, examples []string) {
	lines := strings.Split(strings.TrimRight(usage, "\n"), "\n")
	i := 0
	for ; i < len(lines) && lines[i] != ""; i++ {
		l := strings.TrimPrefix(lines[i], "Usage: ")
		synopsis = append(synopsis, strings.TrimSpace(l))
	}
	var para []string
	flush := func() {
		if len(para) > 0 {
			paragraphs = append(paragraphs, strings.Join(para, "\n"))
			para = nil
		}
	}
	for ; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "Examples:":
			flush()
			for _, ex := range lines[i+1:] {
				if ex = strings.TrimSpace(ex); ex != "" {
					examples = append(examples, ex)
				}
			}
			return synopsis, paragraphs, examples
		case l == "":
			flush()
		default:
			para = append(para, l)
		}
	}
	flush()
	return synopsis, paragraphs, examples
}
