package web

import (
	"net/http"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// The unsubscribe link of an email address (DESIGN §7: unsubscribe
// honoured); its pages share the choice page's template and words.

// unsubscribeAddress verifies an unsubscribe link; it answers the request
// itself when ok is false.
func (s *Server) unsubscribeAddress(w http.ResponseWriter, r *http.Request) (addr string, ok bool) {
	if s.Links == nil || s.Customers == nil {
		s.linkError(w, r, links.ErrTampered)
		return "", false
	}
	addr, err := s.Links.Verify(r.PathValue("token"), links.KindUnsubscribe, time.Now())
	if err != nil {
		s.linkError(w, r, err)
		return "", false
	}
	return addr, true
}

// unsubscribePage serves GET /u/{token}: a button, so that mail scanners
// following links unsubscribe nobody.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	addr, ok := s.unsubscribeAddress(w, r)
	if !ok {
		return
	}
	lang := requestLanguage(r)
	wd := words[lang]
	s.renderPage(w, http.StatusOK, pageData{Lang: lang, Heading: wd.UnsubButton, Lines: []string{fill(wd.Unsub, addr)},
		Unsubscribe: addr, Action: "/u/" + r.PathValue("token")})
}

// postUnsubscribe serves POST /u/{token}, from the page's button or a mail
// client's one-click unsubscribe (RFC 8058: the body is
// "List-Unsubscribe=One-Click", and any POST to the link counts). Doing it
// twice is harmless.
func (s *Server) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, pageLimit)
	addr, ok := s.unsubscribeAddress(w, r)
	if !ok {
		return
	}
	lang := requestLanguage(r)
	wd := words[lang]
	if _, err := s.Customers.OptOut(r.Context(), recovery.ChannelEmail, addr, "unsubscribe link"); err != nil {
		s.Logger.Error("unsubscribe not stored", "err_kind", errKind(err))
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Lang: lang, Heading: wd.UnsubButton, Alert: wd.Error})
		return
	}
	s.renderPage(w, http.StatusOK, pageData{Lang: lang, Heading: wd.UnsubButton, Status: fill(wd.Unsubscribed, addr)})
}
