# Bare (M-mode) boot: every hart loops forever, for lifecycle tests.
  .section .text.init
  .globl _start
_start:
  addi a2, a2, 1
  j _start
