/* Page-table helpers for the MMU tests. */
#ifndef ISATEST_MMU_DEFS_H
#define ISATEST_MMU_DEFS_H

#define VA_PAGE(i) (0x40000000 + (i) * 0x1000)
#define PTE_OF(reg, label, flags) la reg, label; srli reg, reg, 12; slli reg, reg, 10; ori reg, reg, flags
#define PTE_PA(reg, pa, flags) li reg, (((pa) >> 12) << 10) | (flags)
#define PTE_PTR(reg, label) PTE_OF(reg, label, PTE_V)
#define SET_PTE(table, idx, reg) la t1, table; sd reg, (idx) * 8(t1)
#define USE_S_VIEW csrw satp, s10; sfence.vma
#define USE_U_VIEW csrw satp, s9; sfence.vma
/* Offset of a label inside the image (from 0x80000000). */
#define IMG_OFF(reg, label) la reg, label; li t1, 0x80000000; sub reg, reg, t1
/* satp value for root table label in mode (SATP_SVxx). Clobbers t0, t1. */
#define SATP_FOR(reg, root, mode) la t0, root; srli t0, t0, 12; li t1, mode; or reg, t0, t1

#endif
