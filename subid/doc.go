// Package subid reads the subordinate id allocations in /etc/subuid and
// /etc/subgid and checks id maps against them.
//
// The format is shadow's: one "owner:start:count" per line, where owner is a
// user name or a numeric uid and an owner may have several lines. Blank lines
// and lines starting with '#' are ignored. Anything else that does not parse
// (a missing field, a non-numeric or zero count, a range that runs past
// 2^32) is a *SyntaxError naming the file and line, rather than a line
// silently skipped: a typo in these files otherwise surfaces much later as an
// obscure newuidmap failure.
//
// The files are written by root and are not treated as hostile, but Parse
// accepts arbitrary bytes without panicking (see FuzzParse). The checks here
// give precise errors before newuidmap(1) runs; newuidmap itself remains the
// authority that enforces the allocation.
//
// FreeRange and Unallocated find a span that nobody has in either file,
// for the `usermod --add-subuids` that checkconfig and the hints propose:
// 100000-165535, what every guide says, is often someone's already.
package subid
