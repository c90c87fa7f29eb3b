// Package lxcconf reads and writes LXC container configuration files: the
// `lxc.key = value` format of lxc.container.conf(5), with includes, legacy key
// names and LXC's rule that an empty value clears a list.
//
// A Config keeps two views. Entries is the top file line by line, comments
// and spelling included, so that WriteTo gives back the file byte for byte
// and Set, Add and Unset change only the lines they must. The effective view
// (read by Get, Values, Path, Lookup, Keys and Networks) is what LXC would
// apply: the top file with every lxc.include expanded in place, legacy keys
// translated to their modern names, later values of a single-valued key
// replacing earlier ones and empty values clearing what came before.
//
// Relative paths (includes, lxc.rootfs.path, lxc.mount.fstab, hooks) resolve
// against the directory of the file that holds them, never the current
// directory: LXC once broke exactly there.
//
// Where ulxc differs from LXC 5:
//   - an unknown key is a *KeyError naming its file, line and the nearest
//     known key ("did you mean lxc.cap.drop?"), as LXC refuses it; ulxc
//     refuses keys that do not start with "lxc." too, which LXC skips
//     without a word (lcx.cap.drop would drop nothing). Keys LXC removed in
//     3.0 (lxc.network.*, lxc.rootfs, lxc.id_map...) are translated with a
//     warning instead of refused;
//   - every line that is neither blank, a comment, nor `key = value` is a
//     SyntaxError, where LXC silently skips lines that do not start with
//     "lxc.";
//   - a missing include is an error (LXC ignores a missing directory), except
//     for LXC's own files under /usr/share/lxc/config, which are skipped with a
//     warning so that a config made by LXC loads on a host without LXC;
//   - a NUL byte is a SyntaxError (LXC treats it as a line break).
package lxcconf
