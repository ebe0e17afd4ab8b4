//go:build !noembed

package main

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// temporalUI is the Temporal Web UI that dev serves, as the temporal
// CLI's dev server does: on loopback, against dev's Temporal, with dev's
// codec endpoint, so that the encrypted payloads are readable there.
type temporalUI struct {
	srv *uiserver.Server
	URL string
}

// startTemporalUI serves the UI on 127.0.0.1:port. A port already taken
// is not fatal: dev runs without the UI and says why.
func startTemporalUI(port int, temporalAddr, namespace, codecEndpoint string, log *slog.Logger) (*temporalUI, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// The UI server exits the process when it cannot listen: make sure it
	// can first.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the Temporal UI's port %d is taken (set RECOVERY_TEMPORAL_UI_PORT to another, or off): %w", port, err)
	}
	ln.Close() //nolint:errcheck
	cfg := &uiconfig.Config{
		Host: "127.0.0.1", Port: port, TemporalGRPCAddress: temporalAddr, EnableUI: true,
		DefaultNamespace: namespace, HideLogs: true, DisableNewsFetch: true,
		CORS:  uiconfig.CORS{CookieInsecure: true}, // plain HTTP on loopback
		Codec: uiconfig.Codec{Endpoint: codecEndpoint},
	}
	srv := uiserver.NewServer(server_options.WithConfigProvider(cfg))
	go func() {
		if err := srv.Start(); err != nil {
			log.Warn("the Temporal UI stopped", "err", err)
		}
	}()
	return &temporalUI{srv: srv, URL: "http://" + addr}, nil
}

// Stop stops the UI.
func (u *temporalUI) Stop() {
	if u != nil {
		u.srv.Stop()
	}
}
