package snapshot

import (
	"strings"
	"testing"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/popek-vm/popek/devices/virtio"
)

func TestTmpFlaky(t *testing.T) {
	mode := os.Getenv("TMPMODE")
	bad := 0
	for i := 0; i < 8; i++ {
		log := newConsoleLog()
		harts := 2; if os.Getenv("TMPHARTS") == "1" { harts = 1 }; v := bootGuest(t, guestConfig(harts, 128<<20, log, virtio.NewRNG()))
		want := "RESULT " + hashChain(30)
		v.send(chainLoop(30) + "\n")
		v.expect("..........")
		switch mode {
		case "write":
			if _, err := Write(filepath.Join(t.TempDir(), "s"), v.m, WriteOptions{}); err != nil { t.Fatal(err) }
		case "burn":
			buf := make([]byte, 1<<20)
			end := time.Now().Add(300 * time.Millisecond)
			for time.Now().Before(end) { pageHash(buf) }
		case "pause":
			v.m.Pause()
			time.Sleep(150 * time.Millisecond)
			v.m.Resume()
		case "save":
			v.m.Pause()
			v.m.SaveState()
			time.Sleep(150 * time.Millisecond)
			v.m.Resume()
		case "read":
			v.m.Pause()
			n := 0
			b := v.m.RAM().Bytes()
			for j := 0; j < len(b); j += 4096 { if b[j] != 0 { n++ } }
			time.Sleep(100 * time.Millisecond)
			v.m.Resume()
		}
		out := v.expect("popek# ")
		if !strings.Contains(out, want) { bad++; fmt.Printf("run %d: %q\n", i, tail(out, 300)) }
		v.m.Close()
	}
	fmt.Printf("mode=%v: %d bad of 8\n", mode, bad)
}
