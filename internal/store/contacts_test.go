package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func TestOptOutsHoldAcrossIncidents(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if added, err := st.OptOut(ctx, recovery.ChannelSMS, "+49 151 1234-5678", "sms STOP"); err != nil || !added {
		t.Fatalf("opt out: %v, %v", added, err)
	}
	if added, _ := st.OptOut(ctx, recovery.ChannelSMS, "+4915112345678", "sms QUIT"); added {
		t.Fatal("a second opt-out of the same number counted as new")
	}
	for _, tc := range []struct {
		channel, addr string
		want          bool
	}{
		{"sms", "+4915112345678", true},
		{"sms", "+49 (151) 12345678", true},
		{"voice", "+4915112345678", false}, // STOP ends SMS, not calls
		{"sms", "+4915112345679", false},
	} {
		if got, err := st.OptedOut(ctx, tc.channel, tc.addr); err != nil || got != tc.want {
			t.Errorf("OptedOut(%s, %s) = %v, %v", tc.channel, tc.addr, got, err)
		}
	}
	st.OptOut(ctx, recovery.ChannelEmail, "Ada@Example.com", "unsubscribe link") //nolint:errcheck
	if out, _ := st.OptedOut(ctx, recovery.ChannelEmail, "ada@example.com "); !out {
		t.Error("email opt-out is not case-insensitive")
	}
	if removed, err := st.OptIn(ctx, recovery.ChannelSMS, "+4915112345678"); err != nil || !removed {
		t.Fatalf("opt in: %v, %v", removed, err)
	}
	if out, _ := st.OptedOut(ctx, recovery.ChannelSMS, "+4915112345678"); out {
		t.Error("still opted out after START")
	}
}

func TestContactEventsAndReplies(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"inc-old", "inc-new"} {
		inc := recovery.Incident{ID: id, OrderID: "o-" + id, Kind: recovery.KindLost, Status: recovery.IncidentOpen,
			DetectedAt: at.Add(time.Duration(i) * time.Hour), WorkflowID: "incident/" + id}
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		c := recovery.Contact{IncidentID: id, Step: 1, Channel: recovery.ChannelSMS, To: "+447700900123", Locale: "fr",
			Body: "Désolé : " + id, Status: recovery.ContactSending}
		if _, _, err := st.BeginContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishContact(ctx, id, 1, recovery.ChannelSMS, recovery.ContactSent, "SM"+id, at); err != nil {
			t.Fatal(err)
		}
	}
	// The older incident waits for a choice: a reply "2" is about it.
	if err := st.SetIncidentStatus(ctx, "inc-old", recovery.IncidentAwaitingChoice); err != nil {
		t.Fatal(err)
	}
	ref, err := st.LatestContactTo(ctx, recovery.ChannelSMS, "+44 7700 900123")
	if err != nil || ref.IncidentID != "inc-old" || ref.WorkflowID != "incident/inc-old" || ref.Step != 1 || ref.Locale != "fr" {
		t.Fatalf("latest = %+v, %v", ref, err)
	}
	if _, err := st.LatestContactTo(ctx, recovery.ChannelSMS, "+447700900999"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown number: %v", err)
	}
	ev := recovery.ContactEvent{IncidentID: "inc-new", Step: 1, Channel: recovery.ChannelSMS, Outcome: recovery.OutcomeResponded, Detail: "replied"}
	if wid, err := st.RecordContactEvent(ctx, ev); err != nil || wid != "incident/inc-new" {
		t.Fatalf("record: %q, %v", wid, err)
	}
	// A late delivery report does not overwrite the answer.
	ev.Outcome, ev.Detail = recovery.OutcomeDelivered, "delivered"
	if _, err := st.RecordContactEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ev.Step = 9
	if _, err := st.RecordContactEvent(ctx, ev); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown step: %v", err)
	}
	inc, err := st.GetIncident(ctx, "inc-new")
	if err != nil || inc.Contacts[0].Outcome != recovery.OutcomeResponded || inc.Contacts[0].Detail != "replied" {
		t.Fatalf("contact = %+v, %v", inc.Contacts, err)
	}
	if err := st.SaveSurvey(ctx, "inc-new", recovery.Survey{Answer: recovery.SurveyWOW, Via: "sms", At: at}); err != nil {
		t.Fatal(err)
	}
	inc, _ = st.GetIncident(ctx, "inc-new")
	if inc.Survey == nil || inc.Survey.Answer != "wow" || inc.Survey.Via != "sms" || !inc.Survey.At.Equal(at) {
		t.Fatalf("survey = %+v", inc.Survey)
	}
	if err := st.SaveSurvey(ctx, "nope", recovery.Survey{Answer: "ow", At: at}); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("survey of an unknown incident: %v", err)
	}
	// An unconfirmed step is found by SetContactStatus and keeps its text.
	if err := st.SetContactStatus(ctx, "inc-old", 1, recovery.ChannelSMS, recovery.ContactUnconfirmed, "died"); err != nil {
		t.Fatal(err)
	}
	if inc, err := st.GetIncident(ctx, "inc-old"); err != nil || len(inc.Contacts) != 1 ||
		inc.Contacts[0].Status != recovery.ContactUnconfirmed || inc.Contacts[0].Body != "Désolé : inc-old" {
		t.Fatalf("unconfirmed step = %+v, %v; want status unconfirmed and the text kept", inc.Contacts, err)
	}
	if err := st.SetContactStatus(ctx, "inc-old", 2, recovery.ChannelSMS, recovery.ContactFailed, ""); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown step: %v", err)
	}
}
