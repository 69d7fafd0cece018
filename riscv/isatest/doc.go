// Package isatest proves that popek's hart follows the RISC-V spec.
//
// It holds two suites, both run by go test in this directory:
//
//   - Bare-metal ISA tests (testdata/*.S), written from the ISA and
//     privileged specs in riscv-tests style and built at test time with the
//     Debian cross compiler. Each program reports through the HTIF tohost
//     word and the SiFive test device, so it runs unchanged on QEMU (which
//     validates the tests themselves) and on popek's hart.
//   - Differential tests: random valid instruction streams run on QEMU and
//     on the hart, comparing every architectural register, fcsr and the
//     scratch memory; a difference is bisected to the first instruction.
//
// The non-test files are the reusable pieces: the toolchain driver, the ELF
// loader, the minimal test bus (SiFive test device, CLINT, UART sink), the
// QEMU runner and the stream generator. None of them depends on the hart.
package isatest
