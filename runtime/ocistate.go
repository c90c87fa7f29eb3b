package runtime

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/ulxc/ulxc/internal/jsonscan"
)

// appendOCIState appends st, the OCI state a hook reads on its stdin, as
// json.Marshal writes it. encoding/json's first use of specs.State took
// 0.05 ms of every start with a hook inside the container (an ephemeral
// copy's clone hook). TestOCIState holds it to json.Marshal.
func appendOCIState(b []byte, st specs.State) []byte {
	b = jsonscan.AppendString(append(b, `{"ociVersion":`...), st.Version)
	b = jsonscan.AppendString(append(b, `,"id":`...), st.ID)
	b = jsonscan.AppendString(append(b, `,"status":`...), string(st.Status))
	if st.Pid != 0 {
		b = jsonscan.AppendInt(append(b, `,"pid":`...), st.Pid)
	}
	b = jsonscan.AppendString(append(b, `,"bundle":`...), st.Bundle)
	if len(st.Annotations) > 0 {
		keys := make([]string, 0, len(st.Annotations))
		for k := range st.Annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"annotations":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(append(jsonscan.AppendString(b, k), ':'), st.Annotations[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
