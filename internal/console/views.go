package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/recoveryhq/recovery/internal/store"
)

// Views keeps each person's saved views of the queue.
type Views interface {
	SaveConsoleView(ctx context.Context, user string, v store.ConsoleView) error
	ConsoleViews(ctx context.Context, user string) ([]store.ConsoleView, error)
	DeleteConsoleView(ctx context.Context, user, name string) error
}

// maxViews bounds one person's saved views.
const maxViews = 50

// viewQuery keeps only the queue's own parameters of a query.
func viewQuery(q url.Values) string {
	out := url.Values{}
	for _, k := range []string{"tab", "kind", "stage", "carrier", "currency", "age"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out.Encode()
}

// saveView saves the queue as shown (its tab and filters) under a name
// of the person's choosing, for them alone.
func (s *Server) saveView(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || utf8.RuneCountInString(name) > 60 {
		s.render(w, http.StatusUnprocessableEntity, "message", view{Title: "Not saved", User: &u,
			Message: "A view needs a name of at most 60 characters."})
		return
	}
	q, _ := url.ParseQuery(r.PostFormValue("query"))
	if views, err := s.Views.ConsoleViews(r.Context(), u.Name); err == nil && len(views) >= maxViews {
		s.render(w, http.StatusUnprocessableEntity, "message", view{Title: "Not saved", User: &u,
			Message: "You have saved as many views as the console keeps; delete one first."})
		return
	}
	if err := s.Views.SaveConsoleView(r.Context(), u.Name, store.ConsoleView{Name: name, Query: viewQuery(q)}); err != nil {
		s.Logger.Error("console save view", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", view{Title: "Not saved", User: &u, Message: "Try again in a moment."})
		return
	}
	http.Redirect(w, r, "/console/?"+viewQuery(q), http.StatusSeeOther)
}

// deleteView removes one of the person's views.
func (s *Server) deleteView(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	if err := s.Views.DeleteConsoleView(r.Context(), u.Name, r.PostFormValue("name")); err != nil {
		s.Logger.Error("console delete view", "err", err)
	}
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}
