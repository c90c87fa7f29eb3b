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
