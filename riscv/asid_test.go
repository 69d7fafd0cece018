package riscv

import (
	"slices"
	"testing"
)

// Address-space tagged TLB: satp ASID WARL, switching between cached
// spaces, SFENCE.VMA reaching spaces that are not current, remote fences.

const asidVA = 0x40000000

// asidEnv is an S-mode environment with page tables that map asidVA (and
// the next page) to different RAM pages. satp(i) is the satp value of table
// i with ASID asids[i]; vals[i] is the word at asidVA through table i.
type asidEnv struct {
	*testEnv
	pts  []*pageTable
	sat  []uint64
	vals []uint64
}

func newASIDEnv(t *testing.T, asids ...uint64) *asidEnv {
	e, pt0 := sModeEnv(t)
	a := &asidEnv{testEnv: e}
	next := pt0.next
	for i, asid := range asids {
		pt := pt0
		if i > 0 {
			pt = &pageTable{e: e, levels: 3, next: next}
			pt.root = pt.alloc()
			pt.mapAt(ramBase, ramBase, 1, rwx)
			pt.mapAt(ptArea, ptArea, 1, pteV|pteR|pteW|pteA|pteD)
		}
		page := uint64(ramBase + 0x300000 + 0x2000*i)
		pt.mapAt(asidVA, page, 0, rwx)
		pt.mapAt(asidVA+pageSize, page+pageSize, 0, rwx)
		next = pt.next
		v := uint64(100 * (i + 1))
		e.put64(page, v)
		e.put64(page+pageSize, v+1)
		a.pts = append(a.pts, pt)
		a.sat = append(a.sat, satpSv39<<satpModeShift|asid<<satpASIDShift|pt.root>>pageShift)
		a.vals = append(a.vals, v)
	}
	// Later tables were built on pages the first one's allocator would
	// hand out next: move it past them.
	pt0.next = next
	return a
}

func (a *asidEnv) setSatp(v uint64) {
	a.t.Helper()
	if !a.h.csrWrite(csrSatp, v) {
		a.t.Fatalf("satp write %#x refused", v)
	}
}

func (a *asidEnv) load(va uint64) uint64 {
	a.t.Helper()
	v, ok := a.h.loadData(va, 8)
	if !ok {
		a.t.Fatalf("load %#x faulted: cause %d", va, a.h.exc.cause)
	}
	return v
}

// cached reports whether the space tagged satp holds an S-mode load entry
// for va.
func (a *asidEnv) cached(satp, va uint64) bool {
	for i := range a.h.spaces {
		as := &a.h.spaces[i]
		if as.valid && as.satp == satp {
			return as.sets[ctxS-ctxS].load[(va>>pageShift)&tlbMask].tag == va&^pageMask
		}
	}
	return false
}

func TestSatpASIDWARL(t *testing.T) {
	root := uint64(0x80400)
	cases := []struct {
		name      string
		old, v    uint64
		want      uint64
		wantSpace bool // the current space is tagged with the new value
	}{
		{"all ASID bits writable", 0, satpSv39<<satpModeShift | 0xffff<<satpASIDShift | root, satpSv39<<satpModeShift | 0xffff<<satpASIDShift | root, true},
		{"Linux probe: all ones reads back 16 bits", satpSv39<<satpModeShift | root, ^uint64(0)&^(0xf<<satpModeShift) | satpSv39<<satpModeShift, satpSv39<<satpModeShift | 0xffff<<satpASIDShift | satpPPNMask, true},
		{"Sv48 with ASID", 0, satpSv48<<satpModeShift | 0x1234<<satpASIDShift | root, satpSv48<<satpModeShift | 0x1234<<satpASIDShift | root, true},
		{"unsupported mode keeps satp and space", satpSv39<<satpModeShift | 5<<satpASIDShift | root, 12<<satpModeShift | 7<<satpASIDShift, satpSv39<<satpModeShift | 5<<satpASIDShift | root, true},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.h.csr.satp = c.old
		e.h.flushTLB()
		if !e.h.csrWrite(csrSatp, c.v) {
			t.Fatalf("%s: write refused", c.name)
		}
		got, _ := e.h.csrRead(csrSatp)
		if got != c.want {
			t.Errorf("%s: satp = %#x, want %#x", c.name, got, c.want)
		}
		if (e.h.cur.satp == got) != c.wantSpace {
			t.Errorf("%s: current space tagged %#x, satp %#x", c.name, e.h.cur.satp, got)
		}
	}
}

func TestAddressSpaceSwitchKeepsEntries(t *testing.T) {
	a := newASIDEnv(t, 1, 2)
	for round := 0; round < 3; round++ {
		for i := range a.sat {
			a.setSatp(a.sat[i])
			misses := a.h.stats.TLBMisses
			if v := a.load(asidVA); v != a.vals[i] {
				t.Fatalf("round %d, ASID %d: load %d, want %d", round, i+1, v, a.vals[i])
			}
			// After the first round each space is cached: no walk.
			if hit := a.h.stats.TLBMisses == misses; round > 0 && !hit {
				t.Errorf("round %d, ASID %d: TLB miss after switching back", round, i+1)
			}
		}
	}
}

func TestAddressSpaceSameASIDOtherRoot(t *testing.T) {
	// Two page tables under one ASID: a satp write never reuses the other
	// table's entries, even without a fence.
	a := newASIDEnv(t, 3, 3)
	for i := range a.sat {
		a.setSatp(a.sat[i])
		if v := a.load(asidVA); v != a.vals[i] {
			t.Fatalf("table %d: load %d, want %d", i, v, a.vals[i])
		}
	}
	a.setSatp(a.sat[0])
	if v := a.load(asidVA); v != a.vals[0] {
		t.Fatalf("back to table 0: load %d, want %d", v, a.vals[0])
	}
}

func TestAddressSpaceLRU(t *testing.T) {
	// numAS+1 spaces: entering the last evicts the least recently used.
	asids := make([]uint64, numAS+1)
	for i := range asids {
		asids[i] = uint64(10 + i)
	}
	a := newASIDEnv(t, asids...)
	for i := range a.sat {
		a.setSatp(a.sat[i])
		a.load(asidVA)
		if i == numAS-1 {
			a.setSatp(a.sat[0]) // space 0 becomes the most recent, 1 the LRU
			a.load(asidVA)
		}
	}
	for i, want := range map[int]bool{0: true, 1: false, 2: true, numAS: true} {
		if got := a.cached(a.sat[i], asidVA); got != want {
			t.Errorf("space %d cached = %v, want %v", i, got, want)
		}
	}
	// Whatever was evicted, every space still translates correctly.
	for i := range a.sat {
		a.setSatp(a.sat[i])
		if v := a.load(asidVA); v != a.vals[i] {
			t.Fatalf("space %d: load %d, want %d", i, v, a.vals[i])
		}
	}
}

func TestSfenceReachesOtherSpaces(t *testing.T) {
	// Spaces A (ASID 1) and B (ASID 2) both cached, B current. After the
	// fence, an entry the spec requires gone must be gone; entries of
	// other ASIDs stay (that is the point of the tags).
	const va, va2 = asidVA, asidVA + pageSize
	cases := []struct {
		name           string
		va             uint64
		hasVA          bool
		asid           uint64
		hasASID        bool
		aVA, aVA2, bVA bool // still cached afterwards
	}{
		{"all", 0, false, 0, false, false, false, false},
		{"address, every ASID", va, true, 0, false, false, true, false},
		{"ASID A", 0, false, 1, true, false, false, true},
		{"ASID A, high bits ignored", 0, false, 1<<16 | 1, true, false, false, true},
		{"ASID A and address", va, true, 1, true, false, true, true},
		{"ASID B", 0, false, 2, true, true, true, false},
		{"uncached ASID", 0, false, 9, true, true, true, true},
	}
	for _, c := range cases {
		a := newASIDEnv(t, 1, 2)
		a.setSatp(a.sat[0])
		a.load(va)
		a.load(va2)
		a.setSatp(a.sat[1])
		a.load(va)
		a.h.sfence(c.va, c.hasVA, c.asid, c.hasASID)
		got := [3]bool{a.cached(a.sat[0], va), a.cached(a.sat[0], va2), a.cached(a.sat[1], va)}
		if want := [3]bool{c.aVA, c.aVA2, c.bVA}; got != want {
			t.Errorf("%s: cached (A va, A va2, B va) = %v, want %v", c.name, got, want)
		}
	}
}

func TestSfenceOtherASIDThenSwitch(t *testing.T) {
	// The guest-visible form: while B runs, A's PTE is changed and fenced
	// by ASID; switching back to A must see the new page.
	a := newASIDEnv(t, 1, 2)
	a.setSatp(a.sat[0])
	a.load(asidVA)
	a.setSatp(a.sat[1])
	newPage := uint64(ramBase + 0x3f0000)
	a.put64(newPage, 777)
	a.pts[0].mapAt(asidVA, newPage, 0, rwx)
	a.h.sfence(asidVA, true, 1, true)
	if v := a.load(asidVA); v != a.vals[1] {
		t.Fatalf("B sees %d, want %d", v, a.vals[1])
	}
	a.setSatp(a.sat[0])
	if v := a.load(asidVA); v != 777 {
		t.Fatalf("A sees %d after its fence, want 777", v)
	}
}

func TestSfenceVMAInstructionASID(t *testing.T) {
	// The same through the instruction: sfence.vma x0, a0 with a0 = ASID A
	// executed while B is current.
	a := newASIDEnv(t, 1, 2)
	a.program(cat(w(csrw(csrSatp, a1), ld(a3, s0, 0), csrw(csrSatp, a2), ld(a4, s0, 0),
		sd(a5, s1, 0), sfenceVMA(0, a0), csrw(csrSatp, a1), ld(a3, s0, 0)), haltSeq())...)
	a.h.SetPriv(PrivS)
	newPage := uint64(ramBase + 0x3f0000)
	a.put64(newPage, 777)
	a.h.X[s0], a.h.X[a0], a.h.X[a1], a.h.X[a2] = asidVA, 1, a.sat[0], a.sat[1]
	a.h.X[s1], a.h.X[a5] = a.pts[0].slot(asidVA, 0), newPage>>12<<10|rwx
	a.run(1000)
	if a.h.X[a3] != 777 || a.h.X[a4] != a.vals[1] {
		t.Fatalf("A %d (want 777), B %d (want %d); mcause %d", a.h.X[a3], a.h.X[a4], a.vals[1], a.h.csr.mcause)
	}
}

func TestRemoteFlushEmptiesEverySpace(t *testing.T) {
	// RequestFlushTLB (SBI remote fences, dirty-page collection) must
	// leave no entry in any space, and the next store to each page marks
	// it dirty even when its space is not current.
	a := newASIDEnv(t, 1, 2)
	for i := range a.sat {
		a.setSatp(a.sat[i])
		if a.h.storeData(asidVA, 8, 1) != storeOK {
			t.Fatal("store failed")
		}
	}
	a.ram.TakeDirty()
	a.h.RequestFlushTLB()
	a.h.service()
	for i := range a.h.spaces {
		for j := range a.h.spaces[i].sets {
			s := &a.h.spaces[i].sets[j]
			for _, arr := range []*tlbArray{&s.fetch, &s.load, &s.store} {
				for k := range arr {
					if arr[k].tag != tlbInvalid {
						t.Fatalf("space %d ctx %d: entry %d left", i, j+ctxS, k)
					}
				}
			}
		}
	}
	for i := range a.sat {
		a.setSatp(a.sat[i])
		if a.h.storeData(asidVA, 8, 2) != storeOK {
			t.Fatal("store failed")
		}
	}
	dirty := a.ram.TakeDirty()
	for i := range a.sat {
		page := uint64(0x300000+0x2000*i) >> pageShift
		if !slices.Contains(dirty, page) {
			t.Errorf("page of space %d not dirty after the flush: %v", i, dirty)
		}
	}
}

func TestMPRVUsesCurrentSpace(t *testing.T) {
	// M-mode loads with MPRV (MPP=S) translate through the space of the
	// satp written last, cached or not.
	a := newASIDEnv(t, 1, 2)
	a.h.SetPriv(PrivM)
	a.h.setMstatus(a.h.csr.mstatus | msMPRV | 1<<msMPPShift)
	for round := 0; round < 2; round++ {
		for i := range a.sat {
			a.setSatp(a.sat[i])
			if v := a.load(asidVA); v != a.vals[i] {
				t.Fatalf("round %d space %d: MPRV load %d, want %d", round, i, v, a.vals[i])
			}
		}
	}
	a.h.setMstatus(a.h.csr.mstatus &^ msMPRV)
	if v := a.load(ramBase + 0x300000); v != a.vals[0] {
		t.Fatalf("physical load %d, want %d", v, a.vals[0])
	}
}

func TestRestoreStartsWithEmptyTLB(t *testing.T) {
	a := newASIDEnv(t, 1, 2)
	for i := range a.sat {
		a.setSatp(a.sat[i])
		a.load(asidVA)
	}
	if err := a.h.SetState(a.h.State()); err != nil {
		t.Fatal(err)
	}
	for i := range a.sat {
		if a.cached(a.sat[i], asidVA) {
			t.Errorf("space %d still cached after SetState", i)
		}
	}
	if a.h.cur.satp != a.sat[1] {
		t.Errorf("current space tagged %#x, satp %#x", a.h.cur.satp, a.sat[1])
	}
	if v := a.load(asidVA); v != a.vals[1] {
		t.Fatalf("load after restore %d, want %d", v, a.vals[1])
	}
}

func TestTLBSetClearUsesFillLog(t *testing.T) {
	// Whatever the number of fills (logged or past the log), clear leaves
	// no valid slot; a zeroed set that forgot its contents is swept.
	for _, n := range []int{0, 1, tlbLogSize - 1, tlbLogSize, tlbLogSize + 1, 3 * tlbSize} {
		s := new(tlbSet)
		s.forget()
		s.clear()
		for i := 0; i < n; i++ {
			idx := uint64(i*7) & tlbMask
			s.put(i%3, idx, tlbEntry{tag: idx << pageShift, add: 1})
		}
		s.clear()
		for kind := kindFetch; kind <= kindStore; kind++ {
			for i, e := range s.array(kind) {
				if e.tag != tlbInvalid {
					t.Fatalf("%d fills: kind %d slot %d left valid", n, kind, i)
				}
			}
		}
	}
}
