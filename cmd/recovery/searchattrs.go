package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/workflows"
)

// registerSearchAttributes adds the project's search attributes to the
// namespace; those already there are left alone.
func registerSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	names, err := searchAttributesRegistered(ctx, c, namespace)
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		missing[name] = workflows.SearchAttributes[name]
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	// Usable once the namespace lists them.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left, err := searchAttributesRegistered(ctx, c, namespace)
		if err == nil && len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("search attributes %v not usable after 30s: %v", left, err)
		}
	}
}

// searchAttributesRegistered reports whether the namespace has every one
// of the project's search attributes (the worker then lets incidents
// publish their stage; without them an upsert would fail the workflow).
func searchAttributesRegistered(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, err
	}
	var missing []string
	for name := range workflows.SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	return missing, nil
}

// detectSearchAttributes tells the activities whether incidents may
// publish their stage, and says once what to do when they may not.
func (s *stack) detectSearchAttributes(ctx context.Context, namespace string) {
	if s.acts == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	missing, err := searchAttributesRegistered(cctx, s.temporal, namespace)
	switch {
	case err != nil:
		s.log.Warn("could not list the namespace's search attributes; incidents will not publish their stage", "err", err)
	case len(missing) > 0:
		s.log.Warn("search attributes not registered; incidents will not publish their stage: run `recovery search-attributes`",
			"missing", strings.Join(missing, ","))
	default:
		s.acts.Detection.SearchAttributes = true
	}
}

// runSearchAttributes implements `recovery search-attributes`: register
// the project's search attributes on the configured cluster.
func runSearchAttributes(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	if cfg.TemporalAddress == "" {
		return errors.New("TEMPORAL_ADDRESS must be set (dev registers them itself)")
	}
	c, err := client.Dial(temporalOptions(cfg.Temporal, cfg.TemporalAddress, cfg.Namespace, nil, log))
	if err != nil {
		return fmt.Errorf("connect to temporal: %w", err)
	}
	defer c.Close()
	if err := registerSearchAttributes(ctx, c, cfg.Namespace); err != nil {
		return err
	}
	names := make([]string, 0, len(workflows.SearchAttributes))
	for name := range workflows.SearchAttributes {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(stdout, "search attributes registered in %s: %s (Keyword)\n", cfg.Namespace, strings.Join(names, ", "))
	return nil
}

// devSearchAttributes registers the search attributes on dev's embedded
// server.
func devSearchAttributes(ctx context.Context, addr, namespace string, log *slog.Logger) error {
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: namespace, Logger: quietTemporalLogger(log)})
	if err != nil {
		return fmt.Errorf("connect to the embedded temporal: %w", err)
	}
	defer c.Close()
	if err := registerSearchAttributes(ctx, c, namespace); err != nil {
		return fmt.Errorf("register search attributes: %w", err)
	}
	return nil
}
