package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// runEvents implements `recovery events push FILE...`, `events demo`,
// `events dead` and `events retry SEQ...|--dead`.
func runEvents(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("events needs push, demo, dead or retry: %w", errUsage)
	}
	c := &apiClient{base: strings.TrimRight(cfg.URL, "/"), key: cfg.ClientKey,
		http: &http.Client{Timeout: 30 * time.Second}}
	if args[0] == "dead" || args[0] == "retry" { // ops' business: an admin key
		c.key = cfg.OpsKey
	}
	switch args[0] {
	case "push":
		if len(args) < 2 {
			return fmt.Errorf("events push needs at least one file: %w", errUsage)
		}
		return pushFiles(ctx, c, args[1:], stdout)
	case "demo":
		return runDemo(ctx, c, stdout)
	case "dead":
		return listDead(ctx, c, stdout)
	case "retry":
		return retryDead(ctx, c, args[1:], stdout)
	}
	return fmt.Errorf("unknown events command %q: %w", args[0], errUsage)
}

// apiClient talks to a running stack's HTTP API.
type apiClient struct {
	base, key string
	http      *http.Client
}

// pushResult is the 202 answer of POST /v1/events.
type pushResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// postEvents sends one batch and returns the parsed answer, or an error that
// carries the problem document's text.
func (c *apiClient) postEvents(ctx context.Context, events []json.RawMessage) (pushResult, error) {
	body, _ := json.Marshal(map[string]any{"events": events})
	var res pushResult
	err := c.do(ctx, http.MethodPost, "/v1/events", body, &res)
	return res, err
}

func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `recovery dev` running? RECOVERY_URL=%s)", method, path, err, c.base)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s\n%s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// pushFiles reads each file (one event, {"events":[...]}, a JSON array or
// NDJSON) and sends its events in batches of at most 1000.
func pushFiles(ctx context.Context, c *apiClient, files []string, stdout io.Writer) error {
	var total pushResult
	for _, f := range files {
		evs, err := readEventsFile(f)
		if err != nil {
			return err
		}
		for start := 0; start < len(evs); start += 1000 {
			batch := evs[start:min(start+1000, len(evs))]
			res, err := c.postEvents(ctx, batch)
			if err != nil {
				return fmt.Errorf("%s: events %d..%d: %w", f, start, start+len(batch)-1, err)
			}
			total.Accepted += res.Accepted
			total.Duplicates += res.Duplicates
		}
		fmt.Fprintf(stdout, "%s: %d event(s) sent\n", f, len(evs))
	}
	fmt.Fprintf(stdout, "accepted %d, duplicates %d\n", total.Accepted, total.Duplicates)
	return nil
}

// readEventsFile returns the raw events of a JSON or NDJSON file.
func readEventsFile(path string) ([]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: no events", path)
	}
	if trimmed[0] == '[' {
		var evs []json.RawMessage
		if err := json.Unmarshal(trimmed, &evs); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return evs, nil
	}
	var wrapped struct {
		Events []json.RawMessage `json:"events"`
	}
	if json.Unmarshal(trimmed, &wrapped) == nil && wrapped.Events != nil {
		return wrapped.Events, nil
	}
	var evs []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(trimmed))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		if !json.Valid(l) {
			return nil, fmt.Errorf("%s:%d: not a JSON object (files are JSON or NDJSON)", path, line)
		}
		evs = append(evs, json.RawMessage(append([]byte(nil), l...)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(evs) == 0 {
		return nil, errors.New(path + ": no events")
	}
	return evs, nil
}

// listDead prints the events the relay quarantined, a line each.
func listDead(ctx context.Context, c *apiClient, stdout io.Writer) error {
	after, total := int64(0), 0
	for {
		var page struct {
			Events    []recovery.DeadEvent `json:"events"`
			NextAfter int64                `json:"next_after"`
		}
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/events?status=dead&limit=1000&after=%d", after), nil, &page); err != nil {
			return err
		}
		for _, e := range page.Events {
			fmt.Fprintf(stdout, "%d\t%s\t%s/%s\torder %q\t%s after %d attempt(s): %s\n", e.Seq, e.DeadAt.UTC().Format(time.RFC3339),
				e.Source, e.ID, e.OrderID, e.ErrorKind, e.Attempts, e.Note)
		}
		total += len(page.Events)
		if page.NextAfter == 0 {
			break
		}
		after = page.NextAfter
	}
	fmt.Fprintf(stdout, "%d quarantined event(s); `recovery events retry SEQ...` or `--dead` requeues them\n", total)
	return nil
}

// retryDead requeues quarantined events: the seqs given, or all with --dead.
func retryDead(ctx context.Context, c *apiClient, args []string, stdout io.Writer) error {
	body := map[string]any{}
	switch {
	case len(args) == 1 && args[0] == "--dead":
		body["all_dead"] = true
	case len(args) > 0:
		var seqs []int64
		for _, a := range args {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("events retry: %q is not an event's seq (see `recovery events dead`): %w", a, errUsage)
			}
			seqs = append(seqs, n)
		}
		body["seqs"] = seqs
	default:
		return fmt.Errorf("events retry needs SEQ... or --dead: %w", errUsage)
	}
	raw, _ := json.Marshal(body)
	var res struct {
		Requeued int64 `json:"requeued"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/events/requeue", raw, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "requeued %d event(s)\n", res.Requeued)
	return nil
}
