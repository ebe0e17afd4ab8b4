package workflows

import (
	"testing"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// TestApologyEmailRepliesToItsIncident: with a reply domain, the apology
// email's Reply-To names its incident and step, so that the customer's
// reply comes back to it through Inbound Parse.
func TestApologyEmailRepliesToItsIncident(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{Offers: []recovery.RemedyOffer{
		{Remedy: recovery.RemedyDiscount, Value: eur(900)}}, Approval: approval})
	signer := &links.Signer{Secret: []byte("links-secret"), Base: "https://shop.example"}
	h.acts.Links, h.acts.ReplyDomain = signer, "reply.shop.example"
	h.run(t)
	if len(h.sink.Messages) == 0 {
		t.Fatal("no apology")
	}
	m := h.sink.Messages[0]
	id, step, err := signer.ParseReplyAddress(m.ReplyTo)
	if err != nil || id != h.in.Incident.ID || step != m.Step {
		t.Fatalf("Reply-To %q names %q step %d (%v), want %s step %d", m.ReplyTo, id, step, err, h.in.Incident.ID, m.Step)
	}
}
