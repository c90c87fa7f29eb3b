package image

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"
)

// The xz container (xz-file-format-1.2.0): stream header, blocks, index,
// footer. Files written by `xz -T0` (distrobuilder compresses LXC images
// with --threads=0) hold one block per 3 dictionary sizes of input, each
// decodable on its own: the index at the end of the file says where each
// starts. ulikunitz/xz decodes a whole stream only, so each block is handed
// to it re-wrapped as a one-block stream, which also lets it check the
// block's checksum and index record.
var (
	xzMagic       = []byte{0xFD, '7', 'z', 'X', 'Z', 0}
	xzFooterMagic = []byte{'Y', 'Z'}
)

const (
	xzHeaderLen = 12
	xzFooterLen = 12
	// maxParallelBlock bounds one decoded block held in memory; files with
	// larger blocks are streamed.
	maxParallelBlock = 256 << 20
	// maxIndexLen bounds the index read from the end of the file.
	maxIndexLen = 16 << 20
)

// xzBlock is one block of an xz file.
type xzBlock struct {
	off          int64 // of the block header in the file
	unpadded     int64 // header + compressed data + check
	uncompressed int64
	flags        [2]byte // of the stream it belongs to
}

func (b xzBlock) size() int64 { return (b.unpadded + 3) &^ 3 }

// NewXZReader returns a reader of the decompressed contents of the xz file f,
// read from its start whatever f's offset. Files with several blocks are
// decoded in parallel, one block per CPU, and delivered in order; others are
// streamed through ulikunitz/xz. Either way decompression runs ahead of the
// consumer in other goroutines, so that unpacking overlaps it. Every
// checksum, size and index record is verified; corruption surfaces as a Read
// error. Close stops the goroutines.
func NewXZReader(f *os.File) (io.ReadCloser, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if blocks, err := xzBlocks(f, st.Size()); err == nil && len(blocks) > 1 && fitsInMemory(blocks) {
		return newParallelXZ(f, blocks), nil
	}
	// Anything the index walk did not understand goes to the streaming
	// decoder, which reports the precise error if the file is bad.
	xr, err := xz.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, st.Size()), 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read xz header: %w", err)
	}
	return newReadAhead(xr), nil
}

func fitsInMemory(blocks []xzBlock) bool {
	for _, b := range blocks {
		if b.uncompressed > maxParallelBlock {
			return false
		}
	}
	return true
}

// xzBlocks lists the blocks of every stream in the file, from the indexes.
func xzBlocks(f io.ReaderAt, size int64) ([]xzBlock, error) {
	var streams [][]xzBlock
	end := size
	for end > 0 {
		// Stream padding: groups of four zero bytes between streams.
		var pad [4]byte
		for end >= 4 {
			if _, err := f.ReadAt(pad[:], end-4); err != nil {
				return nil, err
			}
			if pad != [4]byte{} {
				break
			}
			end -= 4
		}
		blocks, start, err := xzStream(f, end)
		if err != nil {
			return nil, err
		}
		streams = append(streams, blocks)
		end = start
	}
	if len(streams) == 0 {
		return nil, errors.New("no xz stream")
	}
	var all []xzBlock
	for i := len(streams) - 1; i >= 0; i-- {
		all = append(all, streams[i]...)
	}
	return all, nil
}

// xzStream parses the stream that ends at end and returns its blocks and
// the offset of its header.
func xzStream(f io.ReaderAt, end int64) ([]xzBlock, int64, error) {
	if end < xzHeaderLen+xzFooterLen {
		return nil, 0, errors.New("xz stream too short")
	}
	footer := make([]byte, xzFooterLen)
	if _, err := f.ReadAt(footer, end-xzFooterLen); err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(footer[10:], xzFooterMagic) || crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer) {
		return nil, 0, errors.New("bad xz stream footer")
	}
	var flags [2]byte
	copy(flags[:], footer[8:10])
	indexLen := (int64(binary.LittleEndian.Uint32(footer[4:])) + 1) * 4
	indexStart := end - xzFooterLen - indexLen
	if indexLen > maxIndexLen || indexStart < xzHeaderLen {
		return nil, 0, errors.New("bad xz index size")
	}
	index := make([]byte, indexLen)
	if _, err := f.ReadAt(index, indexStart); err != nil {
		return nil, 0, err
	}
	records, err := parseXZIndex(index)
	if err != nil {
		return nil, 0, err
	}
	blocks := make([]xzBlock, len(records))
	var total int64
	for i, r := range records {
		blocks[i] = xzBlock{unpadded: r[0], uncompressed: r[1], flags: flags}
		total += blocks[i].size()
		if total > indexStart {
			return nil, 0, errors.New("xz index larger than the file")
		}
	}
	start := indexStart - total - xzHeaderLen
	if start < 0 {
		return nil, 0, errors.New("xz index larger than the file")
	}
	header := make([]byte, xzHeaderLen)
	if _, err := f.ReadAt(header, start); err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(header[:6], xzMagic) || !bytes.Equal(header[6:8], flags[:]) ||
		crc32.ChecksumIEEE(header[6:8]) != binary.LittleEndian.Uint32(header[8:]) {
		return nil, 0, errors.New("bad xz stream header")
	}
	off := start + xzHeaderLen
	for i := range blocks {
		blocks[i].off = off
		off += blocks[i].size()
	}
	return blocks, start, nil
}

// parseXZIndex returns the (unpadded size, uncompressed size) records.
func parseXZIndex(index []byte) ([][2]int64, error) {
	bad := errors.New("bad xz index")
	n := len(index)
	if n < 8 || index[0] != 0 || crc32.ChecksumIEEE(index[:n-4]) != binary.LittleEndian.Uint32(index[n-4:]) {
		return nil, bad
	}
	body := index[1 : n-4]
	count, body, ok := xzUvarint(body)
	if !ok || count > uint64(len(body)/2) {
		return nil, bad
	}
	records := make([][2]int64, 0, count)
	for range count {
		var unpadded, uncompressed uint64
		if unpadded, body, ok = xzUvarint(body); !ok || unpadded < 5 || unpadded > 1<<62 {
			return nil, bad
		}
		if uncompressed, body, ok = xzUvarint(body); !ok || uncompressed > 1<<62 {
			return nil, bad
		}
		records = append(records, [2]int64{int64(unpadded), int64(uncompressed)})
	}
	if len(body) > 3 || !bytes.Equal(body, make([]byte, len(body))) {
		return nil, bad
	}
	return records, nil
}

func xzUvarint(b []byte) (uint64, []byte, bool) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				return 0, nil, false // not minimally encoded
			}
			return v, b[i+1:], true
		}
	}
	return 0, nil, false
}

func appendXZUvarint(b []byte, v int64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// standalone wraps one block as a complete single-block stream, into buf.
func (b xzBlock) standalone(f io.ReaderAt, buf []byte) ([]byte, error) {
	buf = append(buf[:0], xzMagic...)
	buf = append(buf, b.flags[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(b.flags[:]))

	n := int(b.size())
	buf = append(buf, make([]byte, n)...)
	if _, err := f.ReadAt(buf[len(buf)-n:], b.off); err != nil {
		return nil, err
	}

	indexStart := len(buf)
	buf = append(buf, 0, 1)
	buf = appendXZUvarint(buf, b.unpadded)
	buf = appendXZUvarint(buf, b.uncompressed)
	for (len(buf)-indexStart)%4 != 0 {
		buf = append(buf, 0)
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf[indexStart:]))
	indexLen := len(buf) - indexStart

	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:], uint32(indexLen/4-1))
	copy(tail[4:6], b.flags[:])
	copy(tail[6:], xzFooterMagic)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(tail[:6]))
	return append(buf, tail[:]...), nil
}

var errClosed = errors.New("read after close")

type blockResult struct {
	data []byte
	err  error
}

// parallelXZ decodes blocks in worker goroutines and hands them out in
// order. At most window blocks are decoded or waiting at any time, which
// bounds memory to window × block size.
type parallelXZ struct {
	f       *os.File
	blocks  []xzBlock
	results []chan blockResult
	window  chan struct{}
	free    chan []byte
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	cur  []byte // unread rest of the current block
	held []byte // the current block's buffer, recycled when read
	next int
	err  error
}

func newParallelXZ(f *os.File, blocks []xzBlock) *parallelXZ {
	workers := runtime.GOMAXPROCS(0)
	window := workers + 2
	p := &parallelXZ{
		f:       f,
		blocks:  blocks,
		results: make([]chan blockResult, len(blocks)),
		window:  make(chan struct{}, window),
		free:    make(chan []byte, window),
		done:    make(chan struct{}),
	}
	for i := range p.results {
		p.results[i] = make(chan blockResult, 1)
	}
	jobs := make(chan int)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(jobs)
		for i := range blocks {
			select {
			case p.window <- struct{}{}:
			case <-p.done:
				return
			}
			select {
			case jobs <- i:
			case <-p.done:
				return
			}
		}
	}()
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var compressed []byte
			for i := range jobs {
				var r blockResult
				compressed, r = p.decode(i, compressed)
				p.results[i] <- r
			}
		}()
	}
	return p
}

func (p *parallelXZ) decode(i int, compressed []byte) ([]byte, blockResult) {
	b := p.blocks[i]
	stream, err := b.standalone(p.f, compressed)
	if err != nil {
		return compressed, blockResult{err: err}
	}
	var out []byte
	select {
	case out = <-p.free:
	default:
	}
	if int64(cap(out)) < b.uncompressed {
		out = make([]byte, b.uncompressed)
	}
	out = out[:b.uncompressed]
	xr, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(stream))
	if err == nil {
		_, err = io.ReadFull(xr, out)
	}
	if err == nil {
		// Reading past the end makes the decoder check the block's
		// checksum, index record and footer.
		var extra [1]byte
		if n, rerr := xr.Read(extra[:]); n != 0 || rerr != io.EOF {
			err = errors.New("more data than the index says")
			if rerr != nil && rerr != io.EOF {
				err = rerr
			}
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return stream, blockResult{err: fmt.Errorf("xz block at offset %d: %w", b.off, err)}
	}
	return stream, blockResult{data: out}
}

func (p *parallelXZ) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.held != nil {
			select {
			case p.free <- p.held:
			default:
			}
			p.held = nil
			<-p.window
		}
		if p.next == len(p.blocks) {
			p.err = io.EOF
			continue
		}
		r := <-p.results[p.next]
		p.next++
		if r.err != nil {
			p.err = r.err
			continue
		}
		p.cur, p.held = r.data, r.data[:0]
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

func (p *parallelXZ) Close() error {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
	p.cur = nil
	if p.err == nil {
		p.err = errClosed
	}
	return nil
}

// readAhead decodes a stream in a goroutine, a few chunks ahead of the
// reader.
type readAhead struct {
	chunks chan blockResult
	free   chan []byte
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	cur    []byte
	held   []byte
	err    error
}

const readAheadChunk = 1 << 20

func newReadAhead(src io.Reader) *readAhead {
	const depth = 4
	r := &readAhead{
		chunks: make(chan blockResult, depth),
		free:   make(chan []byte, depth+2),
		done:   make(chan struct{}),
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			var buf []byte
			select {
			case buf = <-r.free:
				buf = buf[:cap(buf)]
			default:
				buf = make([]byte, readAheadChunk)
			}
			n, err := Fill(src, buf)
			res := blockResult{data: buf[:n], err: err}
			select {
			case r.chunks <- res:
			case <-r.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

// Fill reads until buf is full or src fails; unlike io.ReadFull it passes
// src's own io.ErrUnexpectedEOF (a truncated file) through, and io.EOF
// after a short read.
func Fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := src.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (r *readAhead) Read(b []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.held != nil {
			select {
			case r.free <- r.held:
			default:
			}
			r.held = nil
		}
		res := <-r.chunks
		r.cur, r.held, r.err = res.data, res.data[:0], res.err
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *readAhead) Close() error {
	r.once.Do(func() { close(r.done) })
	r.wg.Wait()
	r.cur = nil
	if r.err == nil {
		r.err = errClosed
	}
	return nil
}

// XZDecoder names a way to decompress xz.
type XZDecoder string

// The decoders DecompressXZ knows.
const (
	// XZAuto uses xz-utils when its xz is in PATH, else XZGo.
	XZAuto XZDecoder = ""
	// XZUtils runs xz-utils' `xz -dc -T0`, fed the file on its stdin:
	// about twice as fast as XZGo on one core, and multi-threaded on
	// multi-block files.
	XZUtils XZDecoder = "xz-utils"
	// XZGo is NewXZReader, in this process.
	XZGo XZDecoder = "go"
)

// ErrNoXZUtils means that XZUtils was asked for and no xz is in PATH.
var ErrNoXZUtils = errors.New("xz-utils' xz is not installed")

// ParseXZDecoder accepts "", "auto", "xz-utils" (or "xz") and "go".
func ParseXZDecoder(s string) (XZDecoder, error) {
	switch s {
	case "", "auto":
		return XZAuto, nil
	case string(XZUtils), "xz":
		return XZUtils, nil
	case string(XZGo):
		return XZGo, nil
	default:
		return "", fmt.Errorf("unknown xz decoder %q (auto, xz-utils or go)", s)
	}
}

// DecompressXZ returns a reader of the decompressed contents of the xz file
// f, read from its start whatever f's offset, with the decoder that d
// selects, and the decoder it chose. Either way every checksum is verified
// and the reader returns io.EOF only once they all passed; a corrupt or
// truncated file is a Read error. Close stops the decoder. See the package
// documentation for why xz-utils is preferred.
func DecompressXZ(f *os.File, d XZDecoder) (io.ReadCloser, XZDecoder, error) {
	switch d {
	case XZAuto, XZUtils:
		path, err := exec.LookPath("xz")
		if err != nil {
			if d == XZUtils {
				return nil, d, fmt.Errorf("%w: %v", ErrNoXZUtils, err)
			}
			break
		}
		r, err := startXZ(path, f)
		return r, XZUtils, err
	case XZGo:
	default:
		return nil, d, fmt.Errorf("unknown xz decoder %q", d)
	}
	r, err := NewXZReader(f)
	return r, XZGo, err
}

// xzPipeSize is the size asked for the pipe from xz: large writes mean fewer
// wake-ups of both sides. 1 MiB is the default pipe-max-size.
const xzPipeSize = 1 << 20

// xzCommand is a running `xz -dc`.
type xzCommand struct {
	cmd    *exec.Cmd
	out    *os.File
	stderr *bytes.Buffer
	err    error // sticky
	waited bool
}

func startXZ(path string, f *os.File) (*xzCommand, error) {
	// xz reads from the offset of the shared open file: rewind a private
	// descriptor, not the caller's.
	in, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("reopen xz file: %w", err)
	}
	defer in.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, xzPipeSize)
	c := &xzCommand{out: r, stderr: new(bytes.Buffer)}
	// -T0: as many threads as cores, which xz 5.4+ uses for files of
	// several blocks; -q: no warnings on stderr, errors still fail.
	c.cmd = exec.Command(path, "-dc", "-T0", "-q")
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = in, w, &limitedBuffer{buf: c.stderr, limit: 4 << 10}
	// XZ_DEFAULTS and XZ_OPT could set a memory limit that fails the run
	// or options that change what is accepted.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XZ_DEFAULTS=") && !strings.HasPrefix(kv, "XZ_OPT=") && !strings.HasPrefix(kv, "LC_ALL=") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, "LC_ALL=C")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("start xz: %w", err)
	}
	return c, nil
}

func (c *xzCommand) Read(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.out.Read(b)
	if err == io.EOF {
		// xz checks the last block, the index and the footer before it
		// exits: only its exit status says the stream was whole.
		c.waited = true
		if werr := c.cmd.Wait(); werr != nil {
			err = fmt.Errorf("xz: %w%s", werr, stderrSuffix(c.stderr.String()))
		}
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func stderrSuffix(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(s, "\n", "; ")
}

func (c *xzCommand) Close() error {
	c.out.Close()
	if !c.waited {
		c.waited = true
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
	if c.err == nil {
		c.err = errClosed
	}
	return nil
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	buf   *bytes.Buffer
	limit int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.limit - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
