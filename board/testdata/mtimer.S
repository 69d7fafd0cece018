# Bare (M-mode) boot: CLINT timer interrupts arrive during a long loop and
# no instruction is lost or repeated; the verdict goes through HTIF tohost.
  .section .text.init
  .globl _start
_start:
  la t0, trap
  csrw mtvec, t0
  li s2, 0x2004000      # this hart's mtimecmp: 0x2004000 + 8*hartid
  csrr t0, mhartid
  slli t0, t0, 3
  add s2, s2, t0
  li s3, 0x200bff8      # mtime
  ld t0, 0(s3)
  addi t0, t0, 50
  sd t0, 0(s2)
  li t0, 0x80           # MTIE
  csrw mie, t0
  csrsi mstatus, 8      # MIE
  li a1, 0
  li a2, 0
  li a3, 300000
loop:
  addi a1, a1, 1
  addi a2, a2, 1
  addi a2, a2, 1
  bne a1, a3, loop
  csrci mstatus, 8
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

  .align 4
trap:
  ld t5, 0(s3)
  addi t5, t5, 50
  sd t5, 0(s2)
  addi s1, s1, 1
  mret

  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0
