/* PMP: NAPOT, NA4 and TOR regions deny S and U (lowest entry wins, partial
 * matches fail, no match fails below M), M is unaffected by unlocked
 * entries but bound by locked ones, locked entries ignore writes, MPRV
 * accesses are checked with MPP's privilege. */
#include "test.h"

#define NAPOT_4K(reg, label) la reg, label; srli reg, reg, 2; ori reg, reg, 0x1ff
#define CFG_R 0x01
#define CFG_W 0x02
#define CFG_X 0x04
#define CFG_TOR 0x08
#define CFG_NA4 0x10
#define CFG_NAPOT 0x18
#define CFG_L 0x80
/* entry0 NAPOT pmp_page R; entry1 NA4 pmp_page2+8 R; entry3 TOR
 * [pmp_page3, pmp_page3+0x100) none; entry4 NAPOT pmp_code RW; entry7
 * everything RWX. */
#define CFG0 ((CFG_NAPOT | CFG_R) | (CFG_NA4 | CFG_R) << 8 | CFG_TOR << 24 | (CFG_NAPOT | CFG_R | CFG_W) << 32 | (CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 56)

  .text
  .globl test_main
test_main:
  NAPOT_4K(t0, pmp_page); csrw pmpaddr0, t0
  la t0, pmp_page2 + 8; srli t0, t0, 2; csrw pmpaddr1, t0
  la t0, pmp_page3; srli t0, t0, 2; csrw pmpaddr2, t0
  la t0, pmp_page3 + 0x100; srli t0, t0, 2; csrw pmpaddr3, t0
  NAPOT_4K(t0, pmp_code); csrw pmpaddr4, t0
  li t0, -1; csrw pmpaddr7, t0
  li t0, CFG0; csrw pmpcfg0, t0
  sfence.vma
  TEST_CASE(1, a0, CFG0, csrr a0, pmpcfg0)
  TEST_CASE(2, a0, 0, NAPOT_4K(t0, pmp_page); csrr a0, pmpaddr0; sub a0, a0, t0)

  /* NAPOT read-only page */
  TEST_IN_MODE(3, PRV_S, CAUSE_ECALL_S, la a1, pmp_page + 4088; ld a0, 0(a1))
  TEST_IN_MODE(4, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page; sd a0, 16(a1))
  TRAPINFO(t0, TI_TVAL); la t1, pmp_page + 16; bne t0, t1, fail
  TEST_IN_MODE(5, PRV_U, CAUSE_STORE_ACCESS, la a1, pmp_page + 4095; sb a0, 0(a1))
  TEST_IN_MODE(6, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page; amoor.w a0, a0, (a1))
  TEST_CASE(7, a0, 0x42, la a1, pmp_page; li a0, 0x42; sd a0, 0(a1); ld a0, 0(a1))
  /* the page after it is unaffected */
  TEST_IN_MODE(8, PRV_S, CAUSE_ECALL_S, la a1, pmp_page + 4096; sd a0, 0(a1))
  /* NA4: exactly one word */
  TEST_IN_MODE(9, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page2; sw a0, 8(a1))
  TEST_IN_MODE(10, PRV_S, CAUSE_ECALL_S, la a1, pmp_page2; sw a0, 4(a1); sw a0, 12(a1); lw a0, 8(a1))
  TEST_IN_MODE(11, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page2; sb a0, 11(a1))
  /* an access only partly inside a region fails */
  TEST_IN_MODE(12, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page2; sd a0, 8(a1))
  /* TOR [pmp_page3, +0x100) with no permissions */
  TEST_IN_MODE(13, PRV_S, CAUSE_LOAD_ACCESS, la a1, pmp_page3; ld a0, 0(a1))
  TEST_IN_MODE(14, PRV_S, CAUSE_LOAD_ACCESS, la a1, pmp_page3; lbu a0, 0xff(a1))
  TEST_IN_MODE(15, PRV_S, CAUSE_ECALL_S, la a1, pmp_page3; ld a0, 0x100(a1); sd a0, 0x108(a1))
  TEST_IN_MODE(16, PRV_U, CAUSE_STORE_ACCESS, la a1, pmp_page3; sw a0, 0x80(a1))
  TEST_CASE(17, a0, 7, la a1, pmp_page3; li a0, 7; sd a0, 0(a1); ld a0, 0(a1))
  /* no execute in pmp_code, but loads are fine */
  TEST_IN_MODE(18, PRV_S, CAUSE_FETCH_ACCESS, la a1, pmp_code; jalr a1)
  TRAPINFO(t0, TI_TVAL); la t1, pmp_code; bne t0, t1, fail
  TRAPINFO(t0, TI_EPC); bne t0, t1, fail
  TEST_IN_MODE(19, PRV_S, CAUSE_ECALL_S, la a1, pmp_code; lw a0, 0(a1))
  TEST_CASE(20, a0, 0x33, SET_RESUME(1f); li a0, 0; la a1, pmp_code; jalr a1; j fail; 1:)
  /* MPRV with MPP=S applies the S checks to M-mode data accesses */
  TEST_CASE(21, a0, CAUSE_STORE_ACCESS, SET_RESUME(1f); li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, MSTATUS_MPRV | (PRV_S << 11); csrs mstatus, t0; la a1, pmp_page; sd a0, 0(a1); j fail; 1: li t0, MSTATUS_MPRV; csrc mstatus, t0; TRAPINFO(a0, TI_CAUSE))
  /* with the catch-all entry off, S and U match nothing and fail */
  li t0, 0xff << 56; csrc pmpcfg0, t0; sfence.vma
  TEST_IN_MODE(22, PRV_S, CAUSE_FETCH_ACCESS, nop)
  TEST_IN_MODE(23, PRV_U, CAUSE_FETCH_ACCESS, nop)
  TEST_CASE(24, a0, 5, la a1, pmp_page4; li a0, 5; sd a0, 0(a1); ld a0, 0(a1))
  li t0, (CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 56; csrs pmpcfg0, t0; sfence.vma
  TEST_IN_MODE(25, PRV_S, CAUSE_ECALL_S, nop)

  /* locked entry 5: read-only for M too; its cfg and addr ignore writes */
  NAPOT_4K(t0, pmp_page4); csrw pmpaddr5, t0
  li t0, (CFG_L | CFG_NAPOT | CFG_R) << 40; csrs pmpcfg0, t0; sfence.vma
  TEST_TRAP(26, CAUSE_STORE_ACCESS, la a1, pmp_page4; sd a0, 0(a1))
  TEST_CASE(27, a0, 5, la a1, pmp_page4; ld a0, 0(a1))
  TEST_CASE(28, a0, CFG_L | CFG_NAPOT | CFG_R, li t0, 0xff << 40; csrc pmpcfg0, t0; csrr a0, pmpcfg0; srli a0, a0, 40; andi a0, a0, 0xff)
  TEST_CASE(29, a0, 0, NAPOT_4K(t1, pmp_page4); csrw pmpaddr5, zero; csrr a0, pmpaddr5; sub a0, a0, t1)
  /* entries around it still change */
  TEST_CASE(30, a0, 0, li t0, 0xff << 32; csrc pmpcfg0, t0; csrr a0, pmpcfg0; srli a0, a0, 32; andi a0, a0, 0xff)
  TEST_IN_MODE(31, PRV_S, CAUSE_ECALL_S, la a1, pmp_code; jalr a1)
  FAIL_IF_NE(a0, 0x33)
  TEST_IN_MODE(32, PRV_S, CAUSE_STORE_ACCESS, la a1, pmp_page4; sd a0, 0(a1))
  PASS

  .balign 4096
pmp_code:
  li a0, 0x33
  ecall

  .data
  .balign 4096
pmp_page:  .fill 4096, 1, 0
pmp_after: .fill 4096, 1, 0
pmp_page2: .fill 4096, 1, 0
pmp_page3: .fill 4096, 1, 0
pmp_page4: .fill 4096, 1, 0
