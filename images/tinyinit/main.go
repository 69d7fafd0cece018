//go:build linux

// Command tinyinit is the /init of images/tinyinit.cpio.gz, the smallest
// guest that proves a boot reached user space: it prints one line on the
// console and powers the machine off. The boot-time benchmark waits for
// Message. It uses package syscall only, to stay small and quick to start.
package main

import "syscall"

// Message is the line printed on the console (without its newline).
const Message = "popek-tinyinit: hello from user space"

func main() {
	// Without a console there is nobody to tell of a failure; power off
	// anyway so the benchmark sees the machine stop instead of hanging.
	say(Message + "\n")
	syscall.Sync()
	err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	// Still here: power-off failed. Say why; returning makes the kernel
	// panic ("Attempted to kill init"), which is loud enough.
	say("popek-tinyinit: power off failed: " + err.Error() + "\n")
}

// say writes s to /dev/console, mounting devtmpfs first if the archive's
// own /dev/console node is missing.
func say(s string) error {
	fd, err := syscall.Open("/dev/console", syscall.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		syscall.Mkdir("/dev", 0o755)
		if merr := syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); merr != nil {
			return err
		}
		if fd, err = syscall.Open("/dev/console", syscall.O_WRONLY|syscall.O_NOCTTY, 0); err != nil {
			return err
		}
	}
	defer syscall.Close(fd)
	for b := []byte(s); len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
