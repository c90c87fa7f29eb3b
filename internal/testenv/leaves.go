package testenv

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
)

// JSONLeaves flattens a JSON document into sorted "path = value" lines,
// one per leaf, so that two documents (two specs) can be compared field by
// field with DiffLines.
func JSONLeaves(t testing.TB, doc []byte) []string {
	t.Helper()
	var tree any
	if err := json.Unmarshal(doc, &tree); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	var out []string
	var walk func(string, any)
	walk = func(p string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(p+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", p, i), e)
			}
		default:
			j, _ := json.Marshal(v)
			out = append(out, p+" = "+string(j))
		}
	}
	walk("", tree)
	sort.Strings(out)
	return out
}

// DiffLines returns the lines of want missing from got and those of got
// not in want; both must be sorted.
func DiffLines(want, got []string) (missing, extra []string) {
	in := func(l []string, s string) bool {
		i := sort.SearchStrings(l, s)
		return i < len(l) && l[i] == s
	}
	for _, w := range want {
		if !in(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !in(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}
