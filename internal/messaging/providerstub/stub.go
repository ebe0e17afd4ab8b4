// Package providerstub holds local stand-ins for Twilio's REST API and
// SendGrid's v3 Mail Send that speak their wire formats (form-encoded
// Twilio requests with Basic auth and JSON answers; SendGrid JSON with a
// bearer key and a 202 with X-Message-Id), for tests and for trying the
// real clients without accounts.
package providerstub

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Request is one request a stub received.
type Request struct {
	Method, Path string
	// Auth is the Authorization header.
	Auth        string
	ContentType string
	// Form holds a Twilio request's fields; JSON a SendGrid request's body.
	Form url.Values
	JSON map[string]any
}

// Stub is a running provider stand-in.
type Stub struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	// Fail, when set, answers every request with this status.
	Fail int
	// BeforeAnswer, when set, runs after a request is recorded and before
	// it is answered (a test can stop the world right there).
	BeforeAnswer func(Request)
	// events, when set (ReportTo), receives a signed "delivered" event of
	// each email SendGrid's stand-in takes, as SendGrid's Event Webhook.
	events    string
	eventsKey *ecdsa.PrivateKey
}

// ReportTo makes SendGrid's stand-in post a "delivered" event for each
// email it takes to url, signed with key as SendGrid signs its Event
// Webhook (ECDSA P-256 over the timestamp and the body), carrying the
// email's custom arguments as SendGrid does.
func (s *Stub) ReportTo(url string, key *ecdsa.PrivateKey) {
	s.mu.Lock()
	s.events, s.eventsKey = url, key
	s.mu.Unlock()
}

// report posts one delivered event, retrying briefly (the receiver may be
// restarting); like SendGrid it gives up after a while.
func (s *Stub) report(body map[string]any, messageID string) {
	s.mu.Lock()
	url, key := s.events, s.eventsKey
	s.mu.Unlock()
	if url == "" {
		return
	}
	ev := map[string]any{"event": "delivered", "sg_message_id": messageID, "timestamp": time.Now().Unix()}
	if ps, _ := body["personalizations"].([]any); len(ps) > 0 {
		if p, _ := ps[0].(map[string]any); p != nil {
			if to, _ := p["to"].([]any); len(to) > 0 {
				if t, _ := to[0].(map[string]any); t != nil {
					ev["email"] = t["email"]
				}
			}
		}
	}
	if args, _ := body["custom_args"].(map[string]any); args != nil {
		for k, v := range args {
			ev[k] = v
		}
	}
	raw, _ := json.Marshal([]any{ev})
	for try := 0; try < 20; try++ {
		ts := fmt.Sprint(time.Now().Unix())
		h := sha256.Sum256(append([]byte(ts), raw...))
		sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
		if err != nil {
			return
		}
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close() //nolint:errcheck
			if resp.StatusCode < 500 {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Requests returns what the stub received so far.
func (s *Stub) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Stub) record(r Request) int {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	fail, hook := s.Fail, s.BeforeAnswer
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	return fail
}

func newID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck
	return prefix + hex.EncodeToString(b)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Twilio starts a Twilio stand-in for account sid with auth token.
func Twilio(sid, token string) *Stub {
	s := &Stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() //nolint:errcheck
		fail := s.record(Request{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Form: r.PostForm})
		twErr := func(status, code int, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status, //nolint:errcheck
				"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
		}
		user, pass, ok := r.BasicAuth()
		switch {
		case fail != 0:
			twErr(fail, 20500, "stub failure")
		case !ok || user != sid || pass != token:
			twErr(http.StatusUnauthorized, 20003, "Authenticate")
		case r.Method == http.MethodPost && r.URL.Path == "/2010-04-01/Accounts/"+sid+"/Calls.json":
			s.call(w, r, sid, twErr)
		case r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json":
			twErr(http.StatusNotFound, 20404, "The requested resource was not found")
		case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
			twErr(http.StatusBadRequest, 20001, "form-encoded body expected")
		case !e164.MatchString(r.PostForm.Get("To")):
			twErr(http.StatusBadRequest, 21211, "The 'To' number "+r.PostForm.Get("To")+" is not a valid phone number.")
		case r.PostForm.Get("Body") == "":
			twErr(http.StatusBadRequest, 21602, "Message body is required.")
		case r.PostForm.Get("From") == "" && r.PostForm.Get("MessagingServiceSid") == "":
			twErr(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"sid": newID("SM"), "account_sid": sid, "status": "queued", //nolint:errcheck
				"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"),
				"num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01"})
		}
	}))
	return s
}

// call answers Twilio's Calls resource: a number to call, one to call
// from, and what to do once answered (a URL, TwiML or an application).
func (s *Stub) call(w http.ResponseWriter, r *http.Request, sid string, twErr func(status, code int, msg string)) {
	f := r.PostForm
	switch {
	case !e164.MatchString(f.Get("To")):
		twErr(http.StatusBadRequest, 21211, "The 'To' number "+f.Get("To")+" is not a valid phone number.")
	case f.Get("From") == "":
		twErr(http.StatusBadRequest, 21213, "No 'From' number is specified.")
	case f.Get("Url") == "" && f.Get("Twiml") == "" && f.Get("ApplicationSid") == "":
		twErr(http.StatusBadRequest, 21205, "Url parameter is required.")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": newID("CA"), "account_sid": sid, "status": "queued", //nolint:errcheck
			"to": f.Get("To"), "from": f.Get("From"), "direction": "outbound-api", "api_version": "2010-04-01"})
	}
}

// SendGrid starts a SendGrid v3 stand-in accepting apiKey.
func SendGrid(apiKey string) *Stub {
	s := &Stub{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		jsonErr := json.Unmarshal(raw, &body)
		fail := s.record(Request{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), JSON: body})
		sgErr := func(status int, field, msg string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "field": field}}}) //nolint:errcheck
		}
		switch {
		case fail != 0:
			sgErr(fail, "", "stub failure")
		case r.Header.Get("Authorization") != "Bearer "+apiKey:
			sgErr(http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked")
		case r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send":
			sgErr(http.StatusNotFound, "", "not found")
		case jsonErr != nil:
			sgErr(http.StatusBadRequest, "", "Bad Request")
		case body["personalizations"] == nil:
			sgErr(http.StatusBadRequest, "personalizations", "The personalizations field is required and must have at least one personalization.")
		case body["from"] == nil:
			sgErr(http.StatusBadRequest, "from", "The from object must be provided for every email send.")
		default:
			id := newID("sg-")
			w.Header().Set("X-Message-Id", id)
			w.WriteHeader(http.StatusAccepted)
			go s.report(body, id)
		}
	}))
	return s
}
