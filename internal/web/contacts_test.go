package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

const twilioToken = "twilio-auth-token"

// twilioSign signs a webhook the way Twilio documents it: HMAC-SHA1 of the
// full URL followed by each form field's name and value, sorted by name.
func twilioSign(fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := fullURL
	for _, k := range keys {
		b += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(b))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func contactServer(cust *memCustomers, rem *memRemedies, incs ...recovery.Incident) *Server {
	return &Server{Incidents: memIncidents{list: incs}, Remedies: rem, Customers: cust,
		Twilio: TwilioWebhooks{AuthToken: twilioToken, PublicURL: "https://recovery.example"},
		Ops:    OpsContact{Phone: "+442071838750"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// twilioPost posts a form signed for path (tamper after signing with
// mutate).
func twilioPost(t *testing.T, h http.Handler, path string, form url.Values, mutate func(url.Values)) (int, string) {
	t.Helper()
	sig := twilioSign("https://recovery.example"+path, form)
	if mutate != nil {
		mutate(form)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

var choosing = recovery.Incident{ID: "inc-1", OrderID: "1001", Kind: recovery.KindLost, WorkflowID: "incident/1001/s/lost",
	Status: recovery.IncidentAwaitingChoice,
	Offer: &recovery.Offer{Remedy: recovery.RemedyReship, Currency: "EUR", Status: recovery.OfferOffered,
		Options: []recovery.Offer{{Remedy: recovery.RemedyReship, Currency: "EUR"}, {Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR"}}},
	Contacts: []recovery.Contact{{Step: 1, Channel: "voice", To: "+4915112345678", Locale: "de", Body: "Guten Tag, hier ist der Kundenservice."}}}

func TestTwilioStatusCallbacksMoveTheLadder(t *testing.T) {
	cust := newMemCustomers()
	h := contactServer(cust, &memRemedies{}, choosing).Handler()
	for _, tc := range []struct {
		path string
		form url.Values
		want string // outcome, "" for none
	}{
		{"/v1/webhooks/twilio/status?channel=sms&incident=inc-1&step=2", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}, "delivered"},
		{"/v1/webhooks/twilio/status?channel=sms&incident=inc-1&step=2", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}, "failed"},
		{"/v1/webhooks/twilio/status?channel=sms&incident=inc-1&step=2", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"sent"}}, ""},
		{"/v1/webhooks/twilio/status?channel=voice&incident=inc-1&step=1", url.Values{"CallSid": {"CA1"}, "CallStatus": {"no-answer"}}, "failed"},
		{"/v1/webhooks/twilio/status?channel=voice&incident=inc-1&step=1", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "AnsweredBy": {"machine_end_beep"}}, "voicemail"},
		{"/v1/webhooks/twilio/status?channel=voice&incident=inc-1&step=1", url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}, "AnsweredBy": {"human"}}, "delivered"},
	} {
		before := len(cust.events)
		code, body := twilioPost(t, h, tc.path, tc.form, nil)
		if code != http.StatusNoContent {
			t.Fatalf("%v: %d %s", tc.form, code, body)
		}
		switch {
		case tc.want == "" && len(cust.events) != before:
			t.Errorf("%v: told %+v", tc.form, cust.events[before:])
		case tc.want != "" && (len(cust.events) != before+1 || cust.events[before].Outcome != tc.want || cust.events[before].IncidentID != "inc-1"):
			t.Errorf("%v: events %+v, want %s", tc.form, cust.events[before:], tc.want)
		}
	}
	if e := cust.events[0]; e.Step != 2 || e.Channel != "sms" || e.ProviderID != "SM1" {
		t.Errorf("first event = %+v", e)
	}
}

func TestTwilioWebhooksRejectBadSignatures(t *testing.T) {
	cust := newMemCustomers()
	h := contactServer(cust, &memRemedies{}, choosing).Handler()
	path := "/v1/webhooks/twilio/status?channel=sms&incident=inc-1&step=2"
	form := func() url.Values { return url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}} }
	for name, mutate := range map[string]func(url.Values){
		"tampered field": func(f url.Values) { f.Set("MessageStatus", "undelivered") },
		"added field":    func(f url.Values) { f.Set("Extra", "1") },
	} {
		if code, _ := twilioPost(t, h, path, form(), mutate); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	// Signed for another step.
	sig := twilioSign("https://recovery.example"+path, form())
	req := httptest.NewRequest(http.MethodPost, strings.Replace(path, "step=2", "step=3", 1), strings.NewReader(form().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("other step: %d", rec.Code)
	}
	// Unsigned.
	req = httptest.NewRequest(http.MethodPost, "/v1/webhooks/twilio/sms", strings.NewReader("From=%2B4915112345678&Body=STOP"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
		t.Errorf("unsigned: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if len(cust.events) != 0 {
		t.Fatalf("rejected requests changed things: %+v", cust.events)
	}
	if out, _ := cust.OptedOut(t.Context(), "sms", "+4915112345678"); out {
		t.Fatal("an unsigned STOP opted the number out")
	}
}

func TestTwilioVoiceTwiML(t *testing.T) {
	cust := newMemCustomers()
	h := contactServer(cust, &memRemedies{}, choosing).Handler()
	path := "/v1/webhooks/twilio/voice?channel=voice&incident=inc-1&step=1"
	code, body := twilioPost(t, h, path, url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"human"}}, nil)
	var doc struct {
		Gather struct {
			Input     string `xml:"input,attr"`
			NumDigits string `xml:"numDigits,attr"`
			Timeout   string `xml:"timeout,attr"`
			Action    string `xml:"action,attr"`
			Method    string `xml:"method,attr"`
			Say       struct {
				Language string `xml:"language,attr"`
				Text     string `xml:",chardata"`
			}
		}
		Say struct {
			Language string `xml:"language,attr"`
			Text     string `xml:",chardata"`
		}
	}
	if err := xml.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("person: %d %v %s", code, err, body)
	}
	g := doc.Gather
	if g.Input != "dtmf" || g.NumDigits != "1" || g.Timeout != "8" || g.Method != "POST" ||
		g.Action != "https://recovery.example/v1/webhooks/twilio/gather?channel=voice&incident=inc-1&step=1" ||
		g.Say.Language != "de-DE" || g.Say.Text != "Guten Tag, hier ist der Kundenservice." ||
		!strings.HasPrefix(doc.Say.Text, "Die Einzelheiten schicken wir Ihnen schriftlich.") {
		t.Fatalf("person: %+v", doc)
	}
	_, body = twilioPost(t, h, path, url.Values{"CallSid": {"CA1"}, "AnsweredBy": {"machine_end_beep"}}, nil)
	if strings.Contains(body, "<Gather") || !strings.Contains(body, "Bestellung 1001") || !strings.Contains(body, "<Hangup") {
		t.Fatalf("machine: %s", body)
	}
	_, body = twilioPost(t, h, "/v1/webhooks/twilio/voice?channel=voice&incident=nope&step=1", url.Values{"CallSid": {"CA1"}}, nil)
	if !strings.Contains(body, "<Hangup") {
		t.Fatalf("unknown incident: %s", body)
	}
}

func TestTwilioGatherDigits(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	h := contactServer(cust, rem, choosing).Handler()
	path := "/v1/webhooks/twilio/gather?channel=voice&incident=inc-1&step=1"
	_, body := twilioPost(t, h, path, url.Values{"CallSid": {"CA1"}, "Digits": {"2"}}, nil)
	if len(rem.sent) != 1 || rem.sent[0].(recovery.RemedyAction).Remedy != recovery.RemedyRefund ||
		rem.sent[0].(recovery.RemedyAction).By.Name != "customer (phone)" || !strings.Contains(body, "Danke, wir haben Ihre Wahl notiert") {
		t.Fatalf("2: %+v %s", rem.sent, body)
	}
	if len(cust.events) != 1 || cust.events[0].Outcome != recovery.OutcomeResponded {
		t.Fatalf("events = %+v", cust.events)
	}
	_, body = twilioPost(t, h, path, url.Values{"CallSid": {"CA1"}, "Digits": {"0"}}, nil)
	if !strings.Contains(body, "<Dial>+442071838750</Dial>") || len(rem.sent) != 1 {
		t.Fatalf("0: %s", body)
	}
	_, body = twilioPost(t, h, path, url.Values{"CallSid": {"CA1"}, "Digits": {"7"}}, nil)
	if !strings.Contains(body, "<Redirect method=\"POST\">https://recovery.example/v1/webhooks/twilio/voice?") || len(rem.sent) != 1 {
		t.Fatalf("7: %s", body)
	}
}

func TestInboundSMS(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	inc := choosing
	h := contactServer(cust, rem, inc).Handler()
	from := "+4915112345678"
	cust.latest["sms/"+from] = recovery.ContactRef{IncidentID: "inc-1", WorkflowID: inc.WorkflowID, Step: 2,
		IncidentStatus: recovery.IncidentAwaitingChoice, Locale: "de"}
	sms := func(body string) string {
		t.Helper()
		code, out := twilioPost(t, h, "/v1/webhooks/twilio/sms", url.Values{"From": {from}, "Body": {body}, "MessageSid": {"SMin"}}, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", body, code, out)
		}
		return out
	}
	if out := sms("hilfe"); !strings.Contains(out, "<Message>Kundenservice") || !strings.Contains(out, "+442071838750") {
		t.Fatalf("HILFE: %s", out)
	}
	if out := sms(" 2 "); strings.Contains(out, "<Message>") || len(rem.sent) != 1 || rem.sent[0].(recovery.RemedyAction).Remedy != recovery.RemedyRefund {
		t.Fatalf("2: %s %+v", out, rem.sent)
	}
	if out := sms("wow"); !strings.Contains(out, "Danke! Wenn Sie mögen, erzählen Sie uns mehr") || cust.surveys["inc-1"].Answer != "wow" || cust.surveys["inc-1"].Via != "sms" {
		t.Fatalf("WOW: %s %+v", out, cust.surveys)
	}
	if out := sms("Stop"); !strings.Contains(out, "keine SMS mehr") {
		t.Fatalf("STOP: %s", out)
	}
	if out, _ := cust.OptedOut(t.Context(), "sms", from); !out {
		t.Fatal("STOP did not opt out")
	}
	if out := sms("QUIT"); strings.Contains(out, "<Message>") {
		t.Fatalf("a second opt-out word is confirmed again: %s", out)
	}
	if out := sms("1"); strings.Contains(out, "<Message>") || len(rem.sent) != 1 {
		t.Fatalf("an opted-out number chose: %s %+v", out, rem.sent)
	}
	if out := sms("START"); !strings.Contains(out, "wieder SMS") {
		t.Fatalf("START: %s", out)
	}
	if out, _ := cust.OptedOut(t.Context(), "sms", from); out {
		t.Fatal("START did not opt back in")
	}
}

// sendgridSign signs a payload as SendGrid does: ECDSA P-256 over SHA-256
// of the timestamp followed by the body, ASN.1 DER, base64.
func sendgridSign(t *testing.T, key *ecdsa.PrivateKey, ts string, body []byte) string {
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestSendGridEvents(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub, err := ParseSendGridKey(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	cust := newMemCustomers()
	srv := contactServer(cust, &memRemedies{}, choosing)
	srv.SendGrid = SendGridWebhooks{PublicKey: pub}
	h := srv.Handler()
	body := []byte(`[{"email":"ada@example.com","event":"processed","sg_message_id":"m1","incident_id":"inc-1","step":"3"},
 {"email":"ada@example.com","event":"delivered","sg_message_id":"m1","incident_id":"inc-1","step":"3"},
 {"email":"ada@example.com","event":"open","sg_message_id":"m1","incident_id":"inc-1","step":3},
 {"email":"bob@example.com","event":"bounce","sg_message_id":"m2","incident_id":"inc-1","step":"4","type":"bounce"},
 {"email":"Eve@Example.com","event":"unsubscribe","sg_message_id":"m3"},
 {"email":"x@example.com","event":"delivered","sg_message_id":"m9"}]`)
	send := func(ts, sig string, b []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/sendgrid/events", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	now := fmt.Sprint(time.Now().Unix())
	old := fmt.Sprint(time.Now().Add(-time.Hour).Unix())
	tampered := []byte(strings.Replace(string(body), "bounce", "delivered", 2))
	for name, code := range map[string]int{
		"tampered body":  send(now, sendgridSign(t, key, now, body), tampered),
		"other time":     send(now, sendgridSign(t, key, old, body), body),
		"stale":          send(old, sendgridSign(t, key, old, body), body),
		"no signature":   send(now, "", body),
		"garbage":        send(now, "bm90IGEgc2lnbmF0dXJl", body),
		"not base64 sig": send(now, "%%%", body),
	} {
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if len(cust.events) != 0 {
		t.Fatalf("rejected events were passed on: %+v", cust.events)
	}
	if code := send(now, sendgridSign(t, key, now, body), body); code != http.StatusNoContent {
		t.Fatalf("signed: %d", code)
	}
	var got []string
	for _, e := range cust.events {
		got = append(got, fmt.Sprintf("%s/%d/%s", e.Outcome, e.Step, e.ProviderID))
	}
	if strings.Join(got, " ") != "delivered/3/m1 opened/3/m1 failed/4/m2" {
		t.Fatalf("events = %v", got)
	}
	if out, _ := cust.OptedOut(t.Context(), "email", "eve@example.com"); !out {
		t.Fatal("unsubscribe event did not opt out")
	}
}

// TestEverySMSKeyword sends each keyword docs/contacting-customers.md names to a number that
// was last texted about an incident awaiting the customer's choice.
func TestEverySMSKeyword(t *testing.T) {
	const from = "+4915112345678"
	const (
		stopText  = "You will get no more texts from us"
		startText = "You will get texts from us again"
		helpText  = "Customer care:"
		thanks    = "Thank you for telling us"
	)
	type want struct {
		reply     string          // in the reply; "" for no reply at all
		optedOut  bool            // after the message
		chosen    recovery.Remedy // the remedy chosen, if any
		survey    string          // the survey answer stored, if any
		confirmed bool            // a second, identical message is answered again
	}
	optOut := want{reply: stopText, optedOut: true}
	help := want{reply: helpText, confirmed: true}
	cases := []struct {
		body      string
		optedOut  bool // before the message
		want      want
		wantEvent string // the detail passed to the workflow; "" for none
	}{
		{"YES", false, want{chosen: recovery.RemedyReship}, "chose reship"},
		{"yes", true, want{reply: startText}, ""}, // opted out: YES opts back in (and chooses nothing)
		{"STOP", false, optOut, "opted out"},
		{"STOPALL", false, optOut, "opted out"},
		{"STOP ALL", false, optOut, "opted out"},
		{"stop  all", false, optOut, "opted out"},
		{"UNSUBSCRIBE", false, optOut, "opted out"},
		{"CANCEL", false, optOut, "opted out"},
		{"END", false, optOut, "opted out"},
		{"QUIT", false, optOut, "opted out"},
		{"OPTOUT", false, optOut, "opted out"},
		{"OPT OUT", false, optOut, "opted out"},
		{"REVOKE", false, optOut, "opted out"},
		{"Revoke", true, want{optedOut: true}, "opted out"}, // already out: not confirmed again
		{"START", true, want{reply: startText, confirmed: true}, ""},
		{"UNSTOP", true, want{reply: startText, confirmed: true}, ""},
		{"HELP", false, help, ""},
		{"HILFE", false, help, ""},
		{"AIDE", false, help, ""},
		{"AYUDA", false, help, ""},
		{"INFO", false, help, ""},
		{"help", true, want{reply: helpText, optedOut: true, confirmed: true}, ""}, // help still answers an opted-out number
		{"OW", false, want{reply: thanks, survey: "ow", confirmed: true}, ""},
		{"HOW", false, want{reply: thanks, survey: "how", confirmed: true}, ""},
		{"wow", false, want{reply: "Thank you! If you like, tell us more", survey: "wow", confirmed: true}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			cust, rem := newMemCustomers(), &memRemedies{}
			h := contactServer(cust, rem, choosing).Handler()
			cust.latest["sms/"+from] = recovery.ContactRef{IncidentID: "inc-1", WorkflowID: choosing.WorkflowID, Step: 2,
				IncidentStatus: recovery.IncidentAwaitingChoice, Locale: "en"}
			if tc.optedOut {
				cust.OptOut(t.Context(), "sms", from, "earlier") //nolint:errcheck
			}
			sms := func() string {
				t.Helper()
				code, out := twilioPost(t, h, "/v1/webhooks/twilio/sms", url.Values{"From": {from}, "Body": {tc.body}, "MessageSid": {"SMin"}}, nil)
				if code != http.StatusOK {
					t.Fatalf("%d %s", code, out)
				}
				return out
			}
			out := sms()
			if tc.want.reply == "" && strings.Contains(out, "<Message>") {
				t.Errorf("reply %s, want none", out)
			}
			if tc.want.reply != "" && !strings.Contains(out, "<Message>"+tc.want.reply) {
				t.Errorf("reply %s, want %q", out, tc.want.reply)
			}
			if tc.want.reply == helpText && !strings.Contains(out, "+442071838750") {
				t.Errorf("help %s does not say how to reach a person", out)
			}
			if out, _ := cust.OptedOut(t.Context(), "sms", from); out != tc.want.optedOut {
				t.Errorf("opted out = %v, want %v", out, tc.want.optedOut)
			}
			var chosen recovery.Remedy
			if len(rem.sent) > 0 {
				chosen = rem.sent[0].(recovery.RemedyAction).Remedy
			}
			if chosen != tc.want.chosen || len(rem.sent) > 1 {
				t.Errorf("chose %v (%d actions), want %q", chosen, len(rem.sent), tc.want.chosen)
			}
			if got := cust.surveys["inc-1"]; got.Answer != tc.want.survey || (tc.want.survey != "" && got.Via != "sms") {
				t.Errorf("survey = %+v, want %q by sms", got, tc.want.survey)
			}
			var details []string
			for _, e := range cust.events {
				if e.IncidentID != "inc-1" || e.Step != 2 || e.Outcome != recovery.OutcomeResponded {
					t.Errorf("event %+v does not answer step 2 of inc-1", e)
				}
				details = append(details, e.Detail)
			}
			if got := strings.Join(details, ","); got != tc.wantEvent {
				t.Errorf("events %q, want %q", got, tc.wantEvent)
			}
			if tc.want.optedOut && !tc.optedOut {
				// Confirmed once: the same word again changes nothing and says nothing.
				if again := sms(); strings.Contains(again, "<Message>") {
					t.Errorf("second %s answered %s, want no reply", tc.body, again)
				}
			}
			if tc.want.confirmed {
				if again := sms(); !strings.Contains(again, "<Message>"+tc.want.reply) {
					t.Errorf("second %s answered %s", tc.body, again)
				}
			}
		})
	}
}

// TestPressingZeroWithoutAnOpsPhonePromisesACallBack: with no
// RECOVERY_OPS_PHONE there is nobody to put the call through to.
func TestPressingZeroWithoutAnOpsPhonePromisesACallBack(t *testing.T) {
	for _, tc := range []struct {
		name, phone string
		say         string
		dial        bool
	}{
		{"no ops phone", "", "Jemand aus unserem Team ruft Sie in Kürze zurück", false},
		{"an ops phone", "+442071838750", "Wir verbinden Sie mit einem Menschen", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cust, rem := newMemCustomers(), &memRemedies{}
			srv := contactServer(cust, rem, choosing)
			srv.Ops = OpsContact{Phone: tc.phone, Email: "care@shop.example"}
			code, body := twilioPost(t, srv.Handler(), "/v1/webhooks/twilio/gather?channel=voice&incident=inc-1&step=1",
				url.Values{"CallSid": {"CA1"}, "Digits": {"0"}}, nil)
			var doc struct {
				Say    []string   `xml:"Say"`
				Dial   []string   `xml:"Dial"`
				Hangup []struct{} `xml:"Hangup"`
			}
			if err := xml.Unmarshal([]byte(body), &doc); code != http.StatusOK || err != nil {
				t.Fatalf("%d %v %s", code, err, body)
			}
			if len(doc.Say) != 1 || !strings.Contains(doc.Say[0], tc.say) {
				t.Errorf("says %q, want %q", doc.Say, tc.say)
			}
			if dialled := len(doc.Dial) == 1 && doc.Dial[0] == tc.phone; dialled != tc.dial || (!tc.dial && len(doc.Dial) != 0) {
				t.Errorf("dial %q, want a dial: %v", doc.Dial, tc.dial)
			}
			if !tc.dial && len(doc.Hangup) != 1 {
				t.Errorf("the call is not ended after the promise: %s", body)
			}
			if len(cust.events) != 1 || cust.events[0].Detail != recovery.DetailPersonRequested || cust.events[0].Step != 1 {
				t.Errorf("ops not told: events %+v", cust.events)
			}
			if len(rem.sent) != 0 {
				t.Errorf("0 chose a remedy: %+v", rem.sent)
			}
		})
	}
}

// TestRepliesSpeakTheShopsOverrides: with RECOVERY_TEMPLATES_DIR's words
// loaded, an SMS reply says them, not the built-in ones.
func TestRepliesSpeakTheShopsOverrides(t *testing.T) {
	const from = "+4915112345678"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "en.tmpl"), []byte(`{{define "sms_help"}}The Lamp Shop team: call {{.}}.{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := messaging.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cust, rem := newMemCustomers(), &memRemedies{}
	srv := contactServer(cust, rem, choosing)
	srv.Templates = tm
	cust.latest["sms/"+from] = recovery.ContactRef{IncidentID: "inc-1", WorkflowID: choosing.WorkflowID, Step: 2,
		IncidentStatus: recovery.IncidentAwaitingChoice, Locale: "en"}
	code, out := twilioPost(t, srv.Handler(), "/v1/webhooks/twilio/sms", url.Values{"From": {from}, "Body": {"HELP"}, "MessageSid": {"SMo"}}, nil)
	if code != http.StatusOK || !strings.Contains(out, "The Lamp Shop team: call +442071838750.") {
		t.Fatalf("HELP with an override: %d %s", code, out)
	}
}

// TestTellUsMoreBySMS: after a WOW by SMS, the customer's next words (not
// a keyword, not a number) are what they tell us more, once, within a
// day; otherwise words go on as before.
func TestTellUsMoreBySMS(t *testing.T) {
	const from = "+4915112345678"
	for name, c := range map[string]struct {
		survey *recovery.Survey
		kept   bool
	}{
		"after a WOW by SMS":      {&recovery.Survey{Answer: "wow", Via: "sms", At: time.Now().Add(-time.Hour)}, true},
		"after a WOW a day ago":   {&recovery.Survey{Answer: "wow", Via: "sms", At: time.Now().Add(-25 * time.Hour)}, false},
		"after a HOW":             {&recovery.Survey{Answer: "how", Via: "sms", At: time.Now()}, false},
		"after a WOW on the page": {&recovery.Survey{Answer: "wow", Via: "page", At: time.Now()}, false},
		"told us more already":    {&recovery.Survey{Answer: "wow", Via: "sms", At: time.Now(), Comment: "great"}, false},
	} {
		inc := choosing
		inc.Survey = c.survey
		cust, rem := newMemCustomers(), &memRemedies{}
		cust.surveys[inc.ID] = *c.survey
		h := contactServer(cust, rem, inc).Handler()
		cust.latest["sms/"+from] = recovery.ContactRef{IncidentID: inc.ID, WorkflowID: inc.WorkflowID, Step: 2,
			IncidentStatus: recovery.IncidentResolved, Locale: "en"}
		_, out := twilioPost(t, h, "/v1/webhooks/twilio/sms", url.Values{"From": {from}, "Body": {"  The driver rang ahead. Lovely! "},
			"MessageSid": {"SMm"}}, nil)
		got := cust.surveys[inc.ID].Comment
		switch {
		case c.kept && (got != "The driver rang ahead. Lovely!" || !strings.Contains(out, "the whole team will read it")):
			t.Errorf("%s: comment %q, reply %s", name, got, out)
		case !c.kept && got != c.survey.Comment:
			t.Errorf("%s: the words became the comment %q", name, got)
		}
	}
}
