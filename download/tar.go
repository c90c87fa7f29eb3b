package download

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/ulxc/ulxc/internal/fileio"
)

// ErrNoTar means that an image has no usable decompressed rootfs kept in
// the cache: none was kept yet, the entry predates kept tarballs, or the one
// kept does not match the verified rootfs.tar.xz (another digest, a wrong
// size, other contents). A mismatching file is removed; decompress the
// verified rootfs.tar.xz instead (Decompress).
var ErrNoTar = errors.New("no usable decompressed rootfs in the cache")

const (
	tarName       = "rootfs.tar"
	tarRecordName = "rootfs.tar.json"
	// tarFlushEvery is how much of the kept tar is written between two
	// requests to start writeback, so that the fsync at Keep finds little
	// left to write.
	tarFlushEvery = 16 << 20
)

// fileDigest identifies a file by its SHA-256 (hex) and size.
type fileDigest struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// tarRecord is what rootfs.tar.json says about rootfs.tar: the verified
// rootfs.tar.xz it was decompressed from (as state.json records it) and the
// tar's own digest.
type tarRecord struct {
	Rootfs fileDigest `json:"rootfs"`
	Tar    fileDigest `json:"tar"`
}

// digestFile returns the SHA-256 and size of the file name.
func digestFile(name string) (*fileDigest, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return digestReaderAt(f)
}

// digestReaderAt hashes f with pread(2), leaving its offset alone, so that
// another reader of the same open file (a decoder, a child process) is not
// disturbed.
func digestReaderAt(f *os.File) (*fileDigest, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, 1<<62), make([]byte, 1<<20))
	if err != nil {
		return nil, err
	}
	return &fileDigest{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// KeptTar is the decompressed rootfs kept with a cached image, opened by
// OpenTar. Its size has been checked; its contents are checked by Verify,
// which a caller runs while (or before) it reads the tar.
type KeptTar struct {
	// File is the open tar; read it from offset 0. Verify uses pread(2) and
	// does not move the offset, so File (or a copy of its descriptor in
	// another process) may be read at the same time.
	File *os.File
	// Size is the tar's size in bytes.
	Size int64

	img *Image
	sum string
}

// OpenTar opens the decompressed rootfs that an earlier Decompress kept
// with img. It fails with ErrNoTar, wrapped with the reason, when there is
// none or when the one kept was not made from img's verified rootfs.tar.xz
// or has the wrong size; a mismatching file is removed.
func (img *Image) OpenTar() (*KeptTar, error) {
	if img.rootfs == nil {
		return nil, fmt.Errorf("%w: the cache entry records no digest of rootfs.tar.xz", ErrNoTar)
	}
	data, err := fileio.ReadLimited(filepath.Join(img.Dir, tarRecordName), maxState)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: none kept yet", ErrNoTar)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTar, err)
	}
	var rec tarRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		img.dropTar()
		return nil, fmt.Errorf("%w: %s: %v", ErrNoTar, tarRecordName, err)
	}
	if rec.Rootfs != *img.rootfs {
		img.dropTar()
		return nil, fmt.Errorf("%w: kept from rootfs.tar.xz %s, the verified one is %s", ErrNoTar, rec.Rootfs.SHA256, img.rootfs.SHA256)
	}
	if fi, err := os.Stat(img.Rootfs); err != nil || fi.Size() != img.rootfs.Size {
		return nil, fmt.Errorf("%w: rootfs.tar.xz is not the verified file", ErrNoTar)
	}
	f, err := os.Open(filepath.Join(img.Dir, tarName))
	if err != nil {
		img.dropTar()
		return nil, fmt.Errorf("%w: %v", ErrNoTar, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != rec.Tar.Size {
		f.Close()
		img.dropTar()
		return nil, fmt.Errorf("%w: %s is not the %d bytes recorded", ErrNoTar, tarName, rec.Tar.Size)
	}
	return &KeptTar{File: f, Size: rec.Tar.Size, img: img, sum: rec.Tar.SHA256}, nil
}

// Verify reads the whole tar and checks it against the SHA-256 recorded when
// it was kept. On a mismatch (a disk error, a file changed behind ulxc's
// back) it removes the kept tar and returns ErrNoTar: whatever was read from
// File must be discarded.
func (t *KeptTar) Verify() error {
	d, err := digestReaderAt(t.File)
	if err != nil {
		return fmt.Errorf("verify %s: %w", tarName, err)
	}
	if d.SHA256 != t.sum || d.Size != t.Size {
		t.img.dropTar()
		return fmt.Errorf("%w: %s has SHA-256 %s, recorded %s", ErrNoTar, tarName, d.SHA256, t.sum)
	}
	return nil
}

// Close closes File.
func (t *KeptTar) Close() error { return t.File.Close() }

// dropTar removes the kept tar, record first. Errors are ignored: a
// leftover tar without its record is never used.
func (img *Image) dropTar() {
	os.Remove(filepath.Join(img.Dir, tarRecordName))
	os.Remove(filepath.Join(img.Dir, tarName))
}

// Decoder decompresses a verified rootfs.tar.xz, read from its start. Its
// reader must return an error when the data is corrupt or truncated and
// io.EOF only once every checksum has passed. image.NewXZReader is one.
type Decoder func(compressed *os.File) (io.ReadCloser, error)

// Decompression is img's rootfs decompressed by a Decoder, kept in the cache
// as it streams past (see Decompress).
type Decompression struct {
	img    *Image
	xz     *os.File
	r      io.ReadCloser
	digest chan digestResult // of xz, computed alongside the decoder

	tmp     *os.File // the copy being written; nil once dropped or kept
	h       hash.Hash
	n       int64
	flushed int64 // bytes handed to writeback
	eof     bool
	keepErr error // why nothing can be kept
}

type digestResult struct {
	d   *fileDigest
	err error
}

// Decompress opens img's verified rootfs.tar.xz, decompresses it with dec
// and returns the tar stream. As the stream is read, a copy is written to a
// temporary file in the image's cache directory; Keep, called after Read
// returned io.EOF, checks that the compressed file had the digest recorded
// when it was verified, syncs the copy and renames it into place, where
// OpenTar finds it. Nothing is kept otherwise. Close releases everything.
func (img *Image) Decompress(dec Decoder) (d *Decompression, err error) {
	xz, err := os.Open(img.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("decompress rootfs: %w", err)
	}
	d = &Decompression{img: img, xz: xz, digest: make(chan digestResult, 1)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.r, err = dec(xz); err != nil {
		return nil, fmt.Errorf("decompress rootfs: %w", err)
	}
	if img.rootfs == nil {
		d.keepErr = errors.New("the cache entry records no digest of rootfs.tar.xz")
		return d, nil
	}
	go func() {
		sum, err := digestReaderAt(xz)
		d.digest <- digestResult{sum, err}
	}()
	if d.tmp, err = os.CreateTemp(img.Dir, "."+tarName+".*"); err != nil {
		d.keepErr, d.tmp = err, nil
		return d, nil
	}
	d.h = sha256.New()
	return d, nil
}

// Read reads the decompressed tar. A failure to write the copy (a full
// disk) drops the copy but not the stream.
func (d *Decompression) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 && d.tmp != nil {
		if _, werr := d.tmp.Write(p[:n]); werr != nil {
			d.drop(fmt.Errorf("write %s: %w", d.tmp.Name(), werr))
		} else {
			d.h.Write(p[:n])
			d.n += int64(n)
			if d.n-d.flushed >= tarFlushEvery {
				// Start writeback now (asynchronously), so that Keep's
				// fsync does not wait for the whole file.
				unix.SyncFileRange(int(d.tmp.Fd()), d.flushed, d.n-d.flushed, unix.SYNC_FILE_RANGE_WRITE)
				d.flushed = d.n
			}
		}
	}
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}

func (d *Decompression) drop(err error) {
	if d.tmp != nil {
		d.tmp.Close()
		os.Remove(d.tmp.Name())
		d.tmp = nil
	}
	if d.keepErr == nil {
		d.keepErr = err
	}
}

// Keep commits the copy after the whole stream was read without error. It
// fails, keeping nothing, when the stream was not read to its end, when the
// copy could not be written, when rootfs.tar.xz does not have the digest
// recorded when it was verified, or when the image's cache entry was
// replaced or is busy (a concurrent Fetch holds its lock) in the meantime.
// A failure of Keep does not make the stream wrong.
func (d *Decompression) Keep() (err error) {
	defer func() {
		if err != nil {
			d.drop(err)
			err = fmt.Errorf("keep decompressed rootfs: %w", err)
		}
	}()
	if !d.eof {
		return errors.New("the stream was not read to its end")
	}
	if d.keepErr != nil {
		return d.keepErr
	}
	res := <-d.digest
	d.digest <- res // for a second call
	if res.err != nil {
		return fmt.Errorf("digest rootfs.tar.xz: %w", res.err)
	}
	if *res.d != *d.img.rootfs {
		return fmt.Errorf("rootfs.tar.xz has SHA-256 %s, verified %s", res.d.SHA256, d.img.rootfs.SHA256)
	}
	if err := d.tmp.Sync(); err != nil {
		return err
	}
	if err := d.tmp.Close(); err != nil {
		return err
	}
	rec := tarRecord{Rootfs: *d.img.rootfs, Tar: fileDigest{SHA256: hex.EncodeToString(d.h.Sum(nil)), Size: d.n}}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	// The entry's lock keeps a concurrent Fetch from pruning or flushing
	// the directory under the rename; waiting for a download to finish is
	// not worth it.
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(d.img.Dir), lockName), os.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("cache entry busy: %w", err)
	}
	if target, err := os.Readlink(filepath.Join(filepath.Dir(d.img.Dir), currentName)); err != nil || target != filepath.Base(d.img.Dir) {
		return errors.New("the cache entry was replaced")
	}
	// Record first: a tar without its record is never used, and a record
	// names the digest every correct tar of this rootfs has.
	if err := fileio.WriteAtomic(filepath.Join(d.img.Dir, tarRecordName), data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(d.tmp.Name(), filepath.Join(d.img.Dir, tarName)); err != nil {
		return err
	}
	d.tmp = nil
	return fileio.Sync(d.img.Dir)
}

// Close stops the decoder and removes a copy that was not kept.
func (d *Decompression) Close() error {
	var err error
	if d.r != nil {
		err = d.r.Close()
	}
	d.drop(errors.New("closed"))
	d.xz.Close()
	return err
}
