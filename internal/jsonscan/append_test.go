package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "<a&b>", "\x00\x1f\n\r\t\b\f", "é€😀", "\u2028\u2029", "bad\xff\xfe utf8\xe2\x82", "\x7f"} {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a<b>&\"\\\x00\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		wantAll, _ := json.Marshal([]string{s, s})
		if got := AppendStrings(nil, []string{s, s}); string(got) != string(wantAll) {
			t.Fatalf("AppendStrings = %s, want %s", got, wantAll)
		}
	})
}
