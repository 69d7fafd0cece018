# Bare (M-mode) boot, for snapshot tests: a long deterministic computation
# over a RAM buffer with CLINT timer interrupts arriving throughout. It
# prints a dot every 65536 iterations and the final hash, then reports
# through tohost whether an instruction was lost or repeated. Other harts
# count in registers forever, so that they have state to save too.
  .section .text.init
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, other
  la t0, trap
  csrw mtvec, t0
  li s2, 0x2004000      # mtimecmp of hart 0
  li s3, 0x200bff8      # mtime
  li s4, 0x10000000     # UART
  la s5, buf
  ld t0, 0(s3)
  addi t0, t0, 50
  sd t0, 0(s2)
  li t0, 0x80           # MTIE
  csrw mie, t0
  csrsi mstatus, 8      # MIE
  li a1, 0
  li a2, 0
  li a3, 3000000
  li s6, 0x9e3779b97f4a7c15
  li s8, 0x100000001b3
loop:
  addi a1, a1, 1
  addi a2, a2, 1
  addi a2, a2, 1
  xor s6, s6, a1
  mul s6, s6, s8
  andi t2, a1, 0x7ff
  slli t2, t2, 3
  add t2, s5, t2
  ld t3, 0(t2)
  add s6, s6, t3
  sd s6, 0(t2)
  slli t4, a1, 48
  bnez t4, next
  li a0, '.'
  call putc
next:
  bne a1, a3, loop
  csrci mstatus, 8
  li a0, '\n'
  call putc
  li t1, 60             # 16 hex digits of the hash, most significant first
hex:
  srl t2, s6, t1
  andi t2, t2, 15
  li t3, 10
  addi a0, t2, '0'
  blt t2, t3, 1f
  addi a0, t2, 'a'-10
1:
  call putc
  addi t1, t1, -4
  bgez t1, hex
  li a0, '\n'
  call putc
  slli a4, a1, 1
  li t0, (2 << 1) | 1   # code 2: an instruction was lost or repeated
  bne a4, a2, done
  li t0, (3 << 1) | 1   # code 3: no timer interrupt was taken
  beqz s1, done
  li t0, 1              # pass
done:
  la t1, tohost
  sd t0, 0(t1)
1: j 1b

other:
  addi a5, a5, 1
  add a6, a6, a5
  j other

putc:
  lbu t6, 5(s4)         # LSR
  andi t6, t6, 0x20     # THRE
  beqz t6, putc
  sb a0, 0(s4)
  ret

  .align 4
trap:                   # uses only s1, s2, s3, s7: the loop owns the rest
  ld s7, 0(s3)
  addi s7, s7, 50
  sd s7, 0(s2)
  addi s1, s1, 1
  mret

  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0

  .section .bss
  .align 12
buf: .space 16384
