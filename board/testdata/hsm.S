# Direct (S-mode) boot on two harts, exercising the VMM's SBI: HSM
# hart_start / hart_get_status / hart_stop / hart_suspend, IPIs, and SRST
# shutdown. Hart 0 drives; failures write the test device with a code.
  .equ EXT_IPI, 0x735049
  .equ EXT_HSM, 0x48534D
  .equ EXT_SRST, 0x53525354
  .equ OPAQUE, 0x12345678

  .macro sbi eid, fid
  li a7, \eid
  li a6, \fid
  ecall
  .endm
  .macro fail code
  li t1, (\code << 16) | 0x3333
  j out
  .endm

  .section .text.init
  .globl _start
_start:
  bnez a0, wrong_hart        # only hart 0 is started by the board
  la s0, flags
  # hart 1 must be STOPPED
  li a0, 1
  sbi EXT_HSM, 2
  bnez a0, f1
  li t0, 1
  bne a1, t0, f2
  # start it
  li a0, 1
  la a1, secondary
  li a2, OPAQUE
  sbi EXT_HSM, 0
  bnez a0, f3
  # starting it again must fail with ALREADY_AVAILABLE (-6)
  li a0, 1
  la a1, secondary
  li a2, 0
  sbi EXT_HSM, 0
  li t0, -6
  bne a0, t0, f4
1: ld t0, 0(s0)              # wait until hart 1 checked its a0/a1
  beqz t0, 1b
  li t1, 2
  beq t0, t1, f5             # hart 1 saw the wrong registers
  # IPI hart 1 (it waits in a retentive suspend with SSIE on)
2: ld t0, 8(s0)
  beqz t0, 2b
  li a0, 2
  li a1, 0
  sbi EXT_IPI, 0
  bnez a0, f6
3: li a0, 1                  # wait for hart 1 to stop itself
  sbi EXT_HSM, 2
  li t0, 1
  bne a1, t0, 3b
  ld t0, 16(s0)
  li t1, 1
  bne t0, t1, f7             # it stopped without taking the IPI
  # start it again at another entry
  li a0, 1
  la a1, secondary2
  li a2, OPAQUE + 1
  sbi EXT_HSM, 0
  bnez a0, f8
4: ld t0, 24(s0)
  beqz t0, 4b
  li t1, 1
  bne t0, t1, f9
  # bad hart id
  li a0, 7
  sbi EXT_HSM, 2
  li t0, -3
  bne a0, t0, f10
  # shutdown: does not return
  li a0, 0
  li a1, 0
  sbi EXT_SRST, 0
  fail 11

f1: fail 1
f2: fail 2
f3: fail 3
f4: fail 4
f5: fail 5
f6: fail 6
f7: fail 7
f8: fail 8
f9: fail 9
f10: fail 10
wrong_hart: fail 12
out:
  li t0, 0x100000
  sw t1, 0(t0)
5: j 5b

secondary:                   # a0 = 1, a1 = OPAQUE, S-mode, satp = 0
  la s0, flags
  li t0, 2
  li t1, 1
  bne a0, t1, 6f
  li t1, OPAQUE
  bne a1, t1, 6f
  csrr t1, satp
  bnez t1, 6f
  li t0, 1
6: sd t0, 0(s0)
  la t0, ipi
  csrw stvec, t0
  li t0, 2                   # sie.SSIE, but sstatus.SIE stays 0
  csrw sie, t0
  li t0, 1
  sd t0, 8(s0)
7: li a0, 0                  # retentive suspend until the IPI is pending
  sbi EXT_HSM, 3
  csrr t0, sip
  andi t0, t0, 2
  beqz t0, 7b
  csrci sip, 2
  li t0, 1
  sd t0, 16(s0)
  sbi EXT_HSM, 1             # hart_stop: does not return
  fail 13
ipi: fail 14                 # SIE is 0: the IPI must not trap

secondary2:
  la s0, flags
  li t0, 2
  li t1, OPAQUE + 1
  bne a1, t1, 8f
  li t0, 1
8: sd t0, 24(s0)
9: wfi
  j 9b

  .section .data
  .align 6
flags: .zero 64
