#!/usr/bin/env python3
"""Boots the committed guest images on QEMU's virt board and drives the shell.

  images/qemu_smoke.py [--smp N] [--mem 256M] [--append CMDLINE] [--timeout S]

Checks that the u-root image reaches the popeksh prompt, runs a few commands
(uname -a, cat /proc/cpuinfo, ls /dev), BusyBox's tools (mke2fs on a virtio
disk whose bytes are then checked on the host, udhcpc on QEMU's user network,
httpd), and that `poweroff` makes QEMU exit; then that tinyinit prints its line
and QEMU exits. Prints the timings. Needs only qemu-system-riscv64 (with its
bundled OpenSBI) and python3; runs e2fsck -fn on the disk when e2fsprogs is
installed.
"""
import argparse, gzip, os, re, select, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = b"popek# "
BANNER = b"popek guest:"
TINY = b"popek-tinyinit: hello from user space"


def default_cmdline():
    """The DefaultCmdline constant of images.go, so QEMU boots what popek boots."""
    with open(os.path.join(HERE, "images.go")) as f:
        return re.search(r'const DefaultCmdline = "([^"]*)"', f.read()).group(1)


# Written into a file on the guest's ext2 disk, then looked for in the disk
# image on the host: proof that the bytes went through virtio-blk.
DISK_MARK = "popek-smoke-disk-mark-7f3a"


class Guest:
    def __init__(self, kernel, initrd, smp, mem, append, extra=()):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(
            ["qemu-system-riscv64", "-M", "virt", "-smp", str(smp), "-m", mem,
             "-nographic", "-kernel", kernel, "-initrd", initrd, "-append", append] + list(extra),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.seen = 0  # how much of buf expect() has consumed

    def expect(self, needle, timeout):
        """Waits for needle after what was already consumed; returns the text
        before it and the seconds since QEMU started."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(needle, self.seen)
            if i >= 0:
                before = self.buf[self.seen:i]
                self.seen = i + len(needle)
                return before, time.monotonic() - self.t0
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None and not self._read(0):
                raise TimeoutError("no %r; last output:\n%s" % (needle, self.buf[-2000:].decode(errors="replace")))
            self._read(min(left, 1.0))

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return False
        data = os.read(self.p.stdout.fileno(), 65536)
        self.buf += data
        return bool(data)

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def run(self, cmd, timeout=60):
        self.send(cmd)
        out, _ = self.expect(PROMPT, timeout)
        return out.decode(errors="replace")

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self.p.poll() is None and time.monotonic() < deadline:
            self._read(0.5)
        if self.p.poll() is None:
            self.p.kill()
            raise TimeoutError("QEMU did not exit; last output:\n" + self.buf[-2000:].decode(errors="replace"))
        return self.p.returncode, time.monotonic() - self.t0


def check_disk(disk):
    """The guest's ext2 file reached the host's disk image (and, with
    e2fsprogs installed, the file system is clean)."""
    with open(disk, "rb") as f:
        if (DISK_MARK + "\n").encode() not in f.read():
            raise AssertionError("the file the guest wrote is not in the disk image")
    print("ok  disk: the guest's file is in the image")
    if shutil.which("e2fsck"):
        r = subprocess.run(["e2fsck", "-fn", disk], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError("e2fsck -fn: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
        print("ok  disk: e2fsck -fn clean")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--append", default=default_cmdline(), help="kernel command line (default: images.DefaultCmdline)")
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--log", help="write the full console transcript here")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kernel = os.path.join(tmp, "Image")
        with gzip.open(os.path.join(HERE, "linux-Image.gz")) as src, open(kernel, "wb") as dst:
            dst.write(src.read())

        disk = os.path.join(tmp, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        extra = ["-drive", "if=none,id=d0,format=raw,file=" + disk, "-device", "virtio-blk-device,drive=d0",
                 "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]
        g = Guest(kernel, os.path.join(HERE, "initramfs.cpio.gz"), a.smp, a.mem, a.append, extra)
        transcript = []
        try:
            _, t_kernel = g.expect(b"Linux version", a.timeout)
            _, t_user = g.expect(BANNER, a.timeout)
            _, t_prompt = g.expect(PROMPT, a.timeout)
            print("u-root: first kernel line %.2fs, banner (first user-space output) %.2fs, prompt %.2fs"
                  % (t_kernel, t_user, t_prompt))
            checks = [
                ("uname -a", "Linux popek 6.1"),
                ("cat /proc/cpuinfo", "isa\t\t: rv64imafdc"),
                ("ls /dev", "ttyS0"),
                ("cat /proc/cmdline", a.append),
                ("echo $((6*7))", "42"),
                ("mount", "devtmpfs /dev devtmpfs"),
                ("ps -A", " init "),
                ("free", "Mem:"),
                ("ip addr show lo", "127.0.0.1"),
                ("dmesg", "Run /init as init process"),
                ("echo hello | md5sum", "b1946ac92492d2347c6235b4d2611184"),
                ("echo hello | shasum -a 256", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),
                ("hexdump /etc/hostname", "|popek.|"),
                ("find /etc -name passwd", "/etc/passwd"),
                ("sh -c 'echo from-sh'", "from-sh"),
                ("gosh -c 'echo from-gosh'", "from-gosh"),
                ("date +%Y", "20"),
                ("gzip -d -c /proc/config.gz | grep SOFTLOCKUP_DETECTOR=", "CONFIG_SOFTLOCKUP_DETECTOR=y"),
                # BusyBox fills the gaps after u-root on PATH.
                ("busybox | head -n 1", "BusyBox v1."),
                ("which ls", "/bbin/ls"),
                ("which mke2fs", "/busybox-bin/mke2fs"),
                ("nproc", str(a.smp)),
                ("echo hello | sha256sum", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  -"),
                ("expr 6 \\* 7", "42"),
                ("echo 'a b' | awk '{ print $2 }' | sed s/b/c/", "c"),
                ("gzip -d -c /proc/config.gz | grep EXT4_USE_FOR_EXT2=", "CONFIG_EXT4_USE_FOR_EXT2=y"),
                ("mke2fs -L smoke /dev/vda", "16384 inodes, 65536 blocks"),
                ("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt && mountpoint /mnt", "/mnt is a mountpoint"),
                ("echo %s > /mnt/mark && fsync /mnt/mark && stat -c %%s /mnt/mark" % DISK_MARK, str(len(DISK_MARK) + 1)),
                ("sync && umount /mnt && mountpoint /mnt; echo status $?", "status 1"),
                ("udhcpc -i eth0 -n -q", "lease of 10.0.2.15"),
                ("route -n", "10.0.2.2"),
                ("mkdir -p /www && echo served > /www/i && httpd -p 8080 -h /www && wget -O - http://127.0.0.1:8080/i", "served"),
            ]
            for cmd, want in checks:
                out = g.run(cmd)
                transcript.append("popek# " + out)
                if want not in out:
                    raise AssertionError("%r: want %r in output:\n%s" % (cmd, want, out))
                print("ok  %-20s (%d lines)" % (cmd, out.count("\n")))
            # Ctrl-C stops the foreground command, not the shell: the shell
            # owns the console as its controlling terminal.
            g.send("sleep 600")
            time.sleep(1)
            g.p.stdin.write(b"\x03")
            g.p.stdin.flush()
            g.expect(PROMPT, 30)
            print("ok  Ctrl-C interrupts sleep")
            g.send("exit")
            g.expect(b"shell exited", 30)
            g.expect(PROMPT, 30)
            print("ok  exit respawns the shell")
            cpus = g.run("cat /proc/cpuinfo").count("processor")
            if cpus != a.smp:
                raise AssertionError("guest sees %d CPUs, want %d" % (cpus, a.smp))
            g.send("poweroff")
            rc, t_off = g.wait_exit(60)
            print("ok  poweroff: QEMU exited with %d at %.2fs" % (rc, t_off))
            if rc != 0:
                raise AssertionError("QEMU exit code %d" % rc)
            check_disk(disk)
        finally:
            if a.log:
                with open(a.log, "wb") as f:
                    f.write(g.buf)
            if g.p.poll() is None:
                g.p.kill()

        g = Guest(kernel, os.path.join(HERE, "tinyinit.cpio.gz"), a.smp, a.mem, a.append)
        _, t_tiny = g.expect(TINY, a.timeout)
        rc, t_off = g.wait_exit(60)
        print("ok  tinyinit: line at %.2fs, QEMU exited with %d at %.2fs" % (t_tiny, rc, t_off))
        if rc != 0:
            raise AssertionError("QEMU exit code %d" % rc)
        print("\n".join(transcript))


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, TimeoutError) as e:
        print("FAIL:", e, file=sys.stderr)
        sys.exit(1)
