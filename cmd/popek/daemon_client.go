package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/popek-vm/popek/api"
	"github.com/spf13/cobra"
)

// clientOptions pick the daemon a client command talks to.
type clientOptions struct {
	socket, connect, tokenFile string
}

func (o *clientOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.socket, "socket", "", "daemon's Unix socket (default $POPEK_SOCKET, $XDG_RUNTIME_DIR/popek.sock or the default state directory's popek.sock)")
	f.StringVar(&o.connect, "connect", "", "talk to a daemon over TCP at HOST:PORT instead (needs --token-file)")
	f.StringVar(&o.tokenFile, "token-file", "", "bearer token file for --connect")
}

func (o *clientOptions) client() (*api.Client, error) {
	if o.connect != "" {
		if o.tokenFile == "" {
			return nil, errors.New("--connect needs --token-file")
		}
		tok, err := readToken(o.tokenFile)
		if err != nil {
			return nil, err
		}
		return api.NewTCPClient(o.connect, tok), nil
	}
	socket := o.socket
	if socket == "" {
		socket = api.DefaultSocket()
	}
	return api.NewUnixClient(socket), nil
}

// run makes a command body that talks to the daemon: it connects first
// and turns the body's errors into one clear line.
func (o *clientOptions) run(body func(ctx context.Context, c *api.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := o.client()
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		err = body(cmd.Context(), c, args)
		var ee *exitError
		if err == nil || errors.As(err, &ee) {
			return err
		}
		return clientError(err)
	}
}

// clientError makes an API or connection error one clear line.
func clientError(err error) error {
	if err == nil {
		return nil
	}
	var ae *api.APIError
	if errors.As(err, &ae) {
		return &exitError{code: 1, err: errors.New(ae.Message)}
	}
	if errors.Is(err, api.ErrNoDaemon) {
		return &exitError{code: 1, err: err}
	}
	return &exitError{code: 1, err: fmt.Errorf("talking to the daemon: %v", err)}
}
