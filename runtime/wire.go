package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The supervisor hands init its spec, and Daemon hands the monitor its
// options, in a small binary encoding of the fields of specs.Spec that
// this package reads, written and read by hand.
//
// Why not JSON of the whole specs.Spec: encoding/json builds its codec for
// a type the first time it meets it, and for specs.Spec that means walking
// about a hundred struct types (every resource, Windows, Solaris, VM,
// z/OS...) even when they are nil. Each of these processes encodes or
// decodes exactly once, so each paid the walk: measured with perf on
// `ulxc start -F`, 0.7 ms of CPU in the supervisor and as much in init,
// on the critical path of every start. JSON of a struct holding only the
// fields read here still cost as much in the supervisor (the codec's
// first use). This costs microseconds. A field the runtime starts to read
// must be added to (*wireEncoder).spec and (*wireDecoder).spec;
// TestWireRoundTrip fills every field carried and checks that it
// survives, and FuzzDecodeWire that no input panics.

// errWire reports a malformed encoding: a bug or a truncated pipe, never
// something a user wrote.
var errWire = errors.New("malformed runtime message")

// wireVersion starts every message; a mismatch means the two ends are
// different builds of ulxc.
const wireVersion = 2

// maxWire bounds a message read from a pipe.
const maxWire = 16 << 20

type wireEncoder struct{ b []byte }

func (e *wireEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *wireEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *wireEncoder) bool(v bool) {
	if v {
		e.uint(1)
	} else {
		e.uint(0)
	}
}

func (e *wireEncoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *wireEncoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// strMap writes m in key order, so equal maps encode equally.
func (e *wireEncoder) strMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

// optUint writes a *uint32: presence, then the value.
func (e *wireEncoder) optUint(p *uint32) {
	e.bool(p != nil)
	if p != nil {
		e.uint(uint64(*p))
	}
}

func (e *wireEncoder) idMaps(ms []specs.LinuxIDMapping) {
	e.uint(uint64(len(ms)))
	for _, m := range ms {
		e.uint(uint64(m.ContainerID))
		e.uint(uint64(m.HostID))
		e.uint(uint64(m.Size))
	}
}

func (e *wireEncoder) hooks(hs []specs.Hook) {
	e.uint(uint64(len(hs)))
	for _, h := range hs {
		e.str(h.Path)
		e.strs(h.Args)
		e.strs(h.Env)
		e.bool(h.Timeout != nil)
		if h.Timeout != nil {
			e.int(int64(*h.Timeout))
		}
	}
}

// wireDecoder reads what wireEncoder wrote. The first error sticks: every
// later read returns a zero value, and err says what went wrong.
type wireDecoder struct {
	b   []byte
	err error
}

func (d *wireDecoder) fail() {
	if d.err == nil {
		d.err = errWire
	}
	d.b = nil
}

func (d *wireDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *wireDecoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// u32 reads a value that must fit in 32 bits.
func (d *wireDecoder) u32() uint32 {
	v := d.uint()
	if v > 1<<32-1 {
		d.fail()
		return 0
	}
	return uint32(v)
}

func (d *wireDecoder) bool() bool {
	switch d.uint() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

// count reads the length of a list whose elements take at least one byte
// each, so that a corrupt length cannot make it allocate more than the
// message holds.
func (d *wireDecoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *wireDecoder) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *wireDecoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	return ss
}

func (d *wireDecoder) strMap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *wireDecoder) optUint() *uint32 {
	if !d.bool() {
		return nil
	}
	v := d.u32()
	return &v
}

func (d *wireDecoder) idMaps() []specs.LinuxIDMapping {
	n := d.count()
	if n == 0 {
		return nil
	}
	ms := make([]specs.LinuxIDMapping, n)
	for i := range ms {
		ms[i] = specs.LinuxIDMapping{ContainerID: d.u32(), HostID: d.u32(), Size: d.u32()}
	}
	return ms
}

func (d *wireDecoder) hooks() []specs.Hook {
	n := d.count()
	if n == 0 {
		return nil
	}
	hs := make([]specs.Hook, n)
	for i := range hs {
		hs[i] = specs.Hook{Path: d.str(), Args: d.strs(), Env: d.strs()}
		if d.bool() {
			t := int(d.int())
			hs[i].Timeout = &t
		}
	}
	return hs
}

// spec writes the fields of s that the runtime reads. s has passed
// checkSpec: Root, Process and Linux are set.
func (e *wireEncoder) spec(s *specs.Spec) {
	e.str(s.Root.Path)
	e.bool(s.Root.Readonly)
	e.str(s.Hostname)
	e.str(s.Domainname)
	e.uint(uint64(len(s.Mounts)))
	for _, m := range s.Mounts {
		e.str(m.Destination)
		e.str(m.Type)
		e.str(m.Source)
		e.strs(m.Options)
		e.idMaps(m.UIDMappings)
		e.idMaps(m.GIDMappings)
	}
	e.strMap(s.Annotations)

	p := s.Process
	e.strs(p.Args)
	e.strs(p.Env)
	e.str(p.Cwd)
	e.uint(uint64(p.User.UID))
	e.uint(uint64(p.User.GID))
	e.optUint(p.User.Umask)
	e.uint(uint64(len(p.User.AdditionalGids)))
	for _, g := range p.User.AdditionalGids {
		e.uint(uint64(g))
	}
	e.str(p.User.Username)
	e.uint(uint64(len(p.Rlimits)))
	for _, r := range p.Rlimits {
		e.str(r.Type)
		e.uint(r.Hard)
		e.uint(r.Soft)
	}
	e.bool(p.NoNewPrivileges)
	e.bool(p.Capabilities != nil)
	if p.Capabilities != nil {
		e.strs(p.Capabilities.Bounding)
	}
	e.bool(p.OOMScoreAdj != nil)
	if p.OOMScoreAdj != nil {
		e.int(int64(*p.OOMScoreAdj))
	}

	e.bool(s.Hooks != nil)
	if h := s.Hooks; h != nil {
		//lint:ignore SA1019 specs written for older runtimes still use Prestart; it runs where CreateRuntime does
		e.hooks(h.Prestart)
		for _, hs := range [][]specs.Hook{h.CreateRuntime, h.CreateContainer, h.StartContainer, h.Poststart, h.Poststop} {
			e.hooks(hs)
		}
	}

	l := s.Linux
	e.idMaps(l.UIDMappings)
	e.idMaps(l.GIDMappings)
	e.uint(uint64(len(l.Devices)))
	for _, d := range l.Devices {
		e.str(d.Path)
		e.str(d.Type)
		e.int(d.Major)
		e.int(d.Minor)
		var mode *uint32
		if d.FileMode != nil {
			m := uint32(*d.FileMode)
			mode = &m
		}
		e.optUint(mode)
		e.optUint(d.UID)
		e.optUint(d.GID)
	}
	e.strs(l.MaskedPaths)
	e.strs(l.ReadonlyPaths)
	e.uint(uint64(len(l.Namespaces)))
	for _, ns := range l.Namespaces {
		e.str(string(ns.Type))
		e.str(ns.Path)
	}
	var unified map[string]string
	if l.Resources != nil {
		unified = l.Resources.Unified
	}
	e.strMap(unified)
	e.strMap(l.Sysctl)
	e.bool(l.Personality != nil)
	if l.Personality != nil {
		e.str(string(l.Personality.Domain))
	}
	e.seccomp(l.Seccomp)
}

func (e *wireEncoder) optErrno(n *uint) {
	e.bool(n != nil)
	if n != nil {
		e.uint(uint64(*n))
	}
}

func (e *wireEncoder) seccomp(s *specs.LinuxSeccomp) {
	e.bool(s != nil)
	if s == nil {
		return
	}
	e.str(string(s.DefaultAction))
	e.optErrno(s.DefaultErrnoRet)
	e.uint(uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		e.str(string(a))
	}
	e.uint(uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		e.strs(sc.Names)
		e.str(string(sc.Action))
		e.optErrno(sc.ErrnoRet)
		e.uint(uint64(len(sc.Args)))
		for _, a := range sc.Args {
			e.uint(uint64(a.Index))
			e.uint(a.Value)
			e.uint(a.ValueTwo)
			e.str(string(a.Op))
		}
	}
}

func (d *wireDecoder) optErrno() *uint {
	if !d.bool() {
		return nil
	}
	n := uint(d.uint())
	return &n
}

func (d *wireDecoder) seccomp() *specs.LinuxSeccomp {
	if !d.bool() {
		return nil
	}
	s := &specs.LinuxSeccomp{DefaultAction: specs.LinuxSeccompAction(d.str()), DefaultErrnoRet: d.optErrno()}
	if n := d.count(); n > 0 {
		s.Architectures = make([]specs.Arch, n)
		for i := range s.Architectures {
			s.Architectures[i] = specs.Arch(d.str())
		}
	}
	if n := d.count(); n > 0 {
		s.Syscalls = make([]specs.LinuxSyscall, n)
		for i := range s.Syscalls {
			sc := specs.LinuxSyscall{Names: d.strs(), Action: specs.LinuxSeccompAction(d.str()), ErrnoRet: d.optErrno()}
			if m := d.count(); m > 0 {
				sc.Args = make([]specs.LinuxSeccompArg, m)
				for j := range sc.Args {
					sc.Args[j] = specs.LinuxSeccompArg{Index: uint(d.uint()), Value: d.uint(), ValueTwo: d.uint(),
						Op: specs.LinuxSeccompOperator(d.str())}
				}
			}
			s.Syscalls[i] = sc
		}
	}
	return s
}

// spec reads what (*wireEncoder).spec wrote.
func (d *wireDecoder) spec() *specs.Spec {
	s := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: d.str(), Readonly: d.bool()}}
	s.Hostname = d.str()
	s.Domainname = d.str()
	if n := d.count(); n > 0 {
		s.Mounts = make([]specs.Mount, n)
		for i := range s.Mounts {
			s.Mounts[i] = specs.Mount{Destination: d.str(), Type: d.str(), Source: d.str(), Options: d.strs(),
				UIDMappings: d.idMaps(), GIDMappings: d.idMaps()}
		}
	}
	s.Annotations = d.strMap()

	p := &specs.Process{Args: d.strs(), Env: d.strs(), Cwd: d.str()}
	p.User = specs.User{UID: d.u32(), GID: d.u32(), Umask: d.optUint()}
	if n := d.count(); n > 0 {
		p.User.AdditionalGids = make([]uint32, n)
		for i := range p.User.AdditionalGids {
			p.User.AdditionalGids[i] = d.u32()
		}
	}
	p.User.Username = d.str()
	if n := d.count(); n > 0 {
		p.Rlimits = make([]specs.POSIXRlimit, n)
		for i := range p.Rlimits {
			p.Rlimits[i] = specs.POSIXRlimit{Type: d.str(), Hard: d.uint(), Soft: d.uint()}
		}
	}
	p.NoNewPrivileges = d.bool()
	if d.bool() {
		p.Capabilities = &specs.LinuxCapabilities{Bounding: d.strs()}
	}
	if d.bool() {
		n := int(d.int())
		p.OOMScoreAdj = &n
	}
	s.Process = p

	if d.bool() {
		//lint:ignore SA1019 see (*wireEncoder).spec
		s.Hooks = &specs.Hooks{Prestart: d.hooks(), CreateRuntime: d.hooks(), CreateContainer: d.hooks(),
			StartContainer: d.hooks(), Poststart: d.hooks(), Poststop: d.hooks()}
	}

	l := &specs.Linux{UIDMappings: d.idMaps(), GIDMappings: d.idMaps()}
	if n := d.count(); n > 0 {
		l.Devices = make([]specs.LinuxDevice, n)
		for i := range l.Devices {
			dev := specs.LinuxDevice{Path: d.str(), Type: d.str(), Major: d.int(), Minor: d.int()}
			if m := d.optUint(); m != nil {
				mode := os.FileMode(*m)
				dev.FileMode = &mode
			}
			dev.UID, dev.GID = d.optUint(), d.optUint()
			l.Devices[i] = dev
		}
	}
	l.MaskedPaths = d.strs()
	l.ReadonlyPaths = d.strs()
	if n := d.count(); n > 0 {
		l.Namespaces = make([]specs.LinuxNamespace, n)
		for i := range l.Namespaces {
			l.Namespaces[i] = specs.LinuxNamespace{Type: specs.LinuxNamespaceType(d.str()), Path: d.str()}
		}
	}
	if u := d.strMap(); u != nil {
		l.Resources = &specs.LinuxResources{Unified: u}
	}
	l.Sysctl = d.strMap()
	if d.bool() {
		l.Personality = &specs.LinuxPersonality{Domain: specs.LinuxPersonalityDomain(d.str())}
	}
	l.Seccomp = d.seccomp()
	s.Linux = l
	return s
}

func (c *initConfig) encode() []byte {
	e := &wireEncoder{b: make([]byte, 0, 4096)}
	e.uint(wireVersion)
	e.spec(c.Spec)
	e.str(c.Name)
	e.str(c.ConfigPath)
	e.bool(c.Console)
	e.uint(uint64(c.ConsoleRows))
	e.uint(uint64(c.ConsoleCols))
	e.uint(uint64(c.TTYs))
	e.bool(c.NewNet)
	e.uint(uint64(c.Unshare))
	return e.b
}

func decodeInitConfig(b []byte) (*initConfig, error) {
	d := &wireDecoder{b: b}
	if d.uint() != wireVersion {
		return nil, fmt.Errorf("%w: version", errWire)
	}
	c := &initConfig{Spec: d.spec(), Name: d.str(), ConfigPath: d.str(), Console: d.bool()}
	c.ConsoleRows, c.ConsoleCols = uint16(d.u32()), uint16(d.u32())
	c.TTYs = int(d.u32())
	c.NewNet = d.bool()
	c.Unshare = uintptr(d.uint())
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// monitorConfig is what Daemon tells the monitor: DaemonOptions without
// the writers and the log file, which is the monitor's stdio.
type monitorConfig struct {
	Name, ConfigPath, RuntimeDir, ConsoleLogPath string
	ExtraLogPath, PidFile                        string
	LogLevel                                     slog.Level
	Spec                                         *specs.Spec
	// RunLock: the monitor's fd 5 is DaemonOptions.RunLock.
	RunLock bool
}

func (c *monitorConfig) encode() []byte {
	e := &wireEncoder{b: make([]byte, 0, 4096)}
	e.uint(wireVersion)
	e.str(c.Name)
	e.str(c.ConfigPath)
	e.str(c.RuntimeDir)
	e.str(c.ConsoleLogPath)
	e.str(c.ExtraLogPath)
	e.str(c.PidFile)
	e.int(int64(c.LogLevel))
	e.spec(c.Spec)
	e.bool(c.RunLock)
	return e.b
}

func decodeMonitorConfig(b []byte) (*monitorConfig, error) {
	d := &wireDecoder{b: b}
	if d.uint() != wireVersion {
		return nil, fmt.Errorf("%w: version", errWire)
	}
	c := &monitorConfig{Name: d.str(), ConfigPath: d.str(), RuntimeDir: d.str(), ConsoleLogPath: d.str(),
		ExtraLogPath: d.str(), PidFile: d.str(), LogLevel: slog.Level(d.int()), Spec: d.spec(), RunLock: d.bool()}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// sendWire writes b to w and closes it, from a goroutine of its own: a
// spec may exceed a pipe's buffer, and the reader is a process that is
// still starting.
func sendWire(w io.WriteCloser, b []byte) {
	go func() {
		_, _ = w.Write(b)
		w.Close()
	}()
}

// readWire reads a whole message from r, which the sender closes.
func readWire(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxWire+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxWire {
		return nil, fmt.Errorf("%w: longer than %d bytes", errWire, maxWire)
	}
	return b, nil
}
