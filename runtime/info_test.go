package runtime

import (
	"errors"
	"os"
	"slices"
	"testing"
)

const fibTrie = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 10.0.3.0/24 2 0 2
        |-- 10.0.3.0
           /24 link UNICAST
        |-- 10.0.3.5
           /32 host LOCAL
  +-- 127.0.0.0/8 2 0 2
     |-- 127.0.0.1
        /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
        |-- 10.0.3.5
           /32 host LOCAL
`

const ifInet6 = `00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000a8e2b1fffe5dc3a1 02 40 20 80     eth0
20010db8000000000000000000000005 02 40 00 80     eth0
`

func TestParseAddresses(t *testing.T) {
	if got, want := parseFibTrie([]byte(fibTrie)), []string{"10.0.3.5"}; !slices.Equal(got, want) {
		t.Errorf("parseFibTrie(...) = %q, want %q", got, want)
	}
	if got, want := parseIfInet6([]byte(ifInet6)), []string{"2001:db8::5"}; !slices.Equal(got, want) {
		t.Errorf("parseIfInet6(...) = %q, want %q", got, want)
	}
}

func TestParseNetDev(t *testing.T) {
	const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0: 1645257861  117447    0    0    0     0          0         0 1645257861  117447    0    0    0     0       0          0
`
	if got, want := parseNetDev([]byte(dev)), []string{"lo", "eth0"}; !slices.Equal(got, want) {
		t.Errorf("parseNetDev(...) = %q, want %q", got, want)
	}
}

func TestParseIOStat(t *testing.T) {
	for _, tc := range []struct {
		name, in         string
		read, write, ops uint64
	}{
		{"empty", "", 0, 0, 0},
		{"two devices", "8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n254:0 rbytes=100 wbytes=28 rios=2 wios=3\n", 4196, 540, 7},
		{"garbage", "8:0 rbytes=x wbytes=7 junk\n", 0, 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, o := parseIOStat([]byte(tc.in))
			if r != tc.read || w != tc.write || o != tc.ops {
				t.Errorf("parseIOStat(%q) = %d, %d, %d, want %d, %d, %d", tc.in, r, w, o, tc.read, tc.write, tc.ops)
			}
		})
	}
}

func TestParseStatUsage(t *testing.T) {
	// A command name with spaces and a ')' in it, as a container may choose.
	const stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 12345 4096000 321 18446744073709551615"
	u, s, rss, err := parseStatUsage([]byte(stat))
	if err != nil || u != 250 || s != 75 || rss != 321 {
		t.Errorf("parseStatUsage(%q) = %d, %d, %d, %v, want 250, 75, 321", stat, u, s, rss, err)
	}
	if _, _, _, err := parseStatUsage([]byte("42 (x) S 1 2")); err == nil {
		t.Error("parseStatUsage(short) = nil error, want one")
	}
}

func TestParseProcIO(t *testing.T) {
	const io = "rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n"
	if r, w := parseProcIO([]byte(io)); r != 4096 || w != 8192 {
		t.Errorf("parseProcIO(...) = %d, %d, want 4096, 8192", r, w)
	}
}

// ProcUsage sums the processes of init's pid namespace: here, the
// test's own, which has used CPU and holds memory.
func TestProcUsage(t *testing.T) {
	start, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	u, err := ProcUsage(State{Pid: os.Getpid(), PidStart: start})
	if err != nil || !u.HaveMemory || u.Memory == 0 {
		t.Errorf("ProcUsage(self) = %+v, %v, want some memory", u, err)
	}
	if _, err := ProcUsage(State{Pid: os.Getpid(), PidStart: start + 1}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("ProcUsage(gone) = %v, want ErrNotRunning", err)
	}
}
