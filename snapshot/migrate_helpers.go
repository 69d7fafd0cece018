package snapshot

// BaseIdentity returns a disk image's size and the SHA-256 of its first
// MiB, the identity snapshots record for external base images. Live
// migration uses it so the target checks a base exactly as a restore would.
func BaseIdentity(path string) (size int64, identity string, err error) {
	return identify(path)
}
