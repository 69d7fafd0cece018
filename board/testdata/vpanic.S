# Bare (M-mode) boot: reads the config space of virtio slot 0. The test
# puts a device there whose config read panics: the machine must end with
# an error, not crash the process.
  .section .text.init
  .globl _start
_start:
  li t0, 0x10001100
  lw t1, 0(t0)
1: j 1b
