# Direct (S-mode) boot: a store page fault in the middle of a block resumes
# at the store, without repeating the instructions before it.
  .section .text.init
  .globl _start
_start:
  la t0, trap
  csrw stvec, t0
  la t0, root
  li t1, (0x00000000 >> 12) << 10 | 0xc7     # root[0]: devices
  sd t1, 0(t0)
  li t1, (0x80000000 >> 12) << 10 | 0xcf     # root[2]: DRAM identity
  sd t1, 16(t0)
  la t2, l1                                  # root[1] -> l1 -> l0, l0[0] invalid
  srli t1, t2, 12
  slli t1, t1, 10
  ori t1, t1, 1
  sd t1, 8(t0)
  la t3, l0
  srli t1, t3, 12
  slli t1, t1, 10
  ori t1, t1, 1
  sd t1, 0(t2)
  srli t1, t0, 12
  li t2, 8 << 60
  or t1, t1, t2
  csrw satp, t1
  sfence.vma
  li s1, 0
  li a1, 0
  li a3, 0x40000000
  li a2, 0x1234
  j blk
  .align 6
blk:
  addi a1, a1, 1
  sd a2, 0(a3)          # faults once
  addi a1, a1, 1
  ld a4, 0(a3)
  addi a1, a1, 1
  li t1, (1 << 16) | 0x3333
  li t0, 3
  bne a1, t0, out
  li t1, (2 << 16) | 0x3333
  bne a4, a2, out
  li t1, (3 << 16) | 0x3333
  li t0, 1
  bne s1, t0, out
  li t1, 0x5555
out:
  li t0, 0x100000
  sw t1, 0(t0)
1: j 1b

  .align 4
trap:
  csrr t5, scause
  li t6, 15
  li t1, (4 << 16) | 0x3333                  # code 4: not a store page fault
  bne t5, t6, out
  addi s1, s1, 1
  la t5, data
  srli t5, t5, 12
  slli t5, t5, 10
  ori t5, t5, 0xc7
  la t6, l0
  sd t5, 0(t6)
  sfence.vma
  sret

  .section .data
  .align 12
root: .zero 4096
l1: .zero 4096
l0: .zero 4096
data: .zero 4096
