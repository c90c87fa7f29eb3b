package image

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/ulikunitz/xz/lzma"
)

// XZOptions tune CompressXZ. The zero value writes what `xz -6 -T0` does:
// level 6, one block per 24 MiB of input, each compressed on its own.
type XZOptions struct {
	// Encoder selects the implementation, by the names DecompressXZ uses
	// for decoders: XZAuto (xz-utils when its xz is in PATH, else XZGo),
	// XZUtils or XZGo.
	Encoder XZDecoder
	// Level is xz's preset, 1 to 9; default (0) 6, what distrobuilder
	// uses. XZGo ignores it (see goDictCap).
	Level int
	// BlockSize is the uncompressed size of every block but the last;
	// default 3 dictionaries (24 MiB at level 6), xz -T0's own choice.
	// Blocks are what lets a reader decode on several cores.
	BlockSize int64
	// Threads compress blocks in parallel; default GOMAXPROCS.
	Threads int
}

// presetDict is the dictionary size of xz's presets 0 to 9.
var presetDict = [10]int{256 << 10, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

// goDictCap is XZGo's dictionary whatever the level: ulikunitz/xz's hash
// table matcher compresses a rootfs barely better with a larger one (3% at
// 4 MiB) and takes a third longer, and its binary tree matcher is an
// order of magnitude slower than liblzma's.
const goDictCap = 1 << 20

func (o XZOptions) withDefaults() (XZOptions, error) {
	if o.Level == 0 {
		o.Level = 6
	}
	if o.Level < 1 || o.Level > 9 {
		return o, fmt.Errorf("xz level %d: want 1 to 9", o.Level)
	}
	if o.BlockSize == 0 {
		o.BlockSize = 3 * int64(presetDict[o.Level])
	}
	if o.BlockSize < 1<<10 || o.BlockSize > 1<<30 {
		return o, fmt.Errorf("xz block size %d: want 1 KiB to 1 GiB", o.BlockSize)
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o, nil
}

// CompressXZ writes src to dst as an xz file of several blocks, each
// holding its compressed and uncompressed sizes in its header (so that
// xz-utils 5.4 and NewXZReader decode them in parallel), with CRC64
// checks. It returns the encoder it used.
//
// xz-utils is preferred for the same reason as for decoding: liblzma's
// encoder is faster at the same size and smaller at any speed (see the
// package documentation). It runs as `xz -c -q -T N -LEVEL
// --block-size=B` with src on its stdin (handed over as is when src is an
// *os.File) and XZ_OPT and XZ_DEFAULTS removed from its environment.
func CompressXZ(dst io.Writer, src io.Reader, opts XZOptions) (XZDecoder, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return o.Encoder, err
	}
	switch o.Encoder {
	case XZAuto, XZUtils:
		path, err := exec.LookPath("xz")
		if err != nil {
			if o.Encoder == XZUtils {
				return o.Encoder, fmt.Errorf("%w: %v", ErrNoXZUtils, err)
			}
			break
		}
		return XZUtils, compressXZUtils(path, dst, src, o)
	case XZGo:
	default:
		return o.Encoder, fmt.Errorf("unknown xz encoder %q", o.Encoder)
	}
	return XZGo, compressGo(dst, src, o)
}

func compressXZUtils(path string, dst io.Writer, src io.Reader, o XZOptions) error {
	var stderr bytes.Buffer
	// -T N (N > 1) or -T0 makes xz 5.4 use its multi-threaded encoder
	// even on one core, which writes the sizes into each block header;
	// --block-size makes several blocks on any version.
	threads := "0"
	if o.Threads > 1 {
		threads = strconv.Itoa(o.Threads)
	}
	cmd := exec.Command(path, "-c", "-q", "-T"+threads, "-"+strconv.Itoa(o.Level),
		"--block-size="+strconv.FormatInt(o.BlockSize, 10), "--check=crc64")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, dst, &limitedBuffer{buf: &stderr, limit: 4 << 10}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XZ_DEFAULTS=") && !strings.HasPrefix(kv, "XZ_OPT=") && !strings.HasPrefix(kv, "LC_ALL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz: %w%s", err, stderrSuffix(stderr.String()))
	}
	return nil
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

// xzCheckCRC64 is the stream flag for CRC64 checks.
const xzCheckCRC64 = 0x04

// xzRecord is a block's index record.
type xzRecord struct{ unpadded, uncompressed int64 }

// encoded is one compressed block, or the error that stopped it.
type encoded struct {
	data   []byte
	record xzRecord
	err    error
}

// compressGo is the pure-Go encoder: blocks are read in turn, compressed
// by o.Threads goroutines and written in order; about 2 × Threads blocks
// are held at once. On error the reading goroutine ends at src's next
// block boundary or when the caller closes src.
func compressGo(dst io.Writer, src io.Reader, o XZOptions) error {
	header := append(append([]byte{}, xzMagic...), 0, xzCheckCRC64)
	header = binary.LittleEndian.AppendUint32(header, crc32.ChecksumIEEE(header[6:8]))
	if _, err := dst.Write(header); err != nil {
		return err
	}
	type job struct {
		in  []byte
		out chan encoded
	}
	jobs := make(chan job)
	order := make(chan chan encoded, o.Threads)
	stop := make(chan struct{})
	free := make(chan []byte, 2*o.Threads)
	defer close(stop)
	go func() { // reader
		defer close(order)
		defer close(jobs)
		for {
			var buf []byte
			select {
			case buf = <-free:
			default:
				buf = make([]byte, o.BlockSize)
			}
			n, err := Fill(src, buf)
			if n > 0 {
				out := make(chan encoded, 1)
				select {
				case order <- out:
				case <-stop:
					return
				}
				select {
				case jobs <- job{buf[:n], out}:
				case <-stop:
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				out := make(chan encoded, 1)
				out <- encoded{err: fmt.Errorf("read: %w", err)}
				select {
				case order <- out:
				case <-stop:
				}
				return
			}
		}
	}()
	for range o.Threads {
		go func() {
			for j := range jobs {
				e := encodeBlock(j.in)
				select {
				case free <- j.in[:cap(j.in)]:
				default:
				}
				j.out <- e
			}
		}()
	}
	var records []xzRecord
	for out := range order {
		e := <-out
		if e.err != nil {
			return e.err
		}
		if _, err := dst.Write(e.data); err != nil {
			return err
		}
		records = append(records, e.record)
	}
	_, err := dst.Write(xzIndexAndFooter(records))
	return err
}

// lzma2DictProp is the LZMA2 property byte of the smallest dictionary
// size, (2 | p&1) << (p/2 + 11), that holds n bytes.
func lzma2DictProp(n int) byte {
	for p := 0; p < 40; p++ {
		if (2|p&1)<<(p/2+11) >= n {
			return byte(p)
		}
	}
	return 40
}

// encodeBlock compresses data into one xz block: a header that holds both
// sizes and the LZMA2 filter, the LZMA2 data, padding and a CRC64.
func encodeBlock(data []byte) encoded {
	var lz bytes.Buffer
	lz.Grow(len(data)/3 + 1024)
	w, err := lzma.Writer2Config{DictCap: goDictCap}.NewWriter2(&lz)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return encoded{err: fmt.Errorf("lzma2: %w", err)}
	}
	h := []byte{0, 0xC0} // size, flags: one filter, both sizes present
	h = appendXZUvarint(h, int64(lz.Len()))
	h = appendXZUvarint(h, int64(len(data)))
	h = append(h, 0x21, 1, lzma2DictProp(goDictCap)) // LZMA2, 1 property byte
	for (len(h)+4)%4 != 0 {
		h = append(h, 0)
	}
	h[0] = byte((len(h)+4)/4 - 1)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(h))
	out := make([]byte, 0, len(h)+lz.Len()+3+8)
	out = append(append(out, h...), lz.Bytes()...)
	unpadded := int64(len(out) + 8)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	out = binary.LittleEndian.AppendUint64(out, crc64.Checksum(data, crc64Table))
	return encoded{data: out, record: xzRecord{unpadded: unpadded, uncompressed: int64(len(data))}}
}

// xzIndexAndFooter returns the stream's index and footer.
func xzIndexAndFooter(records []xzRecord) []byte {
	idx := []byte{0}
	idx = appendXZUvarint(idx, int64(len(records)))
	for _, r := range records {
		idx = appendXZUvarint(idx, r.unpadded)
		idx = appendXZUvarint(idx, r.uncompressed)
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	tail := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)/4-1))
	tail = append(tail, 0, xzCheckCRC64)
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(tail))
	idx = append(idx, tail...)
	return append(idx, xzFooterMagic...)
}
