//go:build noembed

// Stand-ins for embedded.go in a build without the embedded Temporal
// server and the private Postgres (-tags noembed, as the production image
// is built): dev and bench run against DATABASE_URL and TEMPORAL_ADDRESS
// only, and say so when either is missing.

package main

import (
	"context"
	"errors"
	"log/slog"
)

// errNoEmbed says what this build lacks and what to do instead.
var errNoEmbed = errors.New("this build has no embedded Temporal server or Postgres (built with -tags noembed): " +
	"set DATABASE_URL and TEMPORAL_ADDRESS, or use the full build")

func devInfra(context.Context, Config, string, *slog.Logger) (string, string, func(), error) {
	return "", "", nil, errNoEmbed
}

func benchThrowaway(context.Context, Config, *slog.Logger) (string, string, func(), error) {
	return "", "", nil, errNoEmbed
}

// temporalUI stands in for the Temporal Web UI, which this build lacks.
type temporalUI struct{ URL string }

func startTemporalUI(int, string, string, string, *slog.Logger) (*temporalUI, error) {
	return nil, errors.New("this build has no Temporal UI (built with -tags noembed)")
}

func (*temporalUI) Stop() {}
