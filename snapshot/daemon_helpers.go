package snapshot

import "os"

// CopyFile copies src to the new file dst (which must not exist) as
// snapshots copy disks: a reflink where the filesystem shares extents,
// else a copy of the data extents that keeps holes. The daemon uses it to
// put a snapshot's frozen disk back into a VM's own drive file on revert,
// and to give a template's clone its own copy of a frozen overlay.
func CopyFile(src, dst string, perm os.FileMode) error {
	return copySparse(src, dst, perm)
}
