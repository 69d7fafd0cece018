# Bare boot: prints through HTIF's console device, then reports failure 21.
  .section .text.init
  .globl _start
_start:
  la t1, tohost
  la t2, msg
1:
  lbu t3, 0(t2)
  beqz t3, 3f
  li t0, (1 << 56) | (1 << 48)   # device 1 (console), command 1 (putchar)
  or t0, t0, t3
  sd t0, 0(t1)
2:
  ld t0, 0(t1)                   # the host clears tohost once it printed
  bnez t0, 2b
  addi t2, t2, 1
  j 1b
3:
  li t0, (21 << 1) | 1
  sd t0, 0(t1)
4: j 4b
msg: .asciz "htif ok\n"

  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
