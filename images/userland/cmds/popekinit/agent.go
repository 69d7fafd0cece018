package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The identity agent. A VM cloned from a snapshot gets a new MAC, but
// Linux's virtio_net reads the MAC only when it probes the device, so
// popek flaps the clone's link (down, then up once the driver saw it
// down). The agent waits for that on an rtnetlink socket, and for a
// virtio-net interface whose carrier went down and came back it:
//
//  1. reseeds the CRNG from /dev/hwrng, so clones' random numbers diverge;
//  2. saves the interface's admin state, IPv4 addresses and routes;
//  3. unbinds and binds virtio_net, so the driver reads the new MAC;
//  4. restores the saved state on the new interface, under the old name.
//
// A plain link flap (a cable pulled on the host) takes the same path; with
// an unchanged MAC that costs a moment of connectivity and nothing else.

const agentPrefix = "popek-agent: "

type agent struct {
	sys     sysfs
	tracker *linkTracker
	rt      *nlConn // requests and dumps
	log     func(string)
}

// runAgent watches links until its netlink socket fails; init goes on
// without it then.
func runAgent() {
	log := consoleLogger()
	if err := watchLinks(log); err != nil {
		log(fmt.Sprintf("stopped: %v", err))
	}
}

func watchLinks(log func(string)) error {
	// Subscribe before the first dump, so no change falls in between.
	mon, err := openNetlink(unix.RTMGRP_LINK)
	if err != nil {
		return err
	}
	defer mon.Close()
	rt, err := openNetlink(0)
	if err != nil {
		return err
	}
	defer rt.Close()
	a := &agent{sys: sysfs{root: "/sys"}, tracker: newLinkTracker(), rt: rt, log: log}
	if err := a.resync(); err != nil {
		return err
	}
	for {
		msgs, err := mon.receive()
		switch {
		case errors.Is(err, unix.ENOBUFS):
			// Events were lost; the carrier counters were not.
			if err := a.resync(); err != nil {
				return err
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("netlink receive: %w", err)
		}
		for _, m := range msgs {
			a.handle(m)
		}
	}
}

// resync runs every link in a fresh dump through the tracker.
func (a *agent) resync() error {
	msgs, err := a.rt.dump(unix.RTM_GETLINK, ifInfo(0, 0, 0))
	if err != nil {
		return fmt.Errorf("link dump: %w", err)
	}
	for _, m := range msgs {
		a.handle(m)
	}
	return nil
}

func (a *agent) handle(m syscall.NetlinkMessage) {
	if m.Header.Type != unix.RTM_NEWLINK && m.Header.Type != unix.RTM_DELLINK {
		return
	}
	l, err := parseLink(m)
	if err != nil {
		a.log(err.Error())
		return
	}
	if m.Header.Type == unix.RTM_DELLINK {
		a.tracker.forget(l.index)
		return
	}
	if !a.tracker.observe(l) {
		return
	}
	dev, err := a.sys.virtioDevice(l.name)
	if err != nil {
		a.log(fmt.Sprintf("%s: %v", l.name, err))
		return
	}
	if dev == "" {
		return
	}
	line, err := a.renew(l, dev)
	if err != nil {
		a.log(fmt.Sprintf("%s: %v", l.name, err))
		return
	}
	a.log(line)
}

// renew gives interface l, on virtio device dev, its new identity and
// returns the line to log.
func (a *agent) renew(l linkInfo, dev string) (string, error) {
	entropy, err := reseedFromHWRNG()
	if err != nil {
		entropy = "CRNG not reseeded: " + err.Error()
	}
	st, err := a.save(l)
	if err != nil {
		return "", fmt.Errorf("save state: %w", err)
	}
	oldMAC, _ := a.sys.mac(l.name)
	if err := a.sys.rebind(dev); err != nil {
		return "", err
	}
	name, err := a.sys.netdev(dev)
	if err != nil {
		return "", err
	}
	nl, err := a.link(name)
	if err != nil {
		return "", err
	}
	if name != l.name {
		// The interface is new and down, so it may be renamed; if another
		// took the old name meanwhile it keeps the new one.
		if err := a.rt.do(newMsg(unix.RTM_NEWLINK, 0, ifInfo(nl.index, 0, 0)).attr(unix.IFLA_IFNAME, append([]byte(l.name), 0))); err == nil {
			name = l.name
		}
	}
	a.tracker.reset(nl)
	// Put back as much as the kernel takes; one refused route must not
	// cost the others.
	var failed []error
	for _, m := range restorePlan(st, nl.index, name) {
		if err := a.rt.do(m); err != nil {
			failed = append(failed, err)
		}
	}
	mac, err := a.sys.mac(name)
	if err != nil {
		return "", err
	}
	what := "new identity " + mac
	if mac == oldMAC {
		what = "link flapped, MAC " + mac + " unchanged"
	}
	restored := "restored " + st.summary()
	if failed != nil {
		restored = fmt.Sprintf("restoring %s: %d requests failed, first: %v", st.summary(), len(failed), failed[0])
	}
	return fmt.Sprintf("%s: %s (driver rebound; %s; %s)", name, what, restored, entropy), nil
}

// save reads what the rebind will destroy.
func (a *agent) save(l linkInfo) (ifaceState, error) {
	st := ifaceState{name: l.name, up: l.up()}
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0] = unix.AF_INET
	msgs, err := a.rt.dump(unix.RTM_GETADDR, body)
	if err != nil {
		return st, fmt.Errorf("address dump: %w", err)
	}
	if st.addrs, err = parseAddrs(msgs, l.index); err != nil {
		return st, err
	}
	body = make([]byte, unix.SizeofRtMsg)
	body[0] = unix.AF_INET
	if msgs, err = a.rt.dump(unix.RTM_GETROUTE, body); err != nil {
		return st, fmt.Errorf("route dump: %w", err)
	}
	st.routes, err = parseRoutes(msgs, l.index)
	return st, err
}

// link looks an interface up by name.
func (a *agent) link(name string) (linkInfo, error) {
	msgs, err := a.rt.exchange(newMsg(unix.RTM_GETLINK, 0, ifInfo(0, 0, 0)).attr(unix.IFLA_IFNAME, append([]byte(name), 0)))
	if err != nil {
		return linkInfo{}, fmt.Errorf("get link %s: %w", name, err)
	}
	if len(msgs) != 1 {
		return linkInfo{}, fmt.Errorf("get link %s: %d answers", name, len(msgs))
	}
	return parseLink(msgs[0])
}

// consoleLogger writes lines to the kernel log, which reaches the console
// and dmesg, or to stdout (the console) when /dev/kmsg cannot be opened.
func consoleLogger() func(string) {
	kmsg, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return func(s string) { fmt.Println(agentPrefix + s) }
	}
	return func(s string) { fmt.Fprintf(kmsg, "<6>%s%s\n", agentPrefix, s) }
}
