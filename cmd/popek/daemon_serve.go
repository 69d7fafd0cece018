package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/popek-vm/popek/api"
	"github.com/popek-vm/popek/vmm"
	"github.com/popek-vm/popek/vswitch"
	"github.com/spf13/cobra"
)

// serveOptions are popek serve's flags.
type serveOptions struct {
	stateDir, socket  string
	listen, tokenFile string
	cpus              float64
	logFormat         string
}

func newServeCommand(stderr io.Writer) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hypervisor daemon: many VMs, managed over an API",
		Long: `Run the popek daemon. It hosts many VMs at once and serves the REST API
(see /openapi.json) on a Unix socket, and optionally on TCP with a bearer
token. VM definitions persist in the state directory and come back, stopped
(or started if autostart is set), when the daemon restarts. SIGINT or
SIGTERM stops every VM and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), &o, cmd.Flags().Changed("socket"), stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stateDir, "state-dir", api.DefaultStateDir(), "directory holding the VM definitions")
	f.StringVar(&o.socket, "socket", "", "Unix socket to serve the API on (default $POPEK_SOCKET, $XDG_RUNTIME_DIR/popek.sock or STATE-DIR/popek.sock)")
	f.StringVar(&o.listen, "listen", "", "also serve the API on this TCP address, e.g. 127.0.0.1:8420 (needs --token-file)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token TCP clients must send")
	f.Float64Var(&o.cpus, "cpus", 0, "host cores the VMs share for cpu_weight (default: all)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	return cmd
}

// serveSocket picks the socket: the flag, then the environment, then the
// state directory.
func serveSocket(o *serveOptions, flagSet bool) string {
	if flagSet && o.socket != "" {
		return o.socket
	}
	if s := os.Getenv("POPEK_SOCKET"); s != "" {
		return s
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "popek.sock")
	}
	return filepath.Join(o.stateDir, "popek.sock")
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("--token-file %s: the token must be at least 16 characters", path)
	}
	return tok, nil
}

func serve(ctx context.Context, o *serveOptions, socketFlag bool, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	switch o.logFormat {
	case "text":
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	log := slog.New(handler)
	var token string
	if o.listen != "" {
		if o.tokenFile == "" {
			return errors.New("--listen needs --token-file: the TCP API requires a bearer token")
		}
		var err error
		if token, err = readToken(o.tokenFile); err != nil {
			return err
		}
	}
	if o.cpus < 0 {
		return fmt.Errorf("--cpus %v: want a positive number of cores", o.cpus)
	}
	socket := serveSocket(o, socketFlag)
	unixL, err := api.ListenUnix(socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	var tcpL net.Listener
	if o.listen != "" {
		if tcpL, err = net.Listen("tcp", o.listen); err != nil {
			unixL.Close()
			return fmt.Errorf("--listen: %v", err)
		}
	}

	mgr, err := vmm.Open(vmm.Options{StateDir: o.stateDir, Logger: log, CPUCapacity: o.cpus, Backends: vmm.NewBackends(vswitch.NewRegistry(vswitch.Options{HostDir: vswitch.DefaultHostDir()}))})
	if err != nil {
		unixL.Close()
		if tcpL != nil {
			tcpL.Close()
		}
		return err
	}
	srv := api.NewServer(mgr, log)

	// Streaming handlers (console, events) end when base is cancelled.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
	}
	unixSrv := newServer(srv)
	servers := []*http.Server{unixSrv}
	errc := make(chan error, 2)
	go func() { errc <- unixSrv.Serve(unixL) }()
	log.Info("popek daemon listening", "socket", socket, "state_dir", o.stateDir, "cpus", mgr.Scheduler().Capacity())
	if tcpL != nil {
		tcpSrv := newServer(api.WithToken(srv, token))
		servers = append(servers, tcpSrv)
		go func() { errc <- tcpSrv.Serve(tcpL) }()
		log.Info("popek daemon listening on TCP", "addr", tcpL.Addr().String())
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	var serveErr error
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("API server failed", "err", serveErr)
	}
	cancelBase()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdownCtx)
	}
	mgr.Close()
	log.Info("popek daemon stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
