package userns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// JobReplyFD is the descriptor a child started by RunJob writes its reply
// on: fd 3 is the sync pipe, fd 4 the reply pipe, and Options.ExtraFiles
// follow from fd 5.
const JobReplyFD = 4

// maxJob bounds the job a child reads and the reply a parent reads.
const maxJob = 16 << 20

// maxJobStderr is how much of a child's stderr RunJob keeps to explain a
// child that wrote no reply.
const maxJobStderr = 64 << 10

// JobError is an error that a child reported in its reply.
type JobError struct{ Msg string }

func (e *JobError) Error() string { return e.Msg }

// jobReply is what ServeJob writes on the reply pipe.
type jobReply struct {
	Reply json.RawMessage `json:"reply,omitempty"`
	Error string          `json:"error,omitempty"`
}

// RunJob starts opts.Entry as Start does with job, as JSON, on its stdin
// (opts.Stdin is ignored), waits for it and decodes the reply that the
// child's ServeJob wrote into reply. The child's stdout is opts.Stdout's;
// its stderr, unless opts.Stderr takes it, is kept to explain a child that
// wrote no reply. An error the child reported is a *JobError, and reply
// then holds what the child sent with it.
func RunJob(ctx context.Context, opts Options, job, reply any) error {
	in, err := json.Marshal(job)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	var stderr bytes.Buffer
	if opts.Stderr == nil {
		opts.Stderr = &limitedWriter{b: &stderr, n: maxJobStderr}
	}
	opts.Stdin = bytes.NewReader(in)
	opts.ExtraFiles = append([]*os.File{w}, opts.ExtraFiles...)
	cmd, err := Start(ctx, opts)
	// The child has its own copy: the read end sees EOF once the child,
	// and nothing else, held it.
	w.Close()
	if err != nil {
		return err
	}
	b, rerr := io.ReadAll(io.LimitReader(r, maxJob))
	werr := cmd.Wait()
	var jr jobReply
	if rerr != nil || json.Unmarshal(b, &jr) != nil {
		if werr == nil {
			werr = fmt.Errorf("bad reply %q", b)
		}
		if ctx.Err() != nil {
			werr = ctx.Err()
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("in user namespace: %w: %s", werr, strings.ReplaceAll(msg, "\n", "; "))
		}
		return fmt.Errorf("in user namespace: %w", werr)
	}
	if len(jr.Reply) > 0 && reply != nil {
		if err := json.Unmarshal(jr.Reply, reply); err != nil {
			return fmt.Errorf("in user namespace: bad reply: %w", err)
		}
	}
	if jr.Error != "" {
		return &JobError{Msg: jr.Error}
	}
	if werr != nil {
		return fmt.Errorf("in user namespace: %w", werr)
	}
	return nil
}

// ServeJob is the child's side of RunJob, the whole body of its entry
// point: it becomes root of the namespace (Enter), decodes its job from
// stdin into job, runs do and writes do's reply and error on the reply
// pipe. Nothing the child execs inherits the reply pipe or
// Options.ExtraFiles. It returns the exit status.
func ServeJob(entry string, job any, do func() (reply any, err error)) int {
	var jr jobReply
	err := serveJob(job, func() error {
		reply, err := do()
		if reply != nil {
			b, merr := json.Marshal(reply)
			if merr != nil {
				return errors.Join(err, merr)
			}
			jr.Reply = b
		}
		return err
	})
	if err != nil {
		jr.Error = err.Error()
	}
	w := os.NewFile(JobReplyFD, "reply")
	if err := json.NewEncoder(w).Encode(jr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: reply: %v\n", entry, err)
		return 1
	}
	if jr.Error != "" {
		return 1
	}
	return 0
}

func serveJob(job any, do func() error) error {
	if err := Enter(); err != nil {
		return err
	}
	// Nothing the child execs inherits the reply pipe or the extra
	// files: it passes on what it means to, as ExtraFiles of its own.
	if err := unix.CloseRange(JobReplyFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close-on-exec the inherited descriptors: %w", err)
	}
	if err := json.NewDecoder(io.LimitReader(os.Stdin, maxJob)).Decode(job); err != nil {
		return fmt.Errorf("read job: %w", err)
	}
	return do()
}

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	b *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
