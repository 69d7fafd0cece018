# Bare boot on two or more harts: hart 1 reports code 7 through HTIF
# tohost while every other hart sleeps in WFI with interrupts off, and then
# sleeps too, so no hart's run slice ever ends after the write.
  .section .text.init
  .globl _start
_start:
  csrw mie, zero
  csrci mstatus, 8               # MIE off: WFI only ever waits
  csrr t0, mhartid
  li t1, 1
  bne t0, t1, sleep
  li t2, 100000                  # let hart 0 reach its WFI first
1:
  addi t2, t2, -1
  bnez t2, 1b
  la t1, tohost
  li t0, (7 << 1) | 1
  sd t0, 0(t1)
sleep:
  wfi
  j sleep

  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
