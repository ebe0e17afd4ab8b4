package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/recoveryhq/recovery/internal/store"
)

// purgeEvery is how often the relay role purges what is past retention.
const purgeEvery = time.Hour

// purgeOld deletes, once soon after start and then every purgeEvery, the
// events, contacts and captured messages older than retention
// (RECOVERY_RETENTION). Incidents, offers and order projections stay.
func purgeOld(ctx context.Context, st *store.Store, retention time.Duration, log *slog.Logger) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = purgeEvery
		p, err := st.Purge(ctx, time.Now().Add(-retention))
		if err != nil {
			log.Warn("retention purge failed; trying again later", "error_kind", "database")
			continue
		}
		if p.Events+p.Contacts+p.CapturedMessages > 0 {
			log.Info("purged what is past retention", "retention", retention, "events", p.Events,
				"contacts", p.Contacts, "captured_messages", p.CapturedMessages)
		}
	}
}
