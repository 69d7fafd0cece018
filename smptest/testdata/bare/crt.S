# Start-up shared by the bare-metal SMP programs. Every hart enters at
# _start in M-mode (popek --bios none starts all harts there), gets its own
# stack and trap vector and calls main(hartid). A hart whose main returns
# parks in WFI; interrupts it still has enabled are still handled.
  .equ STACK_SIZE, 8192
  .equ MAX_HARTS, 8

  .section .text.init
  .globl _start
_start:
  csrr a0, mhartid
  li t0, MAX_HARTS
  bgeu a0, t0, park_quiet     # more harts than the program has stacks for
  la sp, stacks
  addi t1, a0, 1
  li t0, STACK_SIZE
  mul t1, t1, t0
  add sp, sp, t1
  la t0, trap_entry
  csrw mtvec, t0
  call main
park:
  wfi
  j park
park_quiet:
  csrw mie, zero
  j park

# trap_entry saves the caller-saved registers and calls
# trap(mcause, mepc); C code is compiled without FP, so no FP state.
  .align 4
trap_entry:
  addi sp, sp, -128
  sd ra, 0(sp)
  sd t0, 8(sp)
  sd t1, 16(sp)
  sd t2, 24(sp)
  sd a0, 32(sp)
  sd a1, 40(sp)
  sd a2, 48(sp)
  sd a3, 56(sp)
  sd a4, 64(sp)
  sd a5, 72(sp)
  sd a6, 80(sp)
  sd a7, 88(sp)
  sd t3, 96(sp)
  sd t4, 104(sp)
  sd t5, 112(sp)
  sd t6, 120(sp)
  csrr a0, mcause
  csrr a1, mepc
  call trap
  ld ra, 0(sp)
  ld t0, 8(sp)
  ld t1, 16(sp)
  ld t2, 24(sp)
  ld a0, 32(sp)
  ld a1, 40(sp)
  ld a2, 48(sp)
  ld a3, 56(sp)
  ld a4, 64(sp)
  ld a5, 72(sp)
  ld a6, 80(sp)
  ld a7, 88(sp)
  ld t3, 96(sp)
  ld t4, 104(sp)
  ld t5, 112(sp)
  ld t6, 120(sp)
  addi sp, sp, 128
  mret

  .section .tohost, "aw", @progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0

  .bss
  .align 4
stacks: .zero STACK_SIZE * MAX_HARTS
