/* Runtime for the bare-metal ISA tests: reset code, the default M- and
 * S-mode trap handlers, and the pass/fail exits (HTIF tohost word plus the
 * SiFive test device, so a program runs unchanged on QEMU and popek). */
#include "test.h"

  .section .text.init
  .globl _start
_start:
  la t0, trap_entry
  csrw mtvec, t0
  /* One PMP entry covering everything, so S and U may run. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f            /* NAPOT | X | W | R */
  csrw pmpcfg0, t0
  li t0, MSTATUS_FS & (MSTATUS_FS >> 1)   /* FS = Initial */
  csrs mstatus, t0
  csrwi fcsr, 0
  csrw mie, zero
  csrw medeleg, zero
  csrw mideleg, zero
  csrw satp, zero
  la sp, stack_top
  li gp, 0
  j test_main

  .text
/* M-mode trap handler. With trapinfo.resume set it records the trap and
 * continues there in M-mode with MIE off (MPIE cleared); otherwise the trap
 * was unexpected and the test fails, reporting the cause on the UART. */
  .align 6
  .globl trap_entry
trap_entry:
  csrw mscratch, t0
  la t0, trapinfo
  sd t1, 40(t0)
  sd t2, 48(t0)
  csrr t1, mcause
  sd t1, TI_CAUSE(t0)
  csrr t1, mepc
  sd t1, TI_EPC(t0)
  csrr t1, mtval
  sd t1, TI_TVAL(t0)
  csrr t1, mstatus
  sd t1, TI_MSTATUS(t0)
  srli t1, t1, 11
  andi t1, t1, 3
  sd t1, TI_PRIV(t0)
  ld t1, TI_COUNT(t0)
  addi t1, t1, 1
  sd t1, TI_COUNT(t0)
  ld t1, TI_RESUME(t0)
  beqz t1, unexpected_trap
  sd zero, TI_RESUME(t0)
  csrw mepc, t1
  li t2, MSTATUS_MPP
  csrs mstatus, t2
  li t2, MSTATUS_MPIE
  csrc mstatus, t2
  ld t1, 40(t0)
  ld t2, 48(t0)
  csrr t0, mscratch
  mret

unexpected_trap:
  la a0, msg_trap
  call puts
  csrr a0, mcause
  call puthex
  la a0, msg_epc
  call puts
  csrr a0, mepc
  call puthex
  la a0, msg_tval
  call puts
  csrr a0, mtval
  call puthex
  la a0, msg_nl
  call puts
  j fail

/* S-mode handler (used when stvec points here): records into strapinfo and
 * resumes at strapinfo.resume in S-mode with SIE off. An unexpected S trap
 * escalates with an ecall, which the M handler reports. */
  .align 6
  .globl strap_entry
strap_entry:
  csrw sscratch, t0
  la t0, strapinfo
  sd t1, 40(t0)
  sd t2, 48(t0)
  csrr t1, scause
  sd t1, TI_CAUSE(t0)
  csrr t1, sepc
  sd t1, TI_EPC(t0)
  csrr t1, stval
  sd t1, TI_TVAL(t0)
  csrr t1, sstatus
  sd t1, TI_MSTATUS(t0)
  srli t1, t1, 8
  andi t1, t1, 1
  sd t1, TI_PRIV(t0)
  ld t1, TI_COUNT(t0)
  addi t1, t1, 1
  sd t1, TI_COUNT(t0)
  ld t1, TI_RESUME(t0)
  beqz t1, 1f
  sd zero, TI_RESUME(t0)
  csrw sepc, t1
  li t2, MSTATUS_SPP
  csrs sstatus, t2
  li t2, MSTATUS_SPIE
  csrc sstatus, t2
  ld t1, 40(t0)
  ld t2, 48(t0)
  csrr t0, sscratch
  sret
1:
  ecall
  j fail

  .globl pass
pass:
  fence
  li t0, 1
  la t1, tohost
  sd t0, 0(t1)
  li t1, SIFIVE_TEST
  li t0, 0x5555
  sw t0, 0(t1)
1: j 1b

  .globl fail
fail:
  /* keep every register for the harness's report (t6 holds the expected
   * value of a failed TEST_CASE) */
  csrw mscratch, t0
  la t0, failregs
  .irp r, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
  sd x\r, \r * 8(t0)
  .endr
  csrr t1, mscratch
  sd t1, 5 * 8(t0)
  fence
  mv s0, gp
  bnez s0, 1f
  li s0, 255
1:
  la a0, msg_fail
  call puts
  mv a0, s0
  call puthex
  la a0, msg_last
  call puts
  TRAPINFO(a0, TI_CAUSE)
  call puthex
  la a0, msg_tval
  call puts
  TRAPINFO(a0, TI_TVAL)
  call puthex
  la a0, msg_end
  call puts
  la a0, msg_nl
  call puts
  slli t0, s0, 1
  ori t0, t0, 1
  la t1, tohost
  sd t0, 0(t1)
  slli t0, s0, 16
  li t1, 0x3333
  or t0, t0, t1
  li t1, SIFIVE_TEST
  sw t0, 0(t1)
1: j 1b

/* puts(a0): NUL-terminated string to the UART. Clobbers a0, t0, t1. */
  .globl puts
puts:
  li t0, UART0
1:
  lbu t1, 0(a0)
  beqz t1, 2f
  sb t1, 0(t0)
  addi a0, a0, 1
  j 1b
2:
  ret

/* puthex(a0): 16 hex digits to the UART. Clobbers a0, t0-t2. */
  .globl puthex
puthex:
  li t0, UART0
  li t2, 60
1:
  srl t1, a0, t2
  andi t1, t1, 15
  addi t1, t1, '0'
  li t3, '9'
  ble t1, t3, 2f
  addi t1, t1, 'a' - '0' - 10
2:
  sb t1, 0(t0)
  addi t2, t2, -4
  bgez t2, 1b
  ret

  .section .rodata
msg_trap: .asciz "unexpected trap mcause="
msg_epc:  .asciz " mepc="
msg_tval: .asciz " mtval="
msg_end:  .asciz ")"
msg_fail: .asciz "FAIL test "
msg_nl:   .asciz "\n"
msg_last: .asciz " (last trap mcause="

  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0

  .data
  .align 6
  .globl trapinfo
trapinfo: .fill 16, 8, 0
  .globl strapinfo
strapinfo: .fill 16, 8, 0
  .globl failregs
failregs: .fill 32, 8, 0

  .bss
  .align 12
stack: .fill 4096, 1, 0
  .globl stack_top
stack_top:
