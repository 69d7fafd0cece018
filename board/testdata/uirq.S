# Direct (S-mode) boot: U-mode code, running at a second virtual alias of
# its physical page, is interrupted by Sstc timer interrupts (stimecmp) and
# must lose or repeat no instruction. It reports through an ECALL to the
# S-mode handler, which writes the test device.
  .section .text.init
  .globl _start
_start:
  la t0, trap
  csrw stvec, t0
  la t0, scratch
  csrw sscratch, t0
  la t0, root
  li t1, (0x00000000 >> 12) << 10 | 0xc7     # root[0]: devices
  sd t1, 0(t0)
  li t1, (0x80000000 >> 12) << 10 | 0xcf     # root[2]: kernel RWX
  sd t1, 16(t0)
  li t1, (0x80000000 >> 12) << 10 | 0xdf     # root[4]: user alias RWX+U
  sd t1, 32(t0)
  srli t1, t0, 12
  li t2, 8 << 60
  or t1, t1, t2
  csrw satp, t1
  sfence.vma
  li t0, 0x20                                # sie.STIE
  csrw sie, t0
  rdtime t0
  addi t0, t0, 20
  csrw 0x14d, t0                             # stimecmp
  la t0, ustart                              # user alias of ustart
  li t1, 0x80000000
  sub t0, t0, t1
  li t1, 0x100000000
  add t0, t0, t1
  csrw sepc, t0
  li t0, 0x100
  csrc sstatus, t0                           # SPP = U
  li s1, 0
  sret

  .align 4
trap:
  csrrw sp, sscratch, sp
  sd t5, 0(sp)
  sd t6, 8(sp)
  csrr t5, scause
  bgez t5, uexc
  addi s1, s1, 1                             # timer: count, re-arm
  rdtime t6
  addi t6, t6, 37
  csrw 0x14d, t6
  ld t5, 0(sp)
  ld t6, 8(sp)
  csrrw sp, sscratch, sp
  sret
uexc:                                        # ECALL from U: a0 is the verdict
  li t5, 0x100000
  sw a0, 0(t5)
1: j 1b

  .align 6
ustart:
  li a1, 0
  li a2, 0
  li a3, 20000
uloop:
  .rept 20
  addi a1, a1, 1
  addi a2, a2, 2
  .endr
  addi a3, a3, -1
  bnez a3, uloop
  li a0, (1 << 16) | 0x3333
  li t0, 400000
  bne a1, t0, 2f
  li a0, (2 << 16) | 0x3333
  li t0, 800000
  bne a2, t0, 2f
  li a0, (3 << 16) | 0x3333
  beqz s1, 2f
  li a0, 0x5555
2:
  ecall

  .section .data
  .align 12
root: .zero 4096
scratch: .zero 64
