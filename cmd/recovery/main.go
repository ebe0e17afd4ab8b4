// Command recovery is the one binary of the service-recovery engine:
//
//	recovery dev                 whole stack with embedded Postgres and Temporal
//	recovery serve               API and relay against DATABASE_URL and TEMPORAL_ADDRESS
//	recovery worker              Temporal worker against the same
//	recovery migrate             apply database migrations and exit
//	recovery events push FILE... push JSON or NDJSON events to a running stack
//	recovery events demo         push a scripted misroute story and show the incident
//	recovery events dead         list the events the relay quarantined
//	recovery events retry SEQ... requeue quarantined events (--dead: all of them)
//	recovery bench               measure ingest and relay against raw baselines
//	recovery bench soak          run serve and worker under steady load and sample what must stay flat
//	recovery codec-server        serve the Temporal codec server protocol (decrypt payloads for the UI)
//	recovery templates check     render every message template, report problems by file and line
//	recovery templates preview   print one message rendered with sample data
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // contact windows need zones on machines without them
)

const usage = `recovery: proactive mistake disclosure and service recovery

Usage:
  recovery dev                  run everything locally (private Postgres, embedded Temporal)
  recovery serve                run the HTTP API and the relay (needs DATABASE_URL, TEMPORAL_ADDRESS)
  recovery worker               run the Temporal worker (needs DATABASE_URL, TEMPORAL_ADDRESS)
  recovery api                  run the HTTP API alone (events are kept until a relay sends them)
  recovery relay                run the relay alone (with RECOVERY_ADDR set: its /healthz and /readyz there)
  recovery migrate              apply database migrations (needs DATABASE_URL)
  recovery search-attributes   register the incidents' search attributes in TEMPORAL_NAMESPACE (dev does it itself)
  recovery events push FILE...  push canonical events (JSON or NDJSON) to RECOVERY_URL
  recovery events demo          push a scripted misroute story and print the incident
  recovery events dead          list the events the relay quarantined (never deliverable), with why
  recovery events retry SEQ...  requeue quarantined events; --dead requeues all of them
  recovery bench [flags]        measure ingest and relay throughput against raw baselines
  recovery bench soak [flags]   run serve and worker under steady load; sample memory, goroutines, open workflows (docs/benchmarks.md)
  recovery codec-server [--dev] decrypt payloads for the Temporal UI on RECOVERY_CODEC_ADDR (docs/codec.md)
  recovery healthcheck [URL]    exit 0 when URL (default http://127.0.0.1:8080/readyz, RECOVERY_ADDR's port) answers 2xx within 3s
  recovery policy check FILE    check a remedy policy: structure, every CEL condition, each value
  recovery policy show          print the built-in policy
  recovery policy dry-run FILE  replay a policy over stored incidents (needs DATABASE_URL)
  recovery users add NAME --role viewer|approver|admin [--limit 100:EUR]...
                                add or change an ops console account (password on stdin; needs DATABASE_URL)
  recovery users list           list the console's accounts
  recovery users disable NAME   disable a console account (kept for the audit trail)
  recovery templates check [-sms-segments 6] [DIR]
                                render every message in every language with sample data, the overrides of DIR
                                (default RECOVERY_TEMPLATES_DIR) merged over the built-in templates; print each
                                problem with its file and line (docs/templates.md)
  recovery templates preview [-html] [-choices] [-message apology|follow-up|confirmation] KIND REMEDY LOCALE CHANNEL
                                print one message with sample data: CHANNEL email (subject and text), sms, voice, voicemail

Configuration is read from the environment; see docs/configuration.md.
`

// errUsage marks a command-line mistake; main prints the usage for it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		if msg := strings.TrimSuffix(err.Error(), ": "+errUsage.Error()); err != errUsage {
			fmt.Fprintln(os.Stderr, "recovery:", msg)
		}
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "recovery:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand; it is main without the process around it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	if args[0] == "healthcheck" { // a probe: before, and without, the configuration
		return runHealthcheck(ctx, args[1:], getenv, stdout)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	switch args[0] {
	case "dev":
		return runDev(ctx, cfg, stdout, log)
	case "serve":
		return runServe(ctx, cfg, parts{api: true, relay: true}, log)
	case "worker":
		return runServe(ctx, cfg, parts{worker: true}, log)
	case "api":
		return runServe(ctx, cfg, parts{api: true}, log)
	case "relay":
		return runServe(ctx, cfg, parts{relay: true}, log)
	case "migrate":
		return runMigrate(ctx, cfg, stdout)
	case "events":
		return runEvents(ctx, cfg, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, cfg, args[1:], stdout, log)
	case "policy":
		return runPolicy(ctx, cfg, args[1:], stdout)
	case "search-attributes":
		return runSearchAttributes(ctx, cfg, stdout, log)
	case "codec-server":
		return runCodecServer(ctx, cfg, args[1:], stdout, log)
	case "users":
		return runUsers(ctx, cfg, args[1:], stdout)
	case "templates":
		return runTemplates(cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}
