package main

// hints returns the `ulxc: hint:` lines for errors the CLI recognises. The
// libraries return sentinel and typed errors; only here do they become advice.
func hints(err error) []string {
	var out []string
	return out
}
