package board

// Exited reports whether the machine's run is over or ending (the guest
// powered off, rebooted or failed, or the machine was closed). Live
// migration checks it once the machine is paused, so that a guest that
// stopped meanwhile is not continued elsewhere.
func (m *Machine) Exited() bool { return m.stopping() }
