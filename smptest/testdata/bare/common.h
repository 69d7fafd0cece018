/* Shared by the bare-metal SMP programs: virt board addresses, exits,
   a barrier. Everything the host sets or reads is in a struct named by a
   symbol (params, results) that the Go test finds in the ELF. */
#include <stdint.h>

#define MAX_HARTS 8

#define CLINT_BASE 0x2000000UL
#define MSIP(h) ((volatile uint32_t *)(CLINT_BASE + 4 * (h)))
#define MTIMECMP(h) ((volatile uint64_t *)(CLINT_BASE + 0x4000 + 8 * (h)))
#define MTIME ((volatile uint64_t *)(CLINT_BASE + 0xbff8))
#define TEST_DEVICE ((volatile uint32_t *)0x100000UL)

#define MIP_MSIP (1UL << 3)
#define MIP_MTIP (1UL << 7)
#define MSTATUS_MIE (1UL << 3)
#define MCAUSE_INTERRUPT (1UL << 63)

#define csr_read(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((uint64_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((uint64_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((uint64_t)(v)))
#define fence() __asm__ volatile("fence rw, rw" ::: "memory")

extern volatile uint64_t tohost;

/* HTIF exit: popek ends with code (0 = pass). Spins rather than WFI as
   riscv-tests do: the host may watch tohost only while the hart runs. */
static inline __attribute__((noreturn)) void exit_tohost(uint64_t code) {
	tohost = code << 1 | 1;
	for (;;)
		;
}

/* SiFive test device exit: 0 passes, anything else fails with code. */
static inline __attribute__((noreturn)) void exit_test_device(uint32_t code) {
	*TEST_DEVICE = code == 0 ? 0x5555 : code << 16 | 0x3333;
	for (;;)
		__asm__ volatile("wfi");
}

static inline uint64_t amoadd_d(volatile uint64_t *p, uint64_t v) {
	uint64_t old;
	__asm__ volatile("amoadd.d.aqrl %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
	return old;
}

/* barrier is a sense-reversing barrier for n harts; *sense is the
   caller's own, starting at 0. */
struct barrier {
	volatile uint64_t count;
	volatile uint64_t sense;
};

static inline void barrier_wait(struct barrier *b, uint64_t n, uint64_t *sense) {
	uint64_t s = !*sense;
	*sense = s;
	if (amoadd_d(&b->count, 1) == n - 1) {
		b->count = 0;
		fence();
		b->sense = s;
	} else {
		while (b->sense != s)
			;
	}
	fence();
}
