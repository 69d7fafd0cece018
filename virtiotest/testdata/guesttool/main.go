// Command guesttool is the integration tests' helper inside the guest: the
// bits u-root's userland lacks (vsock sockets) or does not make race-free
// to drive from a console (announcing a listener before accepting).
// The tests cross-build it for linux/riscv64 and append it to the
// initramfs as /vt.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: vt vsock-echo PORT | vsock-dial PORT MSG | tcp-serve PORT | tcp-dial ADDR LINE | hvc-read DEV | pattern N FILE"))
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "vsock-echo":
		err = vsockEcho(atoi(args, 0))
	case "vsock-dial":
		err = vsockDial(atoi(args, 0), arg(args, 1))
	case "tcp-serve":
		err = tcpServe(atoi(args, 0))
	case "tcp-dial":
		err = tcpDial(arg(args, 0), arg(args, 1))
	case "hvc-read":
		err = hvcRead(arg(args, 0))
	case "pattern":
		err = os.WriteFile(arg(args, 1), Pattern(atoi(args, 0)), 0o644)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

// Pattern is the test data the host checks: byte i is (7i+3) mod 251, so
// shifted or repeated blocks do not match.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((7*i + 3) % 251)
	}
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vt:", err)
	os.Exit(1)
}

func arg(args []string, i int) string {
	if i >= len(args) {
		fail(fmt.Errorf("missing argument %d", i+1))
	}
	return args[i]
}

func atoi(args []string, i int) int {
	n, err := strconv.Atoi(arg(args, i))
	if err != nil {
		fail(err)
	}
	return n
}

// vsockEcho accepts one connection on the vsock port and echoes it.
func vsockEcho(port int) error {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: uint32(port)}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 1); err != nil {
		return err
	}
	fmt.Printf("VSOCK LISTENING %d\n", port)
	cfd, sa, err := unix.Accept(fd)
	if err != nil {
		return err
	}
	unix.Close(fd)
	conn := os.NewFile(uintptr(cfd), "vsock")
	n, err := io.Copy(conn, conn)
	conn.Close()
	fmt.Printf("VSOCK ECHOED %d BYTES FROM CID %d\n", n, sa.(*unix.SockaddrVM).CID)
	return err
}

// vsockDial connects to the host (CID 2), sends msg, half-closes and
// prints the reply.
func vsockDial(port int, msg string) error {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_HOST, Port: uint32(port)}); err != nil {
		return err
	}
	conn := os.NewFile(uintptr(fd), "vsock")
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		return err
	}
	if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
		return err
	}
	reply, err := io.ReadAll(conn)
	fmt.Printf("VSOCK REPLY [%s]\n", reply)
	return err
}

// tcpServe accepts one TCP connection, greets, and prints the line it gets.
func tcpServe(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return err
	}
	fmt.Printf("TCP LISTENING %d\n", port)
	c, err := l.Accept()
	l.Close()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("guest-hello\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	fmt.Printf("TCP GOT [%s]\n", strings.TrimSpace(line))
	return err
}

// tcpDial connects to addr, prints the greeting line and sends line.
func tcpDial(addr, line string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	greeting, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Printf("TCP GREETING [%s]\n", strings.TrimSpace(greeting))
	_, err = c.Write([]byte(line + "\n"))
	return err
}

// hvcRead opens a console port, says so, and prints the first line read.
func hvcRead(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Println("HVC OPEN")
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Printf("HVC GOT [%s]\n", strings.TrimSpace(line))
	return err
}
