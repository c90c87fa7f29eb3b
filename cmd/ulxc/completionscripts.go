package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// The completion scripts of completion.go, one writer a shell. They hold
// no list of their own: verbs and flags come from verbDocs.

// flagWords are a flag's spellings: --long and -s.
func flagWords(f *pflag.Flag) []string {
	w := []string{"--" + f.Name}
	if f.Shorthand != "" {
		w = append(w, "-"+f.Shorthand)
	}
	return w
}

func writeBash(w io.Writer, docs []verbDoc) error {
	var b strings.Builder
	var names []string
	for _, d := range docs {
		names = append(names, d.name)
	}
	b.WriteString(`# bash completion for ulxc, made by 'ulxc completion bash'.
_ulxc_containers() {
	local p=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-P | --lxcpath) p=(-P "${COMP_WORDS[i+1]}") ;;
		--lxcpath=*) p=(-P "${COMP_WORDS[i]#--lxcpath=}") ;;
		esac
	done
	ulxc "${p[@]}" ls -1 2>/dev/null
}

_ulxc() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local verb="" i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-P | --lxcpath | --logfile | --logpriority) ((i++)) ;;
		-*) ;;
		*) verb=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--lxcpath -P --logfile --logpriority --quiet -q --debug --version --help -h" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "help ` + strings.Join(names, " ") + `" -- "$cur"))
		fi
		return
	fi
	local flags="" files="" values="" words="" containers=""
	case ${verb#lxc-} in
`)
	for _, d := range docs {
		var flags, files, values []string
		for _, f := range visibleFlags(d.flags) {
			flags = append(flags, flagWords(f)...)
			switch {
			case takesFile(f):
				files = append(files, flagWords(f)...)
			case flagValue(f) != "":
				values = append(values, flagWords(f)...)
			}
		}
		words := operandWords(d.name)
		if d.name == "help" || d.name == "man" {
			words = names
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tflags=%q files=%q values=%q words=%q containers=%v ;;\n", d.name,
			strings.Join(flags, " "), strings.Join(files, " "), strings.Join(values, " "), strings.Join(words, " "), takesContainer(d))
	}
	fmt.Fprintf(&b, "\thelp)\n\t\twords=%q ;;\n", strings.Join(names, " "))
	b.WriteString(`	esac
	if [[ " $files " == *" $prev "* ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ " $values " == *" $prev "* ]]; then
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	elif [[ -n $words ]]; then
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
	elif [[ $containers == true ]]; then
		COMPREPLY=($(compgen -W "$(_ulxc_containers)" -- "$cur"))
	fi
}
complete -F _ulxc ulxc
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote escapes what _arguments treats specially in a description.
func zshQuote(s string) string {
	return strings.NewReplacer(`'`, `'\''`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

func writeZsh(w io.Writer, docs []verbDoc) error {
	var b strings.Builder
	b.WriteString(`#compdef ulxc
# zsh completion for ulxc, made by 'ulxc completion zsh'.

_ulxc_containers() {
	local -a names p
	local i
	for ((i = 2; i < CURRENT; i++)); do
		case ${words[i]} in
		-P|--lxcpath) p=(-P ${words[i+1]}) ;;
		esac
	done
	names=(${(f)"$(ulxc $p ls -1 2>/dev/null)"})
	_describe container names
}

_ulxc() {
	local -a verbs
	verbs=(
`)
	for _, d := range docs {
		fmt.Fprintf(&b, "\t\t'%s:%s'\n", d.name, zshQuote(d.summary))
	}
	b.WriteString(`	)
	if (( CURRENT == 2 )); then
		_describe command verbs
		return
	fi
	local verb=${words[2]}
	shift words
	(( CURRENT-- ))
	case ${verb#lxc-} in
`)
	for _, d := range docs {
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments -s", d.name)
		for _, f := range visibleFlags(d.flags) {
			tail := "[" + zshQuote(flagHelp(f)) + "]"
			if v := flagValue(f); v != "" {
				tail += ":" + zshQuote(v) + ":"
				if takesFile(f) {
					tail += "_files"
				}
			}
			if f.Shorthand != "" {
				fmt.Fprintf(&b, " \\\n\t\t\t'(-%s --%s)'{-%s,--%s}'%s'", f.Shorthand, f.Name, f.Shorthand, f.Name, tail)
			} else {
				fmt.Fprintf(&b, " \\\n\t\t\t'--%s%s'", f.Name, tail)
			}
		}
		switch {
		case operandWords(d.name) != nil:
			fmt.Fprintf(&b, " \\\n\t\t\t'1:%s:(%s)'", d.name, strings.Join(operandWords(d.name), " "))
		case d.name == "man":
			b.WriteString(" \\\n\t\t\t'1:command:_ulxc_verbs'")
		case takesContainer(d):
			b.WriteString(" \\\n\t\t\t'1:container:_ulxc_containers'")
		}
		b.WriteString(" \\\n\t\t\t'*::argument:_default' ;;\n")
	}
	b.WriteString(`	help)
		_describe command verbs ;;
	esac
}

_ulxc_verbs() {
	local -a v
	v=(` + strings.Join(verbNames(docs), " ") + `)
	_describe command v
}

_ulxc "$@"
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func verbNames(docs []verbDoc) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.name)
	}
	return out
}

// fishQuote quotes s for fish in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, docs []verbDoc) error {
	var b strings.Builder
	b.WriteString(`# fish completion for ulxc, made by 'ulxc completion fish'.
function __ulxc_containers
    set -l tokens (commandline -opc)
    set -l p
    for i in (seq (count $tokens))
        if contains -- $tokens[$i] -P --lxcpath; and test $i -lt (count $tokens)
            set p -P $tokens[(math $i + 1)]
        end
    end
    ulxc $p ls -1 2>/dev/null
end
complete -c ulxc -f
`)
	all := strings.Join(verbNames(docs), " ")
	var containerVerbs []string
	for _, d := range docs {
		fmt.Fprintf(&b, "complete -c ulxc -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", all, d.name, fishQuote(d.summary))
		for _, f := range visibleFlags(d.flags) {
			line := fmt.Sprintf("complete -c ulxc -n '__fish_seen_subcommand_from %s' -l %s", d.name, f.Name)
			if f.Shorthand != "" {
				line += " -s " + f.Shorthand
			}
			if flagValue(f) != "" {
				line += " -r"
				if takesFile(f) {
					line += " -F"
				}
			}
			b.WriteString(line + " -d " + fishQuote(flagHelp(f)) + "\n")
		}
		if ws := operandWords(d.name); ws != nil {
			fmt.Fprintf(&b, "complete -c ulxc -n '__fish_seen_subcommand_from %s' -a %s\n", d.name, fishQuote(strings.Join(ws, " ")))
		}
		if takesContainer(d) {
			containerVerbs = append(containerVerbs, d.name)
		}
	}
	sort.Strings(containerVerbs)
	fmt.Fprintf(&b, "complete -c ulxc -n '__fish_seen_subcommand_from %s' -a '(__ulxc_containers)'\n", strings.Join(containerVerbs, " "))
	fmt.Fprintf(&b, "complete -c ulxc -n '__fish_seen_subcommand_from help man' -a %s\n", fishQuote(all))
	_, err := io.WriteString(w, b.String())
	return err
}
