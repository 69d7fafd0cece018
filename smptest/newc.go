package smptest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
)

// File is one member of an initramfs archive.
type File struct {
	Name string // path inside the guest, without the leading slash
	Mode uint32 // permission bits and type (ModeRegular, ModeDir)
	Data []byte
}

// File types of the newc mode field.
const (
	ModeRegular = 0o100000
	ModeDir     = 0o040000
)

// Archive returns files as a gzip'd newc cpio archive. Linux unpacks
// concatenated archives in order, so appending one to the embedded
// initramfs adds files to the guest without rebuilding it.
func Archive(files []File) ([]byte, error) {
	var raw bytes.Buffer
	for i, f := range files {
		if f.Name == "" || strings.HasPrefix(f.Name, "/") || strings.Contains(f.Name, "\x00") {
			return nil, fmt.Errorf("cpio: bad member name %q", f.Name)
		}
		if f.Mode&0o170000 == ModeDir && len(f.Data) > 0 {
			return nil, fmt.Errorf("cpio: directory %s has data", f.Name)
		}
		writeNewc(&raw, uint32(i+1), f.Mode, f.Name, f.Data)
	}
	writeNewc(&raw, 0, 0, "TRAILER!!!", nil)
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// writeNewc appends one "070701" record: a header of thirteen 8-digit hex
// fields, the NUL-terminated name and the data, each padded to 4 bytes.
func writeNewc(b *bytes.Buffer, ino, mode uint32, name string, data []byte) {
	nlink := uint32(1)
	if mode&0o170000 == ModeDir {
		nlink = 2
	}
	fields := [13]uint32{ino, mode, 0, 0, nlink, 0, uint32(len(data)), 0, 0, 0, 0, uint32(len(name) + 1), 0}
	b.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(b, "%08x", f)
	}
	b.WriteString(name)
	b.WriteByte(0)
	pad4(b)
	b.Write(data)
	pad4(b)
}

func pad4(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}
