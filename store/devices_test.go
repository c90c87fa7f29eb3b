package store

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDevicesFile(t *testing.T) {
	dir := t.TempDir()
	if devs, err := ReadDevices(dir); err != nil || devs != nil {
		t.Errorf("ReadDevices(empty dir) = %v, %v, want nothing", devs, err)
	}
	want := []Device{{Path: "dev/null", Type: 'c', Major: 1, Minor: 3, Mode: 0o666}, {Path: "dev/sda", Type: 'b', Major: 8, GID: 6}}
	if err := WriteDevices(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDevices(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadDevices = %+v, %v, want %+v", got, err, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %v, want only %s", ents, DevicesFile)
	}
	if err := os.WriteFile(filepath.Join(dir, DevicesFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDevices(dir); err == nil {
		t.Errorf("ReadDevices of a corrupt file succeeded")
	}
}
