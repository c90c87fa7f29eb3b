package main

const completionUsage = `Usage: ulxc completion bash|zsh|fish

Print a completion script for the shell, made from every command's own
flags: the commands, their options (and a path where an option takes
one), and the names of the containers (ulxc ls -1, with the -P given on
the line) where a command takes one. scripts/setup installs them; to try
one in the shell you are in:

  source <(ulxc completion bash)

Examples:
  ulxc completion bash > ~/.local/share/bash-completion/completions/ulxc
  ulxc completion zsh > ~/.zfunc/_ulxc
  ulxc completion fish > ~/.config/fish/completions/ulxc.fish
`

func cmdCompletion(e *env, args []string) error {
	fs := e.newFlagSet("completion")
	if err := e.parse(fs, completionUsage, args); err != nil {
		return err
	}
	if handled, err := e.inFullBuild("completion", args); handled {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("completion: want one shell: bash, zsh or fish")
	}
	docs := verbDocs()
	switch fs.Arg(0) {
	case "bash":
		return writeBash(e.stdout, docs)
	case "zsh":
		return writeZsh(e.stdout, docs)
	case "fish":
		return writeFish(e.stdout, docs)
	}
	return usagef("completion: unknown shell %q: want bash, zsh or fish", fs.Arg(0))
}
