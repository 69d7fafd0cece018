# Bare (M-mode) boot: hart 0 prints "up" on the UART, then every hart loops
# forever, for lifecycle tests.
  .section .text.init
  .globl _start
_start:
  bnez a0, spin
  li t0, 0x10000000
  li t1, 'u'
  sb t1, 0(t0)
  li t1, 'p'
  sb t1, 0(t0)
spin:
  addi a2, a2, 1
  j spin
