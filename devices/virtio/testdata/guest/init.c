/* The guest of linux_test.go (build.sh turns it into initrd.cpio.gz): it
 * exercises virtio-blk, virtio-rng, virtio-console and the balloon through
 * Linux 6.1 and prints one line per check on the serial console. */
#ifndef O_DIRECT
#define O_DIRECT 040000
#endif

static char buf[16384] __attribute__((aligned(4096)));
static char rd[16384] __attribute__((aligned(4096)));

static void say(const char *s) { write(1, s, strlen(s)); }
static void sayn(const char *s, long v) { char t[32]; int i = 30; t[31] = 0; if (v == 0) t[i--] = '0'; int neg = v < 0; if (neg) v = -v; while (v) { t[i--] = '0' + v % 10; v /= 10; } if (neg) t[i--] = '-'; say(s); say(&t[i+1]); say("\n"); }

static int readline(int fd, char *p, int n) {
	int k = 0;
	while (k < n - 1) { int r = read(fd, p + k, 1); if (r <= 0) break; if (p[k] == '\n' || p[k] == '\r') break; k++; }
	p[k] = 0; return k;
}

int main(void) {
	mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
	mkdir("/sys", 0755);
	mount("sysfs", "/sys", "sysfs", 0, 0);
	say("E2E START\n");

	int fd = open("/dev/vda", O_RDWR | O_DIRECT, 0);
	if (fd < 0) { sayn("BLK OPEN FAIL ", fd); goto rng; }
	for (int i = 0; i < 8192; i++) buf[i] = (char)(i * 13 + 7);
	lseek(fd, 1 << 20, SEEK_SET);
	if (write(fd, buf, 8192) != 8192) say("BLK WRITE FAIL\n");
	if (fsync(fd) != 0) say("BLK FSYNC FAIL\n");
	lseek(fd, 1 << 20, SEEK_SET);
	if (read(fd, rd, 8192) != 8192 || memcmp(buf, rd, 8192) != 0) say("BLK RW FAIL\n"); else say("BLK RW OK\n");
	lseek(fd, 2 << 20, SEEK_SET);
	if (read(fd, rd, 4096) == 4096 && memcmp(rd, "HOSTDATA", 8) == 0) say("BLK HOSTREAD OK\n"); else say("BLK HOSTREAD FAIL\n");
	unsigned long long r[2] = {1 << 20, 8192};
	sayn("BLK ZEROOUT rc=", ioctl(fd, BLKZEROOUT, r));
	lseek(fd, 1 << 20, SEEK_SET);
	memset(buf, 0, 8192);
	if (read(fd, rd, 8192) == 8192 && memcmp(buf, rd, 8192) == 0) say("BLK ZEROOUT OK\n"); else say("BLK ZEROOUT FAIL\n");
	unsigned long long d[2] = {4 << 20, 1 << 20};
	sayn("BLK DISCARD rc=", ioctl(fd, BLKDISCARD, d));
	close(fd);
	int sf = open("/sys/block/vda/serial", O_RDONLY, 0);
	if (sf >= 0) { char s[64]; int n = read(sf, s, 63); if (n > 0) { s[n] = 0; say("SERIAL="); say(s); if (s[n-1] != '\n') say("\n"); } close(sf); }
	sf = open("/sys/block/vda/queue/discard_granularity", O_RDONLY, 0);
	if (sf >= 0) { char s[64]; int n = read(sf, s, 63); if (n > 0) { s[n] = 0; say("DISCARD_GRAN="); say(s); } close(sf); }
rng:
	fd = open("/dev/hwrng", O_RDONLY, 0);
	if (fd < 0) { sayn("RNG OPEN FAIL ", fd); } else {
		memset(rd, 0, 64);
		int n = read(fd, rd, 64);
		int nz = 0; for (int i = 0; i < 64; i++) nz |= rd[i];
		sayn(nz ? "RNG OK n=" : "RNG ZERO n=", n);
		close(fd);
	}
	/* The SBI console may own hvc0; find the virtio one by writing to all. */
	struct pollfd pf[4]; int np = 0;
	for (int i = 0; i < 4; i++) {
		char name[16] = "/dev/hvc0"; name[8] = '0' + i;
		int h = open(name, O_RDWR | O_NOCTTY, 0);
		if (h < 0) continue;
		char m[40] = "HVC HELLO FROM GUEST hvc0\n"; m[24] = '0' + i;
		write(h, m, strlen(m));
		pf[np].fd = h; pf[np].events = POLLIN; np++;
	}
	sayn("HVC OPENED ", np);
	say("HVC WAIT INPUT\n");
	int hv = -1;
	if (poll(pf, np, 120000) > 0) for (int i = 0; i < np; i++) if (pf[i].revents & POLLIN) hv = pf[i].fd;
	if (hv < 0) say("HVC NO INPUT\n"); else {
		char line[128];
		readline(hv, line, sizeof line);
		say("HVC GOT "); say(line); say("\n");
		say("BALLOON WAIT\n");
		readline(hv, line, sizeof line); /* host says when it has checked the balloon */
		say("BALLOON HOST SAID "); say(line); say("\n");
	}
	say("E2E DONE\n");
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return 0;
}
