package main

// uroot is the prefix of u-root's command packages.
const uroot = "github.com/u-root/u-root/cmds/core/"

// popekCommands live in this module; popekinit becomes /init, sh /bin/sh.
// (nproc and sha256sum, which u-root lacks, come from BusyBox.)
var popekCommands = []string{
	"github.com/popek-vm/popek/images/userland/cmds/popekinit",
	"github.com/popek-vm/popek/images/userland/cmds/sh",
}

// urootCommands is the u-root core subset in the default guest: a shell and
// the usual file, process, network and diagnostics tools. Commands that make
// no sense on this board (x86 MSRs, PCI, kernel modules, kexec, sshd) are left
// out to keep the initramfs small.
var urootCommands = []string{
	"base64", "basename", "blkid", "cat", "chmod", "chroot", "cmp", "comm",
	"cp", "cpio", "date", "dd", "df", "dhclient", "dirname", "dmesg", "du",
	"echo", "false", "find", "free", "gosh", "grep", "gzip", "head",
	"hexdump", "hostname", "hwclock", "id", "ip", "kill", "ln", "ls",
	"md5sum", "mkdir", "mkfifo", "mknod", "mktemp", "mount", "mv", "netcat",
	"netstat", "nohup", "pidof", "ping", "poweroff", "printenv", "ps", "pwd",
	"readlink", "realpath", "rm", "seq", "shasum", "shutdown", "sleep", "sort",
	"strings", "stty", "switch_root", "sync", "tail", "tar", "tee", "time",
	"timeout", "touch", "tr", "true", "truncate", "tty", "umount", "uname",
	"uniq", "uptime", "wc", "wget", "which", "xargs", "yes",
}

// busyboxPackages is every package compiled into the one busybox binary.
func busyboxPackages() []string {
	pkgs := append([]string(nil), popekCommands...)
	for _, c := range urootCommands {
		pkgs = append(pkgs, uroot+c)
	}
	return pkgs
}
