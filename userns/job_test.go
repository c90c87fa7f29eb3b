package userns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// testJob is what TestRunJob asks of its child.
type testJob struct {
	Do string `json:"do"`
}

// testReply is the child's answer.
type testReply struct {
	UID   int    `json:"uid"`
	Fds   string `json:"fds"`
	Extra string `json:"extra,omitempty"`
}

// testJobChild is the child of TestRunJob, through ServeJob.
func testJobChild() int {
	var j testJob
	return ServeJob("__userns_test_job", &j, func() (any, error) {
		r := testReply{UID: os.Getuid()}
		switch j.Do {
		case "reply":
			// What an exec'd program inherits: neither fd 4, the reply
			// pipe, nor fd 5, the extra file, may be among them.
			out, err := exec.Command("/bin/ls", "/proc/self/fd").Output()
			if err != nil {
				return nil, err
			}
			r.Fds = strings.Join(strings.Fields(string(out)), " ")
			fmt.Println("to stdout")
			if f := os.NewFile(5, "extra"); f != nil {
				f.WriteString("extra on fd 5")
				f.Close()
			}
			return r, nil
		case "fail":
			return r, errors.New("the job failed")
		case "crash":
			fmt.Fprintln(os.Stderr, "dying without a reply")
			os.Exit(7)
		}
		return nil, fmt.Errorf("unknown job %q", j.Do)
	})
}

func TestRunJob(t *testing.T) {
	requireUserNS(t)
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	plan := Plan{Maps: []Map{{UID, 0, uid, 1}, {GID, 0, gid, 1}}, Single: true}
	for _, tc := range []struct {
		do      string
		wantErr string // "" for none
		jobErr  bool   // the error is the child's *JobError
	}{
		{do: "reply"},
		{do: "fail", wantErr: "the job failed", jobErr: true},
		{do: "crash", wantErr: "in user namespace: exit status 7: dying without a reply"},
	} {
		t.Run(tc.do, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var stdout bytes.Buffer
			var reply testReply
			err = RunJob(context.Background(), Options{Plan: plan, Entry: "__userns_test_job", Stdout: &stdout,
				ExtraFiles: []*os.File{w}}, testJob{Do: tc.do}, &reply)
			w.Close()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("RunJob(%s) = %v, want no error", tc.do, err)
				}
			} else if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("RunJob(%s) = %v, want %q", tc.do, err, tc.wantErr)
			}
			var je *JobError
			if errors.As(err, &je) != tc.jobErr {
				t.Errorf("RunJob(%s) = %#v: a *JobError is %v, want %v", tc.do, err, !tc.jobErr, tc.jobErr)
			}
			if tc.do == "crash" {
				return
			}
			if reply.UID != 0 {
				t.Errorf("RunJob(%s): the child's uid %d, want 0 (it runs Enter)", tc.do, reply.UID)
			}
			if tc.do != "reply" {
				return
			}
			if reply.Fds != "0 1 2 3" {
				t.Errorf("a program the child execs has fds %q, want 0 1 2 3 (ls's own directory): the reply pipe or the extra file leaked", reply.Fds)
			}
			if stdout.String() != "to stdout\n" {
				t.Errorf("the child's stdout = %q, want what it printed", stdout.String())
			}
			b := make([]byte, 64)
			n, _ := r.Read(b)
			if string(b[:n]) != "extra on fd 5" {
				t.Errorf("Options.ExtraFiles[0] in the child carried %q, want fd 5", b[:n])
			}
		})
	}
}
