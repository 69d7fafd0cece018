/* Macros shared by the bare-metal ISA tests (riscv-tests style).
 *
 * Register conventions: gp holds the current test number (the failure code),
 * t6 is clobbered by every check, t0/t1 by the mode and trap helpers.
 * The runtime (runtime.S) jumps to test_main in M-mode with PMP allowing
 * everything, the FPU on and mtvec pointing at trap_entry.
 */
#ifndef ISATEST_TEST_H
#define ISATEST_TEST_H

#define TESTNUM gp

#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_FS    (3 << 13)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define CAUSE_MISALIGNED_FETCH  0
#define CAUSE_FETCH_ACCESS      1
#define CAUSE_ILLEGAL           2
#define CAUSE_BREAKPOINT        3
#define CAUSE_MISALIGNED_LOAD   4
#define CAUSE_LOAD_ACCESS       5
#define CAUSE_MISALIGNED_STORE  6
#define CAUSE_STORE_ACCESS      7
#define CAUSE_ECALL_U           8
#define CAUSE_ECALL_S           9
#define CAUSE_ECALL_M           11
#define CAUSE_FETCH_PAGE        12
#define CAUSE_LOAD_PAGE         13
#define CAUSE_STORE_PAGE        15
#define CAUSE_INT               0x8000000000000000
#define CAUSE_SSI  (CAUSE_INT | 1)
#define CAUSE_MSI  (CAUSE_INT | 3)
#define CAUSE_STI  (CAUSE_INT | 5)
#define CAUSE_MTI  (CAUSE_INT | 7)

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE_RWX  (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define SATP_SV39 (8 << 60)
#define SATP_SV48 (9 << 60)
#define SATP_SV57 (10 << 60)

/* Board addresses (QEMU virt). */
#define SIFIVE_TEST   0x100000
#define CLINT_MSIP    0x2000000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME   0x200bff8
#define UART0         0x10000000
/* Physical address nothing answers at: access faults. */
#define UNMAPPED_PA   0x80000

/* A word outside the image that the QEMU run sets (generic loader device)
 * to flag known QEMU deviations from the spec; zero on popek. */
#define QUIRKS_ADDR 0x800ff000
/* QEMU 7.2 reports faulting AMOs and SCs (misaligned, access fault) with
 * the load cause instead of the store/AMO cause. */
#define QUIRK_AMO_FAULT_AS_LOAD 1
/* QEMU 7.2 fails an SC without reservation before checking alignment. */
#define QUIRK_SC_NO_ALIGN_CHECK 2
/* QEMU 7.2 treats CSRRS/CSRRC with rs1 != x0 holding zero as no write. */
#define QUIRK_CSR_ZERO_MASK_NO_WRITE 4
/* QEMU 7.2 keeps bit 0 of mepc/sepc writes (the spec hardwires it to 0). */
#define QUIRK_EPC_BIT0 8
/* QEMU 7.2 does not clear MPRV on an MRET to a mode below M (spec 1.12). */
#define QUIRK_MRET_KEEPS_MPRV 16
/* Skip to label when the quirk bit is set. */
#define IF_QUIRK(bit, label) li t6, QUIRKS_ADDR; ld t6, 0(t6); andi t6, t6, bit; bnez t6, label

/* Offsets in trapinfo (runtime.S), filled by the M-mode trap handler. */
#define TI_CAUSE   0
#define TI_EPC     8
#define TI_TVAL    16
#define TI_COUNT   24
#define TI_RESUME  32
#define TI_MSTATUS 56
#define TI_PRIV    64
/* Same layout in strapinfo for the S-mode handler. */

#define FAIL_IF_NE(reg, val) li t6, val; bne reg, t6, fail
#define FAIL_IF_EQ(reg, val) li t6, val; beq reg, t6, fail

#define TEST_CASE(n, testreg, correctval, code...) \
test_ ## n: \
  li TESTNUM, n; \
  code; \
  li t6, correctval; \
  bne testreg, t6, fail;

/* Integer ALU forms: result in a4. */
#define TEST_RR(n, inst, result, v1, v2) \
  TEST_CASE(n, a4, result, li a1, v1; li a2, v2; inst a4, a1, a2)
#define TEST_IMM(n, inst, result, v1, imm) \
  TEST_CASE(n, a4, result, li a1, v1; inst a4, a1, imm)
/* Destination equals a source. */
#define TEST_RR_SRC1(n, inst, result, v1, v2) \
  TEST_CASE(n, a1, result, li a1, v1; li a2, v2; inst a1, a1, a2)

/* Arrange for the next M-mode trap to resume at label (in M-mode, with
 * interrupts disabled), recording cause/epc/tval in trapinfo. */
#define SET_RESUME(label) \
  la t0, label; la t1, trapinfo; sd t0, TI_RESUME(t1)

/* Same for traps taken in S-mode (delegated), resuming in S-mode. */
#define SET_SRESUME(label) \
  la t0, label; la t1, strapinfo; sd t0, TI_RESUME(t1)

/* Switch to privilege mode prv at label via mret. */
#define ENTER_MODE(prv, label) \
  li t0, MSTATUS_MPP; csrc mstatus, t0; \
  li t0, (prv) << 11; csrs mstatus, t0; \
  la t0, label; csrw mepc, t0; mret

/* Load a trapinfo field into reg. */
#define TRAPINFO(reg, off) la reg, trapinfo; ld reg, off(reg)
#define STRAPINFO(reg, off) la reg, strapinfo; ld reg, off(reg)

/* Run code in mode prv (without paging it must be reachable); the code ends
 * by trapping (ecall or fault). Then check the M-mode trap cause. */
#define TEST_IN_MODE(n, prv, cause, code...) \
test_ ## n: \
  li TESTNUM, n; \
  SET_RESUME(9f); \
  ENTER_MODE(prv, 8f); \
8: code; \
  ecall; \
  j fail; \
9: TRAPINFO(t0, TI_CAUSE); \
  FAIL_IF_NE(t0, cause)

/* Expect code (a single faulting instruction) to trap in M-mode with cause;
 * continues after it. */
#define TEST_TRAP(n, cause, code...) \
test_ ## n: \
  li TESTNUM, n; \
  SET_RESUME(9f); \
  code; \
  j fail; \
9: TRAPINFO(t0, TI_CAUSE); \
  FAIL_IF_NE(t0, cause)

/* Expect a faulting AMO with store/AMO cause (the QEMU quirk adds 2 to the
 * load cause it reports, which maps 4->6 and 5->7). */
#define TEST_TRAP_AMO(n, cause, code...) \
test_ ## n: \
  li TESTNUM, n; \
  SET_RESUME(9f); \
  code; \
  j fail; \
9: TRAPINFO(t0, TI_CAUSE); \
  li t6, QUIRKS_ADDR; ld t6, 0(t6); andi t6, t6, QUIRK_AMO_FAULT_AS_LOAD; \
  beqz t6, 7f; addi t0, t0, 2; \
7: FAIL_IF_NE(t0, cause)

/* Floating point: operands loaded from bit patterns, result fa3. */
#define LD_S(freg, bits) li t0, bits; fmv.w.x freg, t0
#define LD_D(freg, bits) li t0, bits; fmv.d.x freg, t0

/* Check fa3 (all 64 bits, so single results must be NaN-boxed) and fflags. */
#define TEST_FP(n, flags, result, code...) \
test_ ## n: \
  li TESTNUM, n; \
  fsflags x0; \
  code; \
  fmv.x.d a0, fa3; \
  frflags a1; \
  li t6, result; bne a0, t6, fail; \
  li t6, flags; bne a1, t6, fail;

/* Check integer result a0 and fflags. */
#define TEST_FP_INT(n, flags, result, code...) \
test_ ## n: \
  li TESTNUM, n; \
  fsflags x0; \
  code; \
  frflags a1; \
  li t6, result; bne a0, t6, fail; \
  li t6, flags; bne a1, t6, fail;

#define BOX(x) (0xffffffff00000000 | (x))

#define S_OP2(n, inst, flags, result, a, b) \
  TEST_FP(n, flags, BOX(result), LD_S(fa0, a); LD_S(fa1, b); inst fa3, fa0, fa1)
#define S_OP2_RM(n, inst, rm, flags, result, a, b) \
  TEST_FP(n, flags, BOX(result), LD_S(fa0, a); LD_S(fa1, b); inst fa3, fa0, fa1, rm)
#define D_OP2(n, inst, flags, result, a, b) \
  TEST_FP(n, flags, result, LD_D(fa0, a); LD_D(fa1, b); inst fa3, fa0, fa1)
#define D_OP2_RM(n, inst, rm, flags, result, a, b) \
  TEST_FP(n, flags, result, LD_D(fa0, a); LD_D(fa1, b); inst fa3, fa0, fa1, rm)

#define FF_NV 0x10
#define FF_DZ 0x08
#define FF_OF 0x04
#define FF_UF 0x02
#define FF_NX 0x01

#define CHECK_TI(off, val) TRAPINFO(t0, off); FAIL_IF_NE(t0, val)

#define PASS j pass

#endif
