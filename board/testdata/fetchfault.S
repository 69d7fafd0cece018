# Direct (S-mode) boot: a fetch page fault in a block reached by chaining
# from earlier blocks must report sepc = stval = the faulting address, and
# resuming there must not repeat instructions. Verdict via the test device.
  .section .text.init
  .globl _start
_start:
  la t0, trap
  csrw stvec, t0
  la t0, root
  li t1, (0x00000000 >> 12) << 10 | 0xc7     # root[0]: devices, RW
  sd t1, 0(t0)
  li t1, (0x80000000 >> 12) << 10 | 0xcf     # root[2]: DRAM identity, RWX
  sd t1, 16(t0)
  la t2, l1                                  # root[1] -> l1 -> l0
  srli t1, t2, 12
  slli t1, t1, 10
  ori t1, t1, 1
  sd t1, 8(t0)
  la t3, l0
  srli t1, t3, 12
  slli t1, t1, 10
  ori t1, t1, 1
  sd t1, 0(t2)
  la t4, code1                               # l0[0]: VA 0x40000000 = code1
  srli t1, t4, 12
  slli t1, t1, 10
  ori t1, t1, 0xcb                           # V R X A D
  sd t1, 0(t3)                               # l0[1] (code2) is mapped on demand
  srli t1, t0, 12
  li t2, 8 << 60
  or t1, t1, t2
  csrw satp, t1
  sfence.vma
  li a1, 0
  li s1, 0
  li t0, 0x40000000
  jr t0

  .align 4
trap:
  addi s1, s1, 1
  li t1, (3 << 16) | 0x3333                  # code 3: faulted twice
  li t5, 2
  bge s1, t5, out
  csrr t5, sepc
  csrr t6, stval
  li t1, (1 << 16) | 0x3333                  # code 1: sepc != stval
  bne t5, t6, out
  la t5, code2
  srli t5, t5, 12
  slli t5, t5, 10
  ori t5, t5, 0xcb
  la t6, l0
  sd t5, 8(t6)
  sfence.vma
  sret
out:
  li t0, 0x100000
  sw t1, 0(t0)
1: j 1b

  .section .data
  .align 12
root: .zero 4096
l1: .zero 4096
l0: .zero 4096
code1:                  # runs at VA 0x40000000
  addi a1, a1, 1
  j 2f                  # a second block in the same page...
2:
  addi a1, a1, 1
  j code1 + 4096        # ...then on to VA 0x40001000, not mapped yet
  .align 12
code2:                  # runs at VA 0x40001000; position-independent exit
  li t1, 0x5555
  li t0, 2
  beq a1, t0, 3f
  li t1, (2 << 16) | 0x3333                  # code 2: instructions repeated
3:
  li t0, 0x100000
  sw t1, 0(t0)
4: j 4b
