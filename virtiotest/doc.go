// Package virtiotest proves popek's virtio devices from inside a real
// Linux guest: it boots the embedded kernel and initramfs on board.Machine
// in-process, drives the guest's shell over the serial console and checks
// the results on the host (disk bytes, files in shared directories, TCP
// and vsock traffic, resident memory). The package has only tests; they
// need no network and skip under -short, or with a message when a host
// tool (e2fsprogs) is missing.
package virtiotest
