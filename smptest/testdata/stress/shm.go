package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// shmArea lives in a MAP_SHARED|MAP_ANONYMOUS page that parent and forked
// child both see. Fields written by different sides sit on their own cache
// lines.
type shmArea struct {
	counter uint64 // atomic adds from both processes
	_       [7]uint64
	lock    uint32 // CAS spinlock guarding locked
	_       uint32
	locked  uint64 // plain load/add/store under lock
	_       [6]uint64
	turn    uint64 // ping-pong: odd = message for the child, even = reply
	_       [7]uint64
	data    [8]uint64 // the parent's message, plain stores
	reply   uint64    // the child's answer, plain store
	errors  uint64    // messages the child saw torn or stale
}

// shmResult is what one shared-memory phase measured.
type shmResult struct {
	counter, locked, rounds uint64
}

// sharedMemory forks a child that shares one anonymous page with us. Both
// sides (the parent with helpers goroutines, the child alone) add to an
// atomic counter adds times each and take a CAS spinlock adds times each
// around a plain increment; then they ping-pong rounds messages, the child
// checking each one and answering its sum. The host expects
// counter = locked = adds*(helpers+1).
func sharedMemory(helpers int, adds, rounds, seed uint64) (shmResult, error) {
	page, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANON)
	if err != nil {
		return shmResult{}, fmt.Errorf("mmap: %v", err)
	}
	defer syscall.Munmap(page)
	a := (*shmArea)(unsafe.Pointer(&page[0]))

	pid, errno := forkShmChild(a, adds, rounds, seed)
	if errno != 0 {
		return shmResult{}, fmt.Errorf("fork: %v", errno)
	}
	var wg sync.WaitGroup
	for range helpers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shmAdd(a, adds)
		}()
	}
	var bad []string
	for i := uint64(0); i < rounds; i++ {
		var sum uint64
		for j := range a.data {
			a.data[j] = msgWord(seed, i, uint64(j))
			sum += a.data[j]
		}
		atomic.StoreUint64(&a.turn, 2*i+1)
		for spins := 0; atomic.LoadUint64(&a.turn) != 2*i+2; spins++ {
			if spins%64 == 63 {
				syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
			}
		}
		if a.reply != sum && len(bad) < 4 {
			bad = append(bad, fmt.Sprintf("round %d: reply %#x, want %#x", i, a.reply, sum))
		}
	}
	wg.Wait()
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(int(pid), &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return shmResult{}, fmt.Errorf("wait4: %v", err)
	case !ws.Exited() || ws.ExitStatus() != 0:
		return shmResult{}, fmt.Errorf("shm child ended with status %#x", uint32(ws))
	case len(bad) > 0:
		return shmResult{}, fmt.Errorf("ping-pong replies wrong: %v", bad)
	case a.errors != 0:
		return shmResult{}, fmt.Errorf("the child saw %d torn or stale messages", a.errors)
	}
	return shmResult{counter: atomic.LoadUint64(&a.counter), locked: a.locked, rounds: rounds}, nil
}

// shmAdd is one side's share of the counter and spinlock work.
//
//go:nosplit
func shmAdd(a *shmArea, adds uint64) {
	for i := uint64(0); i < adds; i++ {
		atomic.AddUint64(&a.counter, 1)
		for !atomic.CompareAndSwapUint32(&a.lock, 0, 1) {
		}
		a.locked++
		atomic.StoreUint32(&a.lock, 0)
	}
}

// msgWord is word j of ping-pong message i.
//
//go:nosplit
func msgWord(seed, i, j uint64) uint64 {
	return (seed << 40) ^ (i << 8) ^ j ^ 0x9e3779b97f4a7c15*(j+1)
}

// forkShmChild is fork(2). Go has no fork because the child would run Go
// code with one thread and the runtime's locks in unknown states; but an
// anonymous shared mapping is inherited only across fork, not exec. So the
// child runs nothing but nosplit code on plain memory (no allocation, no
// stack growth, no scheduler) and leaves with exit_group.
//
//go:nosplit
func forkShmChild(a *shmArea, adds, rounds, seed uint64) (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	shmChild(a, adds, rounds, seed)
	return 0, 0
}

//go:nosplit
func shmChild(a *shmArea, adds, rounds, seed uint64) {
	// Die with the parent instead of spinning forever on its messages.
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	shmAdd(a, adds)
	for i := uint64(0); i < rounds; i++ {
		for spins := 0; atomic.LoadUint64(&a.turn) != 2*i+1; spins++ {
			if spins%64 == 63 {
				syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
			}
		}
		var sum uint64
		for j := uint64(0); j < uint64(len(a.data)); j++ {
			v := a.data[j]
			if v != msgWord(seed, i, j) {
				atomic.AddUint64(&a.errors, 1)
			}
			sum += v
		}
		a.reply = sum
		atomic.StoreUint64(&a.turn, 2*i+2)
	}
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
}
