package virtio

import (
	"encoding/json"
	"fmt"
)

// Device models keep their typed state structs; inside MMIOState they travel
// as JSON so the transport needs no knowledge of them.

func encodeState(v any) ([]byte, error) { return json.Marshal(v) }

func decodeState(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode device state: %w", err)
	}
	return nil
}

// readConfigBytes copies config space cfg at off into p, zero past its end.
func readConfigBytes(cfg []byte, off uint64, p []byte) {
	clear(p)
	if off < uint64(len(cfg)) {
		copy(p, cfg[off:])
	}
}
