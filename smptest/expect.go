package smptest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
)

// StressParams are `stress run`'s flags. The host computes from them what
// every ROUND line must say, independently of the guest program's code.
type StressParams struct {
	Seconds           float64 // keep starting rounds this long
	MaxRounds         int     // 0: no limit
	Seed              uint64
	Workers, Iters    int // hash ring goroutines and steps
	RingKiB           int
	Stages, ChainKiB  int // pipe pipeline processes and bytes
	Fan, FanKiB       int // digest processes and bytes each
	ShmHelpers        int // parent goroutines on the shared page
	ShmAdds, PingPong uint64
}

// DefaultStress is a round of about ten seconds of guest work on 4 harts.
func DefaultStress(seconds float64) StressParams {
	return StressParams{
		Seconds: seconds, Seed: 1, Workers: 8, Iters: 32, RingKiB: 16,
		Stages: 4, ChainKiB: 256, Fan: 4, FanKiB: 64,
		ShmHelpers: 3, ShmAdds: 20000, PingPong: 300,
	}
}

// Command is the guest shell command running these parameters.
func (p StressParams) Command() string {
	return fmt.Sprintf("%s run -seconds %s -rounds %d -seed %d -workers %d -iters %d -ring-kib %d -stages %d -chain-kib %d -fan %d -fan-kib %d -shm-helpers %d -shm-adds %d -pingpong %d",
		StressPath, strconv.FormatFloat(p.Seconds, 'f', -1, 64), p.MaxRounds, p.Seed, p.Workers, p.Iters, p.RingKiB,
		p.Stages, p.ChainKiB, p.Fan, p.FanKiB, p.ShmHelpers, p.ShmAdds, p.PingPong)
}

// ExpectedRound is the ROUND line the guest must print for round.
func (p StressParams) ExpectedRound(round uint64) string {
	ring := expectRing(p.Workers, p.Iters, p.RingKiB<<10, p.Seed, round)

	data := genBytes(p.ChainKiB<<10, "chain", p.Seed, round)
	add := byte(p.Stages * (p.Stages + 1) / 2)
	for i := range data {
		data[i] += add
	}
	chain := sha256.Sum256(data)

	var fanAll []byte
	for i := 0; i < p.Fan; i++ {
		s := sha256.Sum256(genBytes(p.FanKiB<<10, "fan", p.Seed, round, uint64(i)))
		fanAll = append(fanAll, s[:]...)
	}
	fan := sha256.Sum256(fanAll)

	sides := p.ShmAdds * uint64(p.ShmHelpers+1)
	return fmt.Sprintf("ROUND %d ring=%x chain=%x fan=%x shm=%d locked=%d pp=%d",
		round, ring, chain, fan, sides, sides, p.PingPong)
}

// expectRing replays the hash ring sequentially: in step k every worker
// mixes in its predecessor's digest from step k.
func expectRing(workers, iters, size int, seed, round uint64) [sha256.Size]byte {
	bufs := make([][]byte, workers)
	h := make([][sha256.Size]byte, workers)
	for w := range bufs {
		bufs[w] = genBytes(size, "ring", seed, round, uint64(w))
		h[w] = sha256.Sum256(bufs[w])
	}
	for range iters {
		prev := append([][sha256.Size]byte(nil), h...)
		for w := range h {
			d := sha256.New()
			d.Write(prev[w][:])
			d.Write(prev[(w+workers-1)%workers][:])
			d.Write(bufs[w])
			d.Sum(h[w][:0])
		}
	}
	var all []byte
	for _, x := range h {
		all = append(all, x[:]...)
	}
	return sha256.Sum256(all)
}

// HashCommand is the guest command of the parallel benchmark workload.
func HashCommand(workers, mib int, seed uint64) string {
	return fmt.Sprintf("%s hash -workers %d -mib %d -seed %d", StressPath, workers, mib, seed)
}

// ExpectedHash is the digest `stress hash` must print.
func ExpectedHash(workers, mib int, seed uint64) string {
	const chunk = 64 << 10
	var all []byte
	for w := 0; w < workers; w++ {
		buf := genBytes(chunk, "par", seed, uint64(w))
		var h [sha256.Size]byte
		for range mib * (1 << 20) / chunk {
			d := sha256.New()
			d.Write(h[:])
			d.Write(buf)
			d.Sum(h[:0])
		}
		all = append(all, h[:]...)
	}
	return fmt.Sprintf("%x", sha256.Sum256(all))
}

// genBytes is the guest's fill: SHA-256 in counter mode over
// label || ids (LE64) || counter (LE64).
func genBytes(n int, label string, ids ...uint64) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := uint64(0); len(out) < n; i++ {
		msg := []byte(label)
		for _, id := range ids {
			msg = binary.LittleEndian.AppendUint64(msg, id)
		}
		msg = binary.LittleEndian.AppendUint64(msg, i)
		s := sha256.Sum256(msg)
		out = append(out, s[:]...)
	}
	return out[:n]
}
