# Bare boot: hart 0 reports code 9 through HTIF tohost and at once sleeps
# in WFI with interrupts off, before its run slice can end.
  .section .text.init
  .globl _start
_start:
  csrw mie, zero
  csrci mstatus, 8
  csrr t0, mhartid
  bnez t0, sleep
  la t1, tohost
  li t0, (9 << 1) | 1
  sd t0, 0(t1)
sleep:
  wfi
  j sleep

  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
