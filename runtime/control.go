package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The control socket speaks one JSON request and one JSON response per
// connection; a response may carry a descriptor (SCM_RIGHTS).
type request struct {
	Op  string `json:"op"`            // "state", "console", "console-log", "console-stream"
	TTY int    `json:"tty,omitempty"` // console: 0 is /dev/console, N is /dev/ttyN
}

type response struct {
	Error string `json:"error,omitempty"`
	// NoTTY: the console request named a tty beyond TTYs, the
	// container's ulxc.tty.max.
	NoTTY bool   `json:"no_tty,omitempty"`
	TTYs  int    `json:"ttys,omitempty"`
	State *State `json:"state,omitempty"`
	Log   []byte `json:"log,omitempty"`
}

// ErrNoControl reports a container without a reachable control socket
// (a foreground start, or a supervisor that is gone).
var ErrNoControl = errors.New("container has no control socket")

// ErrNoTTY reports a console request for a tty beyond the container's
// lxc.tty.max.
var ErrNoTTY = errors.New("no such tty")

// socketAddr names the control socket through a descriptor of its
// directory, so the name stays under the 108 bytes of sun_path however deep
// XDG_RUNTIME_DIR and the store are.
func socketAddr(dir string) (addr string, closeDir func(), err error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + controlFile, func() { unix.Close(fd) }, nil
}

func listenControl(dir string) (net.Listener, error) {
	addr, done, err := socketAddr(dir)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer done()
	_ = os.Remove(filepath.Join(dir, controlFile))
	l, err := net.Listen("unix", addr)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The name is the one in dir; net would unlink the /proc path on Close.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	return l, nil
}

func (c *Container) serve(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go c.handle(conn.(*net.UnixConn))
	}
}

func (c *Container) handle(conn *net.UnixConn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req request
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&req); err != nil {
		return
	}
	var resp response
	var fd *os.File
	switch req.Op {
	case "state":
		st := c.state
		resp.State = &st
	case "console-log":
		if c.console != nil {
			resp.Log = c.console.ring.Bytes()
		}
	case "console-stream":
		c.streamConsole(conn) // attach.go: the connection becomes the console
		return
	case "console":
		name := "console"
		if req.TTY > 0 {
			name = "tty" + strconv.Itoa(req.TTY)
		}
		if fd = c.ptys[name]; fd == nil {
			resp.Error = "no /dev/" + name
			if req.TTY > 0 {
				resp.NoTTY = true
				if c.opts.Spec != nil {
					resp.TTYs, _ = ttyCount(c.opts.Spec)
				}
			}
		}
	default:
		resp.Error = fmt.Sprintf("unknown request %q", req.Op)
	}
	b, _ := json.Marshal(resp)
	var oob []byte
	if fd != nil {
		oob = unix.UnixRights(int(fd.Fd()))
	}
	conn.WriteMsgUnix(b, oob, nil)
}

// call sends req to the container's supervisor and returns its answer and
// the descriptor it passed, if any.
func call(dir string, req request) (response, *os.File, error) {
	addr, done, err := socketAddr(dir)
	if err != nil {
		return response{}, nil, fmt.Errorf("%w: %w", ErrNoControl, err)
	}
	defer done()
	conn, err := net.DialTimeout("unix", addr, 5*time.Second)
	if err != nil {
		return response{}, nil, fmt.Errorf("%w: %w", ErrNoControl, err)
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	uc.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := json.Marshal(req)
	if _, err := uc.Write(b); err != nil {
		return response{}, nil, fmt.Errorf("control socket: %w", err)
	}
	uc.CloseWrite()
	buf := make([]byte, consoleRing*2+4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil {
		return response{}, nil, fmt.Errorf("control socket: %w", err)
	}
	data := append([]byte(nil), buf[:n]...)
	for err == nil && n > 0 {
		n, err = uc.Read(buf)
		data = append(data, buf[:n]...)
	}
	var f *os.File
	if oobn > 0 {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) > 0 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				unix.CloseOnExec(fds[0])
				f = os.NewFile(uintptr(fds[0]), "pty-master")
			}
		}
	}
	var resp response
	if err := json.Unmarshal(data, &resp); err != nil {
		if f != nil {
			f.Close()
		}
		return response{}, nil, fmt.Errorf("control socket: %w", err)
	}
	if resp.Error != "" {
		if f != nil {
			f.Close()
		}
		return resp, nil, errors.New(resp.Error)
	}
	return resp, f, nil
}

// Console returns the pty master of the running container's /dev/console
// (tty 0) or /dev/ttyN, from its supervisor. The supervisor keeps logging
// the console, so a caller reading it competes with the log for output.
func Console(dir string, tty int) (*os.File, error) {
	resp, f, err := call(dir, request{Op: "console", TTY: tty})
	if resp.NoTTY {
		return nil, fmt.Errorf("console: %w: /dev/tty%d (the container has %d: lxc.tty.max = %d)", ErrNoTTY, tty, resp.TTYs, resp.TTYs)
	}
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if f == nil {
		return nil, errors.New("console: no descriptor received")
	}
	return f, nil
}

// ConsoleLog returns the recent console output the supervisor keeps.
func ConsoleLog(dir string) ([]byte, error) {
	resp, _, err := call(dir, request{Op: "console-log"})
	if err != nil {
		return nil, fmt.Errorf("console log: %w", err)
	}
	return resp.Log, nil
}
