package main

import (
	"crypto/sha256"
	"sync"
)

// hashRing runs workers goroutines in a ring. Worker w starts from
// h = SHA-256(buf_w), buf_w = fill(size, "ring", seed, round, w); in each
// of iters steps it sends h to worker w+1, receives h' from worker w-1 and
// sets h = SHA-256(h || h' || buf_w). The FIFO channels make the result
// deterministic while every step wakes a goroutine that may sit on another
// hart. Returns SHA-256(h_0 || h_1 || ...).
func hashRing(workers, iters, size int, seed, round uint64) [sha256.Size]byte {
	in := make([]chan [sha256.Size]byte, workers)
	for i := range in {
		in[i] = make(chan [sha256.Size]byte, 1)
	}
	final := make([][sha256.Size]byte, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := fill(size, "ring", seed, round, uint64(w))
			h := sha256.Sum256(buf)
			for range iters {
				in[(w+1)%workers] <- h
				prev := <-in[w]
				h = sum256(h[:], prev[:], buf)
			}
			final[w] = h
		}()
	}
	wg.Wait()
	var all []byte
	for _, h := range final {
		all = append(all, h[:]...)
	}
	return sha256.Sum256(all)
}

// hashParallel is the benchmark workload: workers independent goroutines,
// each hashing mib MiB of its own buffer (64 KiB, rehashed with the running
// digest as a prefix). Returns SHA-256 over the workers' digests in order.
func hashParallel(workers, mib int, seed uint64) [sha256.Size]byte {
	const chunk = 64 << 10
	final := make([][sha256.Size]byte, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := fill(chunk, "par", seed, uint64(w))
			var h [sha256.Size]byte
			for range mib * (1 << 20) / chunk {
				h = sum256(h[:], buf)
			}
			final[w] = h
		}()
	}
	wg.Wait()
	var all []byte
	for _, h := range final {
		all = append(all, h[:]...)
	}
	return sha256.Sum256(all)
}
