# Direct (S-mode) boot on two harts: a remote SFENCE.VMA through the SBI is
# complete when the call returns. Hart 1 keeps loading VA 0x40000000 (page
# A, holding 1). Hart 0 remaps it to page B (holding 2), fences hart 1 and
# then sets gen = 1. Any load hart 1 makes after seeing gen = 1 started
# after the fence, so it must read 2.
  .equ EXT_HSM, 0x48534D
  .equ EXT_RFENCE, 0x52464E43

  .section .text.init
  .globl _start
_start:
  la t0, root
  li t1, (0x00000000 >> 12) << 10 | 0xc7     # root[0]: devices
  sd t1, 0(t0)
  li t1, (0x80000000 >> 12) << 10 | 0xcf     # root[2]: DRAM identity
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
  la t4, pageA                               # l0[0]: VA 0x40000000 -> A
  srli t1, t4, 12
  slli t1, t1, 10
  ori t1, t1, 0xc7
  sd t1, 0(t3)
  call mmu_on
  li a0, 1                                   # start hart 1
  la a1, secondary
  li a2, 0
  li a7, EXT_HSM
  li a6, 0
  ecall
  la s5, shared
1: ld t0, 8(s5)                              # wait until hart 1 loops
  li t1, 3
  blt t0, t1, 1b
  la t4, pageB                               # remap VA 0x40000000 -> B
  srli t1, t4, 12
  slli t1, t1, 10
  ori t1, t1, 0xc7
  la t3, l0
  sd t1, 0(t3)
  li a0, 2                                   # remote_sfence_vma(hart 1, all)
  li a1, 0
  li a2, 0
  li a3, -1
  li a7, EXT_RFENCE
  li a6, 1
  ecall
  li t0, 1
  sd t0, 0(s5)                               # gen = 1, after the fence
  ld t2, 8(s5)
  addi t2, t2, 3
2: ld t0, 8(s5)                              # let hart 1 loop a few times
  blt t0, t2, 2b
  ld t0, 16(s5)
  li t1, 0x5555
  beqz t0, 3f
  li t1, (1 << 16) | 0x3333                  # code 1: a stale translation
3:
  li t0, 0x100000
  sw t1, 0(t0)
4: j 4b

mmu_on:
  la t0, root
  srli t0, t0, 12
  li t1, 8 << 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  ret

secondary:
  call mmu_on
  la s5, shared
  li s3, 0x40000000
  li s4, 0
5:
  .rept 32
  ld t0, 0(s5)          # gen
  ld t1, 0(s3)          # the remapped word
  addi t1, t1, -1
  seqz t1, t1           # 1 if it still reads page A
  and t1, t1, t0
  or s4, s4, t1
  .endr
  sd s4, 16(s5)
  ld t0, 8(s5)
  addi t0, t0, 1
  sd t0, 8(s5)          # iterations
  j 5b

  .section .data
  .align 12
root: .zero 4096
l1: .zero 4096
l0: .zero 4096
pageA: .dword 1
  .align 12
pageB: .dword 2
  .align 12
shared: .zero 64        # gen, iterations, bad
