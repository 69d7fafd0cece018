package vmm

import (
	"errors"
	"net"
	"os"
)

// Live migration moves a running VM to another Manager (another daemon,
// usually on another host) with a short pause. The source streams the VM's
// config, then pre-copies guest memory while the guest runs: round 1 sends
// every non-zero page, later rounds the pages dirtied since the previous
// one (collected with RAM.TakeDirty and a TLB flush on every hart), until
// the dirty set is small, stops shrinking, or migMaxRounds is reached. It
// then pauses the guest, sends the last dirty pages, the machine state and
// the writable disks, and waits until the target says the VM runs there;
// only then does the source stop the VM and delete its definition. Any
// failure before that resumes the source's guest as if nothing happened,
// and the target discards what it received. The wire format is in
// migrate_wire.go.

// EventMigrated is a VM that left for another daemon (on the source,
// followed by "deleted") or arrived from one (on the target, running or
// paused).
const EventMigrated = "migrated"

// Pre-copy ends once a round's dirty set is at most migSmallDirty pages,
// is no smaller than the previous round's, or migMaxRounds rounds ran.
const (
	migMaxRounds  = 8
	migSmallDirty = 256
	// migMaxState bounds the encoded machine state the target accepts.
	migMaxState = 64 << 20
	// migMaxDisk bounds one streamed disk file.
	migMaxDisk = 1 << 44
)

// MigrateOptions tune an outgoing migration.
type MigrateOptions struct {
	// Target names the destination in events, logs and the result.
	Target string
	// Compress sends memory pages zstd-compressed.
	Compress bool
}

// MigrationRound is one pre-copy round.
type MigrationRound struct {
	Round   int     `json:"round"`
	Pages   uint64  `json:"pages"` // pages sent (round 1: non-zero pages; later: dirtied pages)
	Bytes   uint64  `json:"bytes"` // stream bytes of the round
	Seconds float64 `json:"seconds"`
}

// MigrationResult reports a migration (POST /v1/vms/{name}/migrate).
type MigrationResult struct {
	VM     string `json:"vm"`
	Target string `json:"target,omitempty"`
	// State is the VM's state on the target: running, or paused if it was
	// paused here.
	State State `json:"state"`
	// Rounds are the pre-copy rounds, while the guest ran (none for a
	// paused VM).
	Rounds        []MigrationRound `json:"rounds"`
	PrecopyRounds int              `json:"precopy_rounds"`
	// FinalPages are the pages sent while the guest was paused.
	FinalPages uint64 `json:"final_pages"`
	PagesSent  uint64 `json:"pages_sent"`
	StateBytes uint64 `json:"state_bytes"`
	DiskBytes  uint64 `json:"disk_bytes"` // disk data sent (holes and zero ranges skipped)
	BytesSent  uint64 `json:"bytes_sent"` // the whole stream
	Compressed bool   `json:"compressed"`
	// DowntimeSeconds is from the guest's pause here to the target's
	// confirmation that it runs there; TotalSeconds the whole migration.
	DowntimeSeconds float64 `json:"downtime_seconds"`
	TotalSeconds    float64 `json:"total_seconds"`
	// RestoreSeconds is the target's part of the downtime: building the
	// machine from what it received.
	RestoreSeconds float64 `json:"restore_seconds"`
}

// migHello opens a migration: what the target must build.
type migHello struct {
	Name    string  `json:"name"`
	Config  *Config `json:"config"`
	Harts   int     `json:"harts"`
	MemSize uint64  `json:"mem_size"`
	// StateVersion is the board.MachineStateVersion the state will have.
	StateVersion int `json:"state_version"`
	// Paused: the VM is paused on the source and stays paused.
	Paused bool `json:"paused"`
	// Slots are the virtio device types, in slot order.
	Slots  []uint32   `json:"slots"`
	MACs   []string   `json:"macs,omitempty"` // per NIC, as the guest knows it
	CID    uint64     `json:"cid,omitempty"`
	Drives []migDrive `json:"drives,omitempty"`
	// VsockDerived: the vsock socket is the one the source daemon made
	// for the VM in its state directory; the target makes its own.
	VsockDerived bool `json:"vsock_derived,omitempty"`
}

// Drive modes: how a drive moves.
const (
	driveImage    = "image"    // a writable raw image, streamed
	driveOverlay  = "overlay"  // a writable overlay, streamed; its base must be on the target
	driveReadOnly = "readonly" // nothing is sent; the files must be on the target
)

// migDrive is one drive of the VM.
type migDrive struct {
	Mode string `json:"mode"`
	// Size is the streamed file's size (image or overlay).
	Size int64 `json:"size,omitempty"`
	// Base identifies the file that must already be on the target, as
	// snapshots identify bases: size and SHA-256 of the first MiB.
	Base         string `json:"base,omitempty"`
	BaseSize     int64  `json:"base_size,omitempty"`
	BaseIdentity string `json:"base_identity,omitempty"`
}

type migAccept struct {
	Version int `json:"version"`
}

// migErrorBody is an error frame; Kind is the vmm error kind, so a
// refusal by the target keeps its meaning (409 for a duplicate name).
type migErrorBody struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

type migRoundEnd struct {
	Round int    `json:"round"`
	Pages uint64 `json:"pages"`
}

// migDone closes the stream with totals the target checks.
type migDone struct {
	Pages      uint64 `json:"pages"`
	ZeroPages  uint64 `json:"zero_pages"`
	StateBytes uint64 `json:"state_bytes"`
	DiskBytes  uint64 `json:"disk_bytes"`
}

type migRunning struct {
	State          State   `json:"state"`
	RestoreSeconds float64 `json:"restore_seconds"`
}

// remoteError is an error frame received from the other side.
type remoteError struct{ body migErrorBody }

func (e *remoteError) Error() string { return e.body.Message }

// migrationError turns an error of the migration into the vmm error the API
// reports: the other side's refusal keeps its kind.
func migrationError(name string, err error) error {
	var re *remoteError
	if errors.As(err, &re) {
		k := re.body.Kind
		if k != KindConflict && k != KindInvalid {
			k = KindInternal
		}
		return errorf(k, "migrating VM %q: the target refused: %s", name, re.body.Message)
	}
	var ve *Error
	if errors.As(err, &ve) {
		return err
	}
	return errorf(KindInternal, "migrating VM %q: %v", name, err)
}

// errorBody is what an error frame says about err.
func errorBody(err error) migErrorBody {
	return migErrorBody{Kind: KindOf(err), Message: err.Error()}
}

// isClosedConn reports errors that only say the connection went away.
func isClosedConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

func pagesOf(size uint64) uint64 { return size / pageBytes }

func fmtTarget(o MigrateOptions) string {
	if o.Target == "" {
		return "another daemon"
	}
	return o.Target
}
