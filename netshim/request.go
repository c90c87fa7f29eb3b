package netshim

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Verb is the helper's one operation, its first argument.
const Verb = "create"

// DefaultName is the container end's name when a request names none.
const DefaultName = "eth0"

// MTU bounds: IPv4's minimum and the largest a veth takes.
const (
	MinMTU = 68
	MaxMTU = 65535
)

// maxArgs bounds a request: the verb and four flags with separate values.
const maxArgs = 1 + 4*2

// Request is what ulxc asks of the helper: one veth pair, its container end
// named Name (default eth0), with MTU (0: the bridge's) and HWAddr (zero:
// random), its host end on Bridge. The network namespace is not part of it:
// it is the helper's descriptor 3.
type Request struct {
	Bridge string
	Name   string
	MTU    int
	HWAddr MAC
}

// Args returns the helper's arguments for r, without argv[0].
func (r Request) Args() []string {
	args := []string{Verb, "--bridge=" + r.Bridge}
	if r.Name != "" {
		args = append(args, "--name="+r.Name)
	}
	if r.MTU != 0 {
		args = append(args, "--mtu="+strconv.Itoa(r.MTU))
	}
	if !r.HWAddr.IsZero() {
		args = append(args, "--hwaddr="+r.HWAddr.String())
	}
	return args
}

// ParseArgs parses the helper's arguments (without argv[0]): the verb, then
// --bridge (required), --name, --mtu and --hwaddr, each at most once, as
// --flag=value or --flag value. Anything else is refused: a pid, a path or
// an option this version does not know is never ignored. Every error wraps
// ErrUsage.
func ParseArgs(unsafeArgs []string) (Request, error) {
	var r Request
	if len(unsafeArgs) == 0 || unsafeArgs[0] != Verb {
		return r, fmt.Errorf("%w: the first argument must be %q", ErrUsage, Verb)
	}
	if len(unsafeArgs) > maxArgs {
		return r, fmt.Errorf("%w: %d arguments, at most %d", ErrUsage, len(unsafeArgs), maxArgs)
	}
	seen := map[string]bool{}
	for i := 1; i < len(unsafeArgs); i++ {
		arg := unsafeArgs[i]
		flag, val, hasVal := strings.Cut(arg, "=")
		switch flag {
		case "--bridge", "--name", "--mtu", "--hwaddr":
		default:
			return r, fmt.Errorf("%w: unknown argument %s", ErrUsage, quote(arg))
		}
		if seen[flag] {
			return r, fmt.Errorf("%w: %s given twice", ErrUsage, flag)
		}
		seen[flag] = true
		if !hasVal {
			if i+1 == len(unsafeArgs) {
				return r, fmt.Errorf("%w: %s needs a value", ErrUsage, flag)
			}
			i++
			val = unsafeArgs[i]
		}
		if err := r.set(flag, val); err != nil {
			return r, fmt.Errorf("%w: %s %s: %v", ErrUsage, flag, quote(val), err)
		}
	}
	if r.Bridge == "" {
		return r, fmt.Errorf("%w: --bridge is required", ErrUsage)
	}
	if r.Name == "" {
		r.Name = DefaultName
	}
	return r, nil
}

func (r *Request) set(flag, val string) error {
	var err error
	switch flag {
	case "--bridge":
		r.Bridge, err = val, CheckName(val)
	case "--name":
		r.Name, err = val, CheckName(val)
	case "--mtu":
		r.MTU, err = parseMTU(val)
	case "--hwaddr":
		r.HWAddr, err = ParseMAC(val)
		if err == nil {
			err = r.HWAddr.checkUnicast()
		}
	}
	return err
}

func parseMTU(s string) (int, error) {
	// Digits only: strconv.Atoi takes a sign, which has no place here.
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number from %d to %d", MinMTU, MaxMTU)
	}
	n, _ := strconv.Atoi(s)
	if n < MinMTU || n > MaxMTU {
		return 0, fmt.Errorf("not a number from %d to %d", MinMTU, MaxMTU)
	}
	return n, nil
}

// IFNAMSIZ less its NUL.
const maxNameLen = 15

// CheckName reports whether s may name an interface: 1 to 15 bytes of
// letters, digits, '_', '-' and '.', and not "." or "..". The kernel
// refuses less ('/', ':', white space); this also keeps out '%', with which
// the kernel would pick the name itself, and anything a log line or a
// shell could misread.
func CheckName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty interface name")
	case len(s) > maxNameLen:
		return fmt.Errorf("interface name longer than %d bytes", maxNameLen)
	case s == "." || s == "..":
		return fmt.Errorf("interface name %q", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("interface name has %q: use letters, digits, '_', '-' and '.'", string(rune(c)))
		}
	}
	return nil
}

// quote is strconv.Quote cut short: arguments are the caller's and may be
// long.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// MAC is an Ethernet address; the zero value means none.
type MAC [6]byte

// ParseMAC parses six two-digit hexadecimal octets separated by ':'.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("not a MAC address (six hex octets joined by ':')")
	}
	for i := range m {
		if i > 0 && s[3*i-1] != ':' {
			return m, fmt.Errorf("not a MAC address (six hex octets joined by ':')")
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return m, fmt.Errorf("not a MAC address (six hex octets joined by ':')")
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// IsZero reports whether m is 00:00:00:00:00:00, which means "none".
func (m MAC) IsZero() bool { return m == MAC{} }

func (m MAC) checkUnicast() error {
	if m.IsZero() {
		return fmt.Errorf("the zero MAC address")
	}
	if m[0]&1 != 0 {
		return fmt.Errorf("a multicast MAC address")
	}
	return nil
}

// randomMAC returns a random unicast, locally administered address, as
// the kernel makes for an interface without one.
func randomMAC() MAC {
	var m MAC
	random(m[:])
	m[0] = m[0]&^1 | 2
	return m
}

// Reply is what the helper prints on success: the host end's name and the
// container end's MAC address, on one line.
type Reply struct {
	HostIf string
	HWAddr MAC
}

func (r Reply) String() string { return r.HostIf + " " + r.HWAddr.String() + "\n" }

// ParseReply parses the helper's standard output.
func ParseReply(out string) (Reply, error) {
	var r Reply
	line, ok := strings.CutSuffix(out, "\n")
	name, mac, ok2 := strings.Cut(line, " ")
	if !ok || !ok2 {
		return r, fmt.Errorf("helper reply %s: want \"HOSTIF MAC\\n\"", quote(out))
	}
	if err := CheckName(name); err != nil {
		return r, fmt.Errorf("helper reply %s: %v", quote(out), err)
	}
	m, err := ParseMAC(mac)
	if err != nil {
		return r, fmt.Errorf("helper reply %s: %v", quote(out), err)
	}
	return Reply{HostIf: name, HWAddr: m}, nil
}

// random fills b from getrandom(2), which blocks only until the kernel's
// pool is first initialised; crypto/rand would link the FIPS module and
// its GODEBUG switches into the helper for the same bytes.
func random(b []byte) {
	for len(b) > 0 {
		n, err := unix.Getrandom(b, 0)
		if err != nil {
			continue // EINTR; no other error for a small, valid buffer
		}
		b = b[n:]
	}
}
