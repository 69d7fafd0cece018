/* Sv39 address spaces with ASIDs: satp.ASID WARL width, two page tables
 * (ASID 1 and 2) mapping the same VAs to different pages, switched with and
 * without SFENCE.VMA, and fences by ASID and by address issued while the
 * other address space is current. Nothing here relies on what a TLB keeps:
 * every mapping change is followed by the fence the spec requires. */
#include "test.h"
#include "mmu_defs.h"

#define VA_DATA 0x40000000
#define VA_CODE 0x40001000
#define ASID_A 1
#define ASID_B 2
#define PTE_DATA (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define PTE_CODE (PTE_V | PTE_R | PTE_X | PTE_A)
/* satp for root with asid. Clobbers t0, t1. */
#define SATP_ASID(reg, root, asid) SATP_FOR(reg, root, SATP_SV39); li t0, (asid) << 44; or reg, reg, t0
/* Point the level-0 PTE for VA_DATA of a table at label, from S-mode. */
#define MAP_DATA(l0, label) PTE_OF(t0, label, PTE_DATA); SET_PTE(l0, 0, t0)

  .text
  .globl test_main
test_main:
  /* Both roots: identity gigapage for code and data, VA 0x40000000 via
   * their own level-1 and level-0 tables. Nothing is global. */
  PTE_PA(t0, 0x80000000, PTE_RWX); SET_PTE(root_a, 2, t0); SET_PTE(root_b, 2, t0)
  PTE_PTR(t0, l1_a); SET_PTE(root_a, 1, t0)
  PTE_PTR(t0, l1_b); SET_PTE(root_b, 1, t0)
  PTE_PTR(t0, l0_a); SET_PTE(l1_a, 0, t0)
  PTE_PTR(t0, l0_b); SET_PTE(l1_b, 0, t0)
  MAP_DATA(l0_a, page_x)
  MAP_DATA(l0_b, page_y)
  PTE_OF(t0, code_a, PTE_CODE); SET_PTE(l0_a, 1, t0)
  PTE_OF(t0, code_b, PTE_CODE); SET_PTE(l0_b, 1, t0)
  la t0, page_x; li t1, 0x1111; sd t1, 0(t0)
  la t0, page_y; li t1, 0x2222; sd t1, 0(t0)
  la t0, page_z; li t1, 0x3333; sd t1, 0(t0)
  SATP_ASID(s2, root_a, ASID_A)
  SATP_ASID(s3, root_b, ASID_B)
  li s4, VA_DATA
  li s5, VA_CODE
  sfence.vma

  /* satp.ASID: 16 bits writable (all ones reads back as 0xffff) */
  TEST_CASE(1, a0, 0xffff, li t0, 0xffff << 44; or t0, t0, s2; csrw satp, t0; csrr a0, satp; srli a0, a0, 44; li t1, 0xffff; and a0, a0, t1)
  TEST_CASE(2, a0, 0, csrw satp, s2; csrr a0, satp; xor a0, a0, s2)
  csrw satp, zero
  sfence.vma

  /* one VA, two pages: switching with a fence each time */
  TEST_IN_MODE(3, PRV_S, CAUSE_ECALL_S, csrw satp, s2; sfence.vma; ld a0, 0(s4); csrw satp, s3; sfence.vma; ld a1, 0(s4))
  FAIL_IF_NE(a0, 0x1111)
  FAIL_IF_NE(a1, 0x2222)
  /* and without: the ASIDs keep them apart */
  TEST_IN_MODE(4, PRV_S, CAUSE_ECALL_S, csrw satp, s2; ld a0, 0(s4); csrw satp, s3; ld a1, 0(s4); csrw satp, s2; ld a2, 0(s4); csrw satp, s3; ld a3, 0(s4))
  FAIL_IF_NE(a0, 0x1111)
  FAIL_IF_NE(a1, 0x2222)
  FAIL_IF_NE(a2, 0x1111)
  FAIL_IF_NE(a3, 0x2222)
  /* stores go to the page of the current space */
  TEST_IN_MODE(5, PRV_S, CAUSE_ECALL_S, li a0, 0xa5; li a1, 0xb5; csrw satp, s2; sd a0, 8(s4); csrw satp, s3; sd a1, 8(s4); csrw satp, s2; ld a2, 8(s4))
  FAIL_IF_NE(a2, 0xa5)
  TEST_CASE(6, a0, 0xb5, la t0, page_y; ld a0, 8(t0))
  TEST_CASE(7, a0, 0xa5, la t0, page_x; ld a0, 8(t0))
  /* instruction fetch: the same VA runs different code per space */
  TEST_IN_MODE(8, PRV_S, CAUSE_ECALL_S, csrw satp, s2; jalr s5; mv a1, a0; csrw satp, s3; jalr s5; mv a2, a0; csrw satp, s2; jalr s5)
  FAIL_IF_NE(a1, 0xa)
  FAIL_IF_NE(a2, 0xb)
  FAIL_IF_NE(a0, 0xa)

  /* remap A while B is current, fence by ASID A, switch to A */
  TEST_IN_MODE(9, PRV_S, CAUSE_ECALL_S, csrw satp, s2; ld a0, 0(s4); csrw satp, s3; MAP_DATA(l0_a, page_z); li a5, ASID_A; sfence.vma x0, a5; ld a1, 0(s4); csrw satp, s2; ld a2, 0(s4))
  FAIL_IF_NE(a0, 0x1111)
  FAIL_IF_NE(a1, 0x2222)
  FAIL_IF_NE(a2, 0x3333)
  /* remap B while A is current, fence by address only (every ASID) */
  TEST_IN_MODE(10, PRV_S, CAUSE_ECALL_S, csrw satp, s3; ld a0, 0(s4); csrw satp, s2; MAP_DATA(l0_b, page_x); sfence.vma s4, x0; ld a1, 0(s4); csrw satp, s3; ld a2, 0(s4))
  FAIL_IF_NE(a0, 0x2222)
  FAIL_IF_NE(a1, 0x3333)
  FAIL_IF_NE(a2, 0x1111)
  /* remap B back while A is current, fence by address and ASID B */
  TEST_IN_MODE(11, PRV_S, CAUSE_ECALL_S, csrw satp, s3; ld a0, 0(s4); csrw satp, s2; MAP_DATA(l0_b, page_y); li a5, ASID_B; sfence.vma s4, a5; csrw satp, s3; ld a1, 0(s4))
  FAIL_IF_NE(a0, 0x1111)
  FAIL_IF_NE(a1, 0x2222)
  /* remap A back while A is current, fence by ASID A: B unaffected */
  TEST_IN_MODE(12, PRV_S, CAUSE_ECALL_S, csrw satp, s2; ld a0, 0(s4); MAP_DATA(l0_a, page_x); li a5, ASID_A; sfence.vma x0, a5; ld a1, 0(s4); csrw satp, s3; ld a2, 0(s4))
  FAIL_IF_NE(a0, 0x3333)
  FAIL_IF_NE(a1, 0x1111)
  FAIL_IF_NE(a2, 0x2222)
  /* swap both, one full fence */
  TEST_IN_MODE(13, PRV_S, CAUSE_ECALL_S, csrw satp, s2; ld a0, 0(s4); csrw satp, s3; ld a1, 0(s4); MAP_DATA(l0_a, page_y); MAP_DATA(l0_b, page_x); sfence.vma; ld a2, 0(s4); csrw satp, s2; ld a3, 0(s4))
  FAIL_IF_NE(a0, 0x1111)
  FAIL_IF_NE(a1, 0x2222)
  FAIL_IF_NE(a2, 0x1111)
  FAIL_IF_NE(a3, 0x2222)
  /* code remapped in the other space, fenced by its ASID */
  TEST_IN_MODE(14, PRV_S, CAUSE_ECALL_S, csrw satp, s3; jalr s5; mv a1, a0; csrw satp, s2; PTE_OF(t0, code_a, PTE_CODE); SET_PTE(l0_b, 1, t0); li a5, ASID_B; sfence.vma x0, a5; jalr s5; mv a2, a0; csrw satp, s3; jalr s5)
  FAIL_IF_NE(a1, 0xb)
  FAIL_IF_NE(a2, 0xa)
  FAIL_IF_NE(a0, 0xa)

  /* more address spaces than a small TLB keeps: nine ASIDs over both
   * tables (now A -> page_y, B -> page_x) in the root order A B B, so a
   * recycled entry would come from the other table; then the first two */
  TEST_IN_MODE(15, PRV_S, CAUSE_ECALL_S, \
    li t2, 1 << 44; li t0, 3 << 44; mv a6, s2; mv a7, s3; li a5, 3; \
  1: csrw satp, a6; ld a0, 0(s4); li t6, 0x2222; bne a0, t6, 2f; \
    csrw satp, a7; ld a0, 0(s4); li t6, 0x1111; bne a0, t6, 2f; \
    add a7, a7, t2; csrw satp, a7; ld a0, 0(s4); bne a0, t6, 2f; \
    add a6, a6, t0; add a7, a7, t2; add a7, a7, t2; \
    addi a5, a5, -1; bnez a5, 1b; \
    csrw satp, s2; ld a1, 0(s4); csrw satp, s3; ld a2, 0(s4); li a0, 0; \
  2: nop)
  FAIL_IF_NE(a0, 0)
  FAIL_IF_NE(a1, 0x2222)
  FAIL_IF_NE(a2, 0x1111)

  csrw satp, zero
  sfence.vma
  PASS

  .balign 4096
code_a:
  li a0, 0xa
  ret
  .balign 4096
code_b:
  li a0, 0xb
  ret
  .balign 4096

  .bss
  .balign 4096
root_a: .skip 4096
root_b: .skip 4096
l1_a:   .skip 4096
l1_b:   .skip 4096
l0_a:   .skip 4096
l0_b:   .skip 4096
page_x: .skip 4096
page_y: .skip 4096
page_z: .skip 4096
