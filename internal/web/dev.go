package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// DevMessages lists what the capture adapter kept (dev only).
type DevMessages interface {
	CapturedMessages(ctx context.Context, limit int) ([]recovery.CapturedMessage, error)
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

var devPage = template.Must(template.New("dev").Funcs(template.FuncMap{
	"linkify": func(s string) template.HTML {
		esc := template.HTMLEscapeString(s)
		return template.HTML(urlPattern.ReplaceAllStringFunc(esc, func(u string) string {
			return `<a href="` + u + `">` + u + `</a>`
		}))
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Captured messages · recovery dev</title>
<style>
body{font-family:system-ui,sans-serif;line-height:1.45;max-width:52rem;margin:auto;padding:1rem;color:#1a1a1a}
article{border:1px solid #ccc;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
pre{white-space:pre-wrap;font-family:inherit;background:#f6f6f6;padding:.5rem;border-radius:.25rem}
form{display:inline-block;margin:.25rem .5rem .25rem 0}
button,input{font-size:1rem;padding:.4rem .7rem;min-height:2.5rem}
.said{background:#eef7ee;border-left:4px solid #2e7d32;padding:.5rem 1rem}
:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
</style></head><body>
<h1>Captured messages</h1>
<p>Without provider credentials, <code>recovery dev</code> keeps every message here instead of sending it. Act as the customer below: press a digit on a call, reply to an SMS, open a link.</p>
{{with .Said}}<div class="said" role="status"><strong>The engine answered:</strong> {{.}}</div>{{end}}
{{range .Messages}}{{$m := .}}<article aria-labelledby="m{{.ID}}">
<h2 id="m{{.ID}}">{{.Channel}} to {{.To}} <small>· {{.CreatedAt.Format "2006-01-02 15:04:05"}}</small></h2>
{{with .Subject}}<p><strong>{{.}}</strong></p>{{end}}
<pre>{{linkify .Text}}</pre>
{{if eq .Channel "voice"}}
{{range $d := $.Digits}}<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="voice"><input type="hidden" name="to" value="{{$m.To}}"><input type="hidden" name="do" value="press"><input type="hidden" name="digits" value="{{$d}}"><button>Press {{$d}}</button></form>{{end}}
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="voice"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="voicemail"><button>A machine answers</button></form>
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="voice"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="no-answer"><button>No answer</button></form>
{{else if eq .Channel "sms"}}
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="sms"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="reply"><label>Reply as the customer <input name="body" placeholder="1, 2, HELP, STOP, WOW" required></label> <button>Send reply</button></form>
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="sms"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="delivered"><button>Delivered</button></form>
{{else}}
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="email"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="delivered"><button>Delivered</button></form>
<form method="post" action="/dev/messages/act"><input type="hidden" name="channel" value="email"><input type="hidden" name="to" value="{{.To}}"><input type="hidden" name="do" value="bounce"><button>Bounces</button></form>
{{end}}
</article>{{else}}<p>No messages yet. Try <code>recovery events demo</code>.</p>{{end}}
</body></html>`))

// devMessages serves GET /dev/messages: the captured messages with
// controls to act as the customer.
func (s *Server) devMessages(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.Dev.CapturedMessages(r.Context(), 50)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := map[string]any{"Messages": msgs, "Said": r.URL.Query().Get("said"), "Digits": []string{"1", "2", "0"}}
	if err := devPage.Execute(w, data); err != nil {
		s.Logger.Error("dev page", "err", err)
	}
}

// devAct serves POST /dev/messages/act: what the customer (or the
// provider) would do, passed through the same code as the verified
// webhooks, without their signatures.
func (s *Server) devAct(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || s.Customers == nil {
		writeProblem(w, http.StatusBadRequest, "bad-form", "Form not readable", "Post the dev page's forms.")
		return
	}
	ctx := r.Context()
	channel, to, do := r.PostForm.Get("channel"), r.PostForm.Get("to"), r.PostForm.Get("do")
	said := ""
	ref, err := s.Customers.LatestContactTo(ctx, channel, to)
	ev := recovery.ContactEvent{IncidentID: ref.IncidentID, Step: ref.Step, Channel: channel}
	switch {
	case do == "reply" && channel == recovery.ChannelSMS:
		said = s.inboundSMS(ctx, to, r.PostForm.Get("body"))
		if said == "" {
			said = "(no reply)"
		}
	case err != nil:
		writeError(w, err)
		return
	case do == "press":
		inc, c, found := s.callStep(ctx, ev)
		if !found {
			writeProblem(w, http.StatusNotFound, "not-found", "No call", "No call to that number was found.")
			return
		}
		said = sayText(s.pressed(ctx, inc, c, ev, r.PostForm.Get("digits")))
	case do == "voicemail":
		ev.Outcome, ev.Detail = recovery.OutcomeVoicemail, "completed by machine_end_beep"
		s.tell(ctx, ev)
		said = "voicemail left; the ladder moves on"
	case do == "no-answer" || do == "bounce":
		ev.Outcome, ev.Detail = recovery.OutcomeFailed, do
		s.tell(ctx, ev)
		said = do + "; the ladder moves on"
	case do == "delivered":
		ev.Outcome, ev.Detail = recovery.OutcomeDelivered, "delivered"
		s.tell(ctx, ev)
		said = "delivered"
	default:
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Unknown action", "Nothing to do for "+do+".")
		return
	}
	http.Redirect(w, r, "/dev/messages?said="+url.QueryEscape(said), http.StatusSeeOther)
}

// sayText joins what a TwiML answer says.
func sayText(verbs []twiml.Element) string {
	var parts []string
	for _, v := range verbs {
		switch v := v.(type) {
		case *twiml.VoiceSay:
			parts = append(parts, v.Message)
		case *twiml.VoiceDial:
			parts = append(parts, "(puts the call through to "+v.Number+")")
		case *twiml.VoiceRedirect:
			parts = append(parts, "(repeats the message)")
		}
	}
	return strings.Join(parts, " ")
}
