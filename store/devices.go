package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Device is a device node that the image described and its unpack did
// not create (package image's Unpack cannot mknod). Path is relative to
// the rootfs ("dev/null").
type Device struct {
	Path  string `json:"path"`
	Type  byte   `json:"type"` // 'c' or 'b'
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	Mode  uint32 `json:"mode"` // permission bits
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
}

// DevicesFile is the name, in the container directory (beside rootfs/ and
// config), of the record of the device nodes the image wanted and Unpack
// skipped. It lives outside the rootfs so that nothing inside the container
// can forge it. It grants nothing: start binds none of these nodes from
// the host and only tells the user which it left out
// (ocispec.LeftOutDevices).
const DevicesFile = "ulxc-devices.json"

// WriteDevices records devs in dir/DevicesFile, replacing it atomically.
// dir is the container directory, owned by the calling user: the unpacking
// child (the namespace's root) sends its Report to the parent, which
// writes it.
func WriteDevices(dir string, devs []Device) (err error) {
	if devs == nil {
		devs = []Device{}
	}
	data, err := json.MarshalIndent(devs, "", "\t")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+DevicesFile+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, DevicesFile))
}

// ReadDevices returns the devices recorded in dir/DevicesFile; none when the
// file does not exist.
func ReadDevices(dir string) ([]Device, error) {
	data, err := os.ReadFile(filepath.Join(dir, DevicesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var devs []Device
	if err := json.Unmarshal(data, &devs); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, DevicesFile), err)
	}
	return devs, nil
}
