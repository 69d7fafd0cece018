package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// runParams size one stress round; the host passes the same values to its
// own computation of the expected ROUND lines.
type runParams struct {
	seconds                 float64
	maxRounds               int
	seed                    uint64
	workers, iters, ringKiB int
	stages, chainKiB        int
	fan, fanKiB             int
	shmHelpers              int
	shmAdds, pingPongs      uint64
}

func runCommand(args []string) error {
	var p runParams
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Float64Var(&p.seconds, "seconds", 30, "keep starting rounds until this much time has passed (at least one round)")
	fs.IntVar(&p.maxRounds, "rounds", 0, "stop after this many rounds (0: no limit)")
	fs.Uint64Var(&p.seed, "seed", 1, "seed of all generated data")
	fs.IntVar(&p.workers, "workers", 8, "goroutines in the hash ring")
	fs.IntVar(&p.iters, "iters", 32, "hash ring steps")
	fs.IntVar(&p.ringKiB, "ring-kib", 16, "KiB each ring worker hashes per step")
	fs.IntVar(&p.stages, "stages", 4, "processes in the pipe pipeline")
	fs.IntVar(&p.chainKiB, "chain-kib", 256, "KiB sent through the pipeline")
	fs.IntVar(&p.fan, "fan", 4, "digest processes started at once")
	fs.IntVar(&p.fanKiB, "fan-kib", 64, "KiB each digest process hashes")
	fs.IntVar(&p.shmHelpers, "shm-helpers", 3, "parent goroutines adding to shared memory besides the child")
	fs.Uint64Var(&p.shmAdds, "shm-adds", 20000, "atomic adds and spinlock increments per side")
	fs.Uint64Var(&p.pingPongs, "pingpong", 300, "shared-memory message round trips")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if p.workers < 1 || p.stages < 1 || p.fan < 1 {
		return errors.New("-workers, -stages and -fan must be at least 1")
	}
	fmt.Printf("STRESS CPUS %d\n", runtime.NumCPU())
	start := time.Now()
	rounds := 0
	for {
		line, err := stressRound(&p, uint64(rounds))
		if err != nil {
			return fmt.Errorf("round %d: %v", rounds, err)
		}
		fmt.Println(line)
		rounds++
		if time.Since(start).Seconds() >= p.seconds || rounds == p.maxRounds {
			break
		}
	}
	fmt.Printf("STRESS DONE rounds=%d elapsed=%.1fs\n", rounds, time.Since(start).Seconds())
	return nil
}

// stressRound runs the round's phases at the same time and formats its
// ROUND line.
func stressRound(p *runParams, round uint64) (string, error) {
	var (
		wg       sync.WaitGroup
		ring     [sha256.Size]byte
		chain    [sha256.Size]byte
		fan      [sha256.Size]byte
		shm      shmResult
		chainErr error
		fanErr   error
		shmErr   error
	)
	wg.Add(4)
	go func() { defer wg.Done(); ring = hashRing(p.workers, p.iters, p.ringKiB<<10, p.seed, round) }()
	go func() { defer wg.Done(); chain, chainErr = pipeline(p.stages, p.chainKiB<<10, p.seed, round) }()
	go func() { defer wg.Done(); fan, fanErr = fanOut(p.fan, p.fanKiB<<10, p.seed, round) }()
	go func() {
		defer wg.Done()
		shm, shmErr = sharedMemory(p.shmHelpers, p.shmAdds, p.pingPongs, p.seed^round)
	}()
	wg.Wait()
	if err := errors.Join(chainErr, fanErr, shmErr); err != nil {
		return "", err
	}
	return fmt.Sprintf("ROUND %d ring=%x chain=%x fan=%x shm=%d locked=%d pp=%d",
		round, ring, chain, fan, shm.counter, shm.locked, shm.rounds), nil
}

// hashCommand is the parallel-speedup workload.
func hashCommand(args []string) error {
	fs := flag.NewFlagSet("hash", flag.ContinueOnError)
	workers := fs.Int("workers", runtime.NumCPU(), "independent hashing goroutines")
	mib := fs.Int("mib", 4, "MiB each worker hashes")
	seed := fs.Uint64("seed", 1, "seed of the hashed data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 || *mib < 1 {
		return errors.New("-workers and -mib must be at least 1")
	}
	start := time.Now()
	d := hashParallel(*workers, *mib, *seed)
	fmt.Printf("HASH workers=%d mib=%d digest=%x elapsed=%.3fs\n", *workers, *mib, d, time.Since(start).Seconds())
	return nil
}
