package vmm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a byte count written in a config document as a number or a
// string with an optional binary suffix: 512K, 256M, 2G, 1T ("MiB" and
// "MB" spellings too). It keeps the text it was written as, so that a
// stored document reads back the way the user wrote it.
type Size string

// parseSize parses s; bareShift is the unit of a number without suffix
// (20 for MiB, as QEMU's -m; 0 for bytes).
func parseSize(s string, bareShift int) (uint64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if u, ok := strings.CutSuffix(t, "IB"); ok {
		t = u
	} else if u, ok := strings.CutSuffix(t, "B"); ok {
		t = u
	}
	shift := bareShift
	if t != "" {
		if i := strings.IndexByte("KMGT", t[len(t)-1]); i >= 0 {
			shift = 10 * (i + 1)
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(t), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: want a number with an optional K, M, G or T suffix, e.g. 256M", s)
	}
	if n > (1<<50)>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n << shift, nil
}

// formatSize renders n with the largest binary suffix that divides it.
func formatSize(n uint64) string {
	for _, u := range []struct {
		shift  uint
		suffix string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatUint(n, 10)
}

// UnmarshalJSON accepts a JSON number or string.
func (s *Size) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = Size(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a size such as 256M, got %s", b)
	}
	*s = Size(n.String())
	return nil
}

// UnmarshalYAML accepts any scalar (256, 256M, "1G").
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size such as 256M", n.Line)
	}
	*s = Size(n.Value)
	return nil
}
