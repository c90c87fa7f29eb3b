package runtime

import (
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
		name, in    string
		read, write uint64
	}{
		{"empty", "", 0, 0},
		{"two devices", "8:0 rbytes=4096 wbytes=512 rios=1 wios=1 dbytes=0 dios=0\n254:0 rbytes=100 wbytes=28 rios=2 wios=3\n", 4196, 540},
		{"garbage", "8:0 rbytes=x wbytes=7 junk\n", 0, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w := parseIOStat([]byte(tc.in))
			if r != tc.read || w != tc.write {
				t.Errorf("parseIOStat(%q) = %d, %d, want %d, %d", tc.in, r, w, tc.read, tc.write)
			}
		})
	}
}
