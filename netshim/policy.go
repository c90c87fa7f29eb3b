package netshim

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Rule is one line of the policy file, LXC's lxc-usernet format:
//
//	USER veth BRIDGE COUNT
//	@GROUP veth BRIDGE COUNT
//
// A user's quota on a bridge is the sum of COUNT over the lines that name
// the user or one of the user's groups.
type Rule struct {
	Line   int
	Name   string // a user name, or a group name when Group is set
	Group  bool
	Bridge string
	Count  int
}

// MaxCount bounds COUNT and every sum of them.
const MaxCount = 1 << 16

// maxPolicy bounds the policy file, /etc/passwd and /etc/group as read.
const maxPolicy = 4 << 20

// ParsePolicy parses a policy file. Blank lines and lines whose first
// non-blank character is '#' are skipped; any other line must be a rule.
// A malformed line fails the whole file with its line number: a policy
// that says something else than root meant must not grant anything.
// Errors wrap ErrPolicy and quote none of the file (which may be private
// to root).
func ParsePolicy(data []byte) ([]Rule, error) {
	if len(data) > maxPolicy {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrPolicy, maxPolicy)
	}
	var rules []Rule
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		r, err := parseRule(f)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrPolicy, n+1, err)
		}
		r.Line = n + 1
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(f []string) (Rule, error) {
	var r Rule
	if len(f) != 4 {
		return r, fmt.Errorf("%d fields, want 4: USER|@GROUP veth BRIDGE COUNT", len(f))
	}
	r.Name, r.Group = strings.CutPrefix(f[0], "@")
	if r.Name == "" || !printable(r.Name) {
		return r, fmt.Errorf("first field is not a user or @group name")
	}
	if f[1] != "veth" {
		return r, fmt.Errorf("type is not veth (the only type ulxc-netshim makes)")
	}
	if err := CheckName(f[2]); err != nil {
		return r, fmt.Errorf("bridge: %v", err)
	}
	r.Bridge = f[2]
	if strings.Trim(f[3], "0123456789") != "" || len(f[3]) > 6 {
		return r, fmt.Errorf("count is not a number from 0 to %d", MaxCount)
	}
	r.Count, _ = strconv.Atoi(f[3])
	if r.Count > MaxCount {
		return r, fmt.Errorf("count is not a number from 0 to %d", MaxCount)
	}
	return r, nil
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// Identity is who the caller is in the account files: the login name of
// its real uid and the names of its groups (its primary group and every
// group that lists it as a member).
type Identity struct {
	UID    uint32
	Name   string
	Groups []string
}

// LookupIdentity finds uid in the contents of /etc/passwd and its groups in
// /etc/group. It reads the files as libc's files backend would and no NSS
// module (the helper is static): a user that only LDAP or sssd knows has
// an Identity without a name or groups, which no rule matches. Malformed
// lines are skipped, as libc skips them.
func LookupIdentity(passwd, group []byte, uid uint32) Identity {
	id := Identity{UID: uid}
	gid, found := "", false
	for line := range lines(passwd) {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" || f[2] != strconv.FormatUint(uint64(uid), 10) {
			continue
		}
		id.Name, gid, found = f[0], f[3], true
		break
	}
	if !found {
		return id
	}
	for line := range lines(group) {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		member := f[2] == gid
		for _, m := range strings.Split(f[3], ",") {
			member = member || m == id.Name
		}
		if member && !contains(id.Groups, f[0]) {
			id.Groups = append(id.Groups, f[0])
		}
	}
	return id
}

func lines(data []byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		if len(data) > maxPolicy {
			data = data[:maxPolicy]
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, maxPolicy)
		for sc.Scan() {
			if !yield(sc.Text()) {
				return
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Allowance is the caller's quota on bridge: the sum of the counts of the
// rules that name id's user or one of its groups, at most MaxCount.
func Allowance(rules []Rule, id Identity, bridge string) int {
	sum := 0
	for _, r := range rules {
		if r.Bridge != bridge || id.Name == "" {
			continue
		}
		if r.Group && contains(id.Groups, r.Name) || !r.Group && r.Name == id.Name {
			sum = min(sum+r.Count, MaxCount)
		}
	}
	return sum
}

// Quotas returns id's allowance on every bridge the rules name, in the
// order the bridges first appear, leaving out bridges where it is 0.
func Quotas(rules []Rule, id Identity) []Quota {
	var out []Quota
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Bridge] {
			continue
		}
		seen[r.Bridge] = true
		if n := Allowance(rules, id, r.Bridge); n > 0 {
			out = append(out, Quota{Bridge: r.Bridge, Count: n})
		}
	}
	return out
}

// Quota is how many veths a user may have on a bridge.
type Quota struct {
	Bridge string
	Count  int
}
