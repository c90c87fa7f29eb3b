package runtime

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fill sets every field reachable from v (a settable value) to something
// other than its zero value: pointers allocated, one element in each slice
// and map, "x" strings, 1 numbers, true bools.
func fill(v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// lost lists the paths of the leaves of want whose values got did not
// keep.
func lost(path string, want, got reflect.Value, out *[]string) {
	switch want.Kind() {
	case reflect.Pointer:
		if want.IsNil() {
			return
		}
		if got.IsNil() {
			*out = append(*out, path)
			return
		}
		lost(path, want.Elem(), got.Elem(), out)
	case reflect.Struct:
		for i := 0; i < want.NumField(); i++ {
			if f := want.Type().Field(i); f.IsExported() {
				lost(path+"."+f.Name, want.Field(i), got.Field(i), out)
			}
		}
	case reflect.Slice:
		if want.Len() == 0 {
			return
		}
		if got.Len() != want.Len() {
			*out = append(*out, path)
			return
		}
		lost(path+"[]", want.Index(0), got.Index(0), out)
	case reflect.Map:
		for _, k := range want.MapKeys() {
			g := got.MapIndex(k)
			if !g.IsValid() {
				*out = append(*out, path)
				return
			}
			lost(path+"{}", want.MapIndex(k), g, out)
		}
	default:
		if !reflect.DeepEqual(want.Interface(), got.Interface()) {
			*out = append(*out, path)
		}
	}
}

// notCarried are the fields of specs.Spec the wire (the monitor's copy of
// the spec) leaves out: nothing of package runtime reads them, either
// because they are another platform's, or another runtime's business, or
// ulxc does not support them (they are refused or warned about before a
// start). A field added to specs.Spec, or one that runtime starts to read,
// must be carried or listed here with its reason.
var notCarried = map[string]string{
	"Spec.FreeBSD":                          "another platform",
	"Spec.Linux.CgroupsPath":                "runtime picks the container's cgroup itself (cgroup.go)",
	"Spec.Linux.IntelRdt":                   "not supported rootless",
	"Spec.Linux.MemoryPolicy":               "not supported",
	"Spec.Linux.MountLabel":                 "no SELinux",
	"Spec.Linux.NetDevices":                 "not supported: networking goes through ulxc.net annotations",
	"Spec.Linux.Personality.Flags":          "runtime sets the domain only (lxc.arch)",
	"Spec.Linux.Resources.BlockIO":          "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.Resources.CPU":              "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.Resources.Devices":          "no device cgroup rootless",
	"Spec.Linux.Resources.HugepageLimits":   "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.Resources.Memory":           "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.Resources.Network":          "cgroup v1 only",
	"Spec.Linux.Resources.Pids":             "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.Resources.Rdma":             "limits travel as Unified (lxc.cgroup2.*)",
	"Spec.Linux.RootfsPropagation":          "runtime makes / a slave mount always",
	"Spec.Linux.Seccomp.Flags":              "package seccomp installs with no flags",
	"Spec.Linux.Seccomp.ListenerMetadata":   "no seccomp notify",
	"Spec.Linux.Seccomp.ListenerPath":       "no seccomp notify",
	"Spec.Linux.TimeOffsets":                "no time namespace",
	"Spec.Process.ApparmorProfile":          "no AppArmor",
	"Spec.Process.Capabilities.Ambient":     "runtime applies the bounding set only (lxc.cap.*)",
	"Spec.Process.Capabilities.Effective":   "runtime applies the bounding set only (lxc.cap.*)",
	"Spec.Process.Capabilities.Inheritable": "runtime applies the bounding set only (lxc.cap.*)",
	"Spec.Process.Capabilities.Permitted":   "runtime applies the bounding set only (lxc.cap.*)",
	"Spec.Process.CommandLine":              "Windows",
	"Spec.Process.ConsoleSize":              "the console comes from Options.Console and Options.Terminal",
	"Spec.Process.ExecCPUAffinity":          "not supported",
	"Spec.Process.IOPriority":               "not supported",
	"Spec.Process.Scheduler":                "not supported",
	"Spec.Process.SelinuxLabel":             "no SELinux",
	"Spec.Process.Terminal":                 "the console comes from Options.Console and Options.Terminal",
	"Spec.Solaris":                          "another platform",
	"Spec.VM":                               "hypervisor runtimes",
	"Spec.Version":                          "the runtime-spec version: runtime reads none",
	"Spec.Windows":                          "another platform",
	"Spec.ZOS":                              "another platform",
}

// TestWireCarriesEveryField fills every field of specs.Spec by reflection
// and requires each to survive the monitor's wire encoding, or to be on
// notCarried: a field forgotten in wire.go breaks only daemonized starts,
// which nothing else would show.
func TestWireCarriesEveryField(t *testing.T) {
	var s specs.Spec
	fill(reflect.ValueOf(&s).Elem(), 0)
	mc := &monitorConfig{Spec: &s}
	got, err := decodeMonitorConfig(mc.encode())
	if err != nil {
		t.Fatalf("decodeMonitorConfig(encode(every field set)) = %v", err)
	}
	var out []string
	lost("Spec", reflect.ValueOf(&s).Elem(), reflect.ValueOf(got.Spec).Elem(), &out)
	sort.Strings(out)
	var missing []string
	for _, p := range out {
		if _, ok := notCarried[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d fields of specs.Spec do not survive the wire and are not on notCarried:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for p := range notCarried {
		found := false
		for _, o := range out {
			found = found || o == p
		}
		if !found {
			t.Errorf("notCarried lists %s, which the wire does carry now: take it off the list", p)
		}
	}
}
