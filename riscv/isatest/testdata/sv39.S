/* Sv39 translation: permissions, SUM/MXR/U, A/D, superpages, SFENCE.VMA,
 * MPRV, canonical addresses (shared body in mmu_common.inc). */
#include "test.h"
#include "mmu_defs.h"

  .text
  .globl test_main
test_main:
  call build_sv39
  SATP_FOR(s10, pt_root, SATP_SV39)
  SATP_FOR(s9, pt_root_u, SATP_SV39)
#include "mmu_common.inc"
  /* Sv39 needs bits 63:39 to copy bit 38 */
  TEST_IN_MODE(60, PRV_S, CAUSE_LOAD_PAGE, li a1, 0x0000008000000000; ld a0, 0(a1))
  CHECK_TI(TI_TVAL, 0x0000008000000000)
  TEST_IN_MODE(61, PRV_S, CAUSE_STORE_PAGE, li a1, 0xffff000080000000; sd a0, 0(a1))
  TEST_IN_MODE(62, PRV_S, CAUSE_FETCH_PAGE, li a1, 0x4000000080000000; jalr a1)
  csrw satp, zero
  PASS

#include "mmu_tables.inc"
