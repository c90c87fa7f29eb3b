package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/destroy"
	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/userns"
)

// pipeSize is what the pipe to the unpacking child is grown to: 1 MiB, the
// default pipe-max-size, means fewer wake-ups of both sides.
const pipeSize = 1 << 20

// unpackImage runs the unpack child j on img's rootfs as a plain tar: the
// decompressed tar kept in the cache when there is a good one (no
// decompression at all), else the verified rootfs.tar.xz decompressed here,
// in the parent, and piped to the child as the C pipeline `xz -dc | tar -x`
// does, while download keeps a copy for the next create.
func (cr *creation) unpackImage(ctx context.Context, plan userns.Plan, j job, img *download.Image) (reply, error) {
	log := cr.opts.log()
	start := time.Now()
	kept, err := img.OpenTar()
	if err != nil {
		log.Debug("rootfs: decompressing rootfs.tar.xz", "reason", err)
		return cr.unpackDecompressed(ctx, plan, j, img)
	}
	log.Debug("rootfs: using the kept decompressed tar", "path", kept.File.Name(), "bytes", kept.Size)
	r, err := unpackKept(ctx, plan, j, kept)
	if !errors.Is(err, download.ErrNoTar) {
		log.Debug("rootfs: unpacked", "seconds", time.Since(start).Seconds())
		return r, err
	}
	// What the child unpacked came from a tar that is not the image's:
	// start again from the verified rootfs.tar.xz.
	log.Debug("rootfs: the kept tar is corrupt; decompressing rootfs.tar.xz", "reason", err)
	if err := destroy.InNamespace(ctx, plan, filepath.Join(j.Dir, partialName)); err != nil {
		return reply{}, fmt.Errorf("remove rootfs unpacked from a corrupt tar: %w", err)
	}
	return cr.unpackDecompressed(ctx, plan, j, img)
}

// unpackKept hands the kept tar's descriptor to the child and checks the
// tar's digest meanwhile. A mismatch is download.ErrNoTar, whatever the
// child said: the caller discards what it unpacked.
func unpackKept(ctx context.Context, plan userns.Plan, j job, kept *download.KeptTar) (reply, error) {
	defer kept.Close()
	fd, err := unix.Dup(int(kept.File.Fd()))
	if err != nil {
		return reply{}, fmt.Errorf("unpack rootfs: %w", err)
	}
	unix.CloseOnExec(fd)
	verified := make(chan error, 1)
	go func() { verified <- kept.Verify() }()
	r, err := runChild(ctx, plan, j, os.NewFile(uintptr(fd), kept.File.Name()))
	if verr := <-verified; verr != nil {
		return reply{}, verr
	}
	return r, err
}

// unpackDecompressed decompresses img's verified rootfs.tar.xz (with
// xz-utils or in Go, see image.DecompressXZ) and pipes the tar to the child.
func (cr *creation) unpackDecompressed(ctx context.Context, plan userns.Plan, j job, img *download.Image) (reply, error) {
	log := cr.opts.log()
	start := time.Now()
	d, err := img.Decompress(func(f *os.File) (io.ReadCloser, error) {
		r, used, err := image.DecompressXZ(f, cr.opts.XZ)
		log.Debug("rootfs: xz decoder", "decoder", used, "asked", cr.opts.XZ)
		return r, err
	})
	if err != nil {
		return reply{}, err
	}
	defer d.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return reply{}, fmt.Errorf("unpack rootfs: %w", err)
	}
	unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	copied := make(chan error, 1)
	go func() {
		err := pump(pw, d, func() {
			log.Debug("rootfs: decompressed", "seconds", time.Since(start).Seconds())
			// The stream was whole and every xz check passed: keep it,
			// while the child unpacks what is still buffered.
			if kerr := d.Keep(); kerr != nil {
				log.Debug("rootfs: decompressed tar not kept", "reason", kerr)
			} else {
				log.Debug("rootfs: decompressed tar kept in the cache", "seconds", time.Since(start).Seconds())
			}
		})
		pw.Close()
		copied <- err
	}()
	r, err := runChild(ctx, plan, j, pr)
	cerr := <-copied
	log.Debug("rootfs: unpacked", "seconds", time.Since(start).Seconds())
	switch {
	case cerr != nil && (err == nil || !errors.Is(cerr, syscall.EPIPE)):
		// A decoder error explains whatever the child made of the
		// truncated stream; a clean end of the tar in the middle of the
		// stream would even look like success to the child.
		return r, fmt.Errorf("decompress rootfs: %w", cerr)
	case err != nil:
		return r, err
	}
	return r, nil
}

// pumpBuffer bounds how far the decoder may run ahead of the child.
const pumpBuffer = 64 << 20

var errPumpStopped = errors.New("stopped")

// pump copies src to w through up to pumpBuffer bytes of memory, so that
// the decoder runs at its own pace instead of in lockstep with the child
// through a 1 MiB pipe: it finishes early and frees its core for the
// child, which is slower, and the copy is kept (done) before the child has
// caught up. A write error (the child is gone) stops the reading; a read
// error (the decoder) is returned first.
func pump(w io.Writer, src io.Reader, done func()) error {
	const n = pumpBuffer / pipeSize
	chunks := make(chan []byte, n)
	free := make(chan []byte, n+2)
	stop := make(chan struct{})
	rerr := make(chan error, 1)
	go func() {
		defer close(chunks)
		for {
			var buf []byte
			select {
			case buf = <-free:
			default:
				buf = make([]byte, pipeSize)
			}
			k, err := image.Fill(src, buf)
			select {
			case <-stop:
				rerr <- errPumpStopped
				return
			default:
			}
			if k > 0 {
				select {
				case chunks <- buf[:k]:
				case <-stop:
					rerr <- errPumpStopped
					return
				}
			}
			if err == io.EOF {
				done()
				rerr <- nil
				return
			}
			if err != nil {
				rerr <- err
				return
			}
		}
	}()
	var werr error
	for buf := range chunks {
		if werr == nil {
			if _, werr = w.Write(buf); werr != nil {
				close(stop)
			}
		}
		select {
		case free <- buf[:cap(buf)]:
		default:
		}
	}
	if err := <-rerr; err != nil && err != errPumpStopped {
		return err
	}
	return werr
}
