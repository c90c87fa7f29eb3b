package template

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("broken pipe")
	}
	w.after--
	return len(p), nil
}

// TestPump checks the buffer between the decoder and the child: all bytes
// in order, the decoder's error first, and done (keep the copy) only after
// a clean end of the stream.
func TestPump(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 5*pipeSize/16+7)
	decodeErr := errors.New("corrupt block")
	failing := func(n int) io.Reader {
		return io.MultiReader(bytes.NewReader(data[:n]), iotest.ErrReader(decodeErr))
	}
	tests := []struct {
		name    string
		src     io.Reader
		w       io.Writer
		wantErr string // "" none, "*" any
		done    int    // 1 called, -1 not called, 0 either
	}{
		{"whole", iotest.HalfReader(bytes.NewReader(data)), new(bytes.Buffer), "", 1},
		{"decoder error", failing(3 * pipeSize), new(bytes.Buffer), "corrupt block", -1},
		{"truncated", io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(io.ErrUnexpectedEOF)), new(bytes.Buffer), io.ErrUnexpectedEOF.Error(), -1},
		{"child gone", bytes.NewReader(data), &failWriter{after: 2}, "broken pipe", 0},
		{"child gone, then decoder error", failing(3 * pipeSize), &failWriter{after: 1}, "*", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := false
			err := pump(tc.w, tc.src, func() { done = true })
			switch {
			case tc.wantErr == "" && err != nil, tc.wantErr == "*" && err == nil,
				tc.wantErr != "" && tc.wantErr != "*" && (err == nil || err.Error() != tc.wantErr):
				t.Errorf("pump(%s) = %v, want %q", tc.name, err, tc.wantErr)
			}
			if (tc.done == 1 && !done) || (tc.done == -1 && done) {
				t.Errorf("pump(%s) called done: %v, want %v", tc.name, done, tc.done == 1)
			}
			if b, ok := tc.w.(*bytes.Buffer); ok && err == nil && !bytes.Equal(b.Bytes(), data) {
				t.Errorf("pump(%s) wrote %d bytes, want the %d read", tc.name, b.Len(), len(data))
			}
		})
	}
}
