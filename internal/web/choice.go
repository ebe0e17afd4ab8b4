package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// pageWords are the customer pages' phrases per language.
type pageWords struct {
	Title, Sorry, Choose, Submit, Done, Healed, Thanks, AlreadyChosen, Pick, Survey, SurveyThanks string
	Person, Call, Write, Reply, Expired, Broken, Unknown, Unsub, UnsubButton, Unsubscribed, Error string
	Answers                                                                                       [3]string
}

var words = map[string]pageWords{
	"en": {Title: "Your order", Sorry: "We are sorry: %s (order %s).", Choose: "Choose what suits you best",
		Submit: "Confirm my choice", Done: "What we are doing for you:", Healed: "Good news: the problem has sorted itself out.",
		Thanks: "Thank you, we have noted your choice. A confirmation is on its way.", AlreadyChosen: "Your choice has already been made, or the time to choose has run out.",
		Pick: "Please pick one of the options.", Survey: "How did we do?", SurveyThanks: "Thank you for telling us.",
		Person: "Talk to a person", Reply: "Or simply reply to our message: a person reads every answer.", Call: "Call us", Write: "Write to us", Expired: "This link has expired.",
		Broken: "This link does not work. Please use the link from our message as it is.", Unknown: "We could not find this order.",
		Unsub: "Stop emails about your orders' problems to %s?", UnsubButton: "Unsubscribe", Unsubscribed: "Done: you will get no more emails like this from us at %s.",
		Error: "Something went wrong on our side. Please try again in a moment.", Answers: [3]string{"OW: not good", "HOW: fine", "WOW: great"}},
	"de": {Title: "Ihre Bestellung", Sorry: "Es tut uns leid: %s (Bestellung %s).", Choose: "Wählen Sie, was Ihnen am besten passt",
		Submit: "Auswahl bestätigen", Done: "Was wir für Sie tun:", Healed: "Gute Nachricht: Das Problem hat sich erledigt.",
		Thanks: "Danke, wir haben Ihre Wahl notiert. Eine Bestätigung ist unterwegs.", AlreadyChosen: "Ihre Wahl ist schon getroffen, oder die Zeit zum Wählen ist abgelaufen.",
		Pick: "Bitte wählen Sie eine der Möglichkeiten.", Survey: "Wie war's?", SurveyThanks: "Danke für Ihre Rückmeldung.",
		Person: "Mit einem Menschen sprechen", Reply: "Oder antworten Sie einfach auf unsere Nachricht: Jede Antwort liest ein Mensch.", Call: "Rufen Sie uns an", Write: "Schreiben Sie uns", Expired: "Dieser Link ist abgelaufen.",
		Broken: "Dieser Link funktioniert nicht. Bitte verwenden Sie den Link aus unserer Nachricht unverändert.", Unknown: "Wir konnten diese Bestellung nicht finden.",
		Unsub: "Keine E-Mails mehr zu Problemen mit Ihren Bestellungen an %s?", UnsubButton: "Abmelden", Unsubscribed: "Erledigt: %s erhält keine solchen E-Mails mehr von uns.",
		Error: "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.", Answers: [3]string{"OW: nicht gut", "HOW: in Ordnung", "WOW: großartig"}},
	"fr": {Title: "Votre commande", Sorry: "Nous sommes désolés : %s (commande %s).", Choose: "Choisissez ce qui vous convient le mieux",
		Submit: "Confirmer mon choix", Done: "Ce que nous faisons pour vous :", Healed: "Bonne nouvelle : le problème s'est résolu.",
		Thanks: "Merci, nous avons noté votre choix. Une confirmation est en route.", AlreadyChosen: "Votre choix a déjà été fait, ou le délai pour choisir est passé.",
		Pick: "Veuillez choisir l'une des options.", Survey: "Votre avis ?", SurveyThanks: "Merci de votre retour.",
		Person: "Parler à une personne", Reply: "Ou répondez simplement à notre message : une personne lit chaque réponse.", Call: "Appelez-nous", Write: "Écrivez-nous", Expired: "Ce lien a expiré.",
		Broken: "Ce lien ne fonctionne pas. Veuillez utiliser le lien de notre message tel quel.", Unknown: "Nous n'avons pas trouvé cette commande.",
		Unsub: "Ne plus recevoir d'e-mails sur les problèmes de vos commandes à %s ?", UnsubButton: "Se désabonner", Unsubscribed: "C'est fait : %s ne recevra plus ce type d'e-mails.",
		Error: "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.", Answers: [3]string{"OW : pas bien", "HOW : correct", "WOW : super"}},
	"es": {Title: "Su pedido", Sorry: "Lo sentimos: %s (pedido %s).", Choose: "Elija lo que mejor le convenga",
		Submit: "Confirmar mi elección", Done: "Lo que hacemos por usted:", Healed: "Buenas noticias: el problema se ha resuelto.",
		Thanks: "Gracias, hemos anotado su elección. Le enviamos una confirmación.", AlreadyChosen: "Su elección ya está hecha, o el plazo para elegir ha terminado.",
		Pick: "Elija una de las opciones, por favor.", Survey: "¿Qué tal lo hicimos?", SurveyThanks: "Gracias por su opinión.",
		Person: "Hablar con una persona", Reply: "O simplemente responda a nuestro mensaje: una persona lee cada respuesta.", Call: "Llámenos", Write: "Escríbanos", Expired: "Este enlace ha caducado.",
		Broken: "Este enlace no funciona. Use el enlace de nuestro mensaje tal cual.", Unknown: "No hemos encontrado este pedido.",
		Unsub: "¿Dejar de recibir correos sobre problemas con sus pedidos en %s?", UnsubButton: "Darse de baja", Unsubscribed: "Hecho: %s no recibirá más correos como este.",
		Error: "Algo ha fallado por nuestra parte. Inténtelo de nuevo en un momento.", Answers: [3]string{"OW: mal", "HOW: bien", "WOW: genial"}},
}

// pageData is what a customer page shows.
type pageData struct {
	Lang    string
	W       pageWords
	Heading string
	Lines   []string
	// Alert is an error message (role="alert"); Status a calm one
	// (role="status").
	Alert, Status string
	Options       []pageOption
	Action        string // the form's target
	SurveyAction  string
	Unsubscribe   string // the address, when confirming an unsubscribe
	Ops           OpsContact
}

type pageOption struct {
	Value, Label string
	Checked      bool
}

var customerPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.W.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:1.0625rem;line-height:1.5;color:#1a1a1a;background:#fff;margin:0}
main{max-width:34rem;margin:0 auto;padding:1.25rem}
h1{font-size:1.5rem;line-height:1.25}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:600;margin-bottom:.5rem}
.option{display:flex;align-items:center;gap:.75rem;min-height:3rem;padding:.5rem .75rem;margin:.5rem 0;border:2px solid #767676;border-radius:.5rem}
.option input{width:1.5rem;height:1.5rem;margin:0}
button{font:inherit;font-weight:600;min-height:3rem;padding:.6rem 1.2rem;border:0;border-radius:.5rem;background:#0b57d0;color:#fff;cursor:pointer}
.answers button{margin:.25rem .5rem .25rem 0;background:#fff;color:#0b57d0;border:2px solid #0b57d0}
a{color:#0b57d0}
:focus-visible{outline:3px solid #1a1a1a;outline-offset:3px}
[role=alert]{border-left:4px solid #b3261e;background:#fdecea;padding:.75rem 1rem}
[role=status]{border-left:4px solid #1e7e34;background:#eaf5ec;padding:.75rem 1rem}
.person{margin-top:2rem;border-top:1px solid #ccc;padding-top:1rem}
</style></head><body><main>
<h1>{{.Heading}}</h1>
{{with .Alert}}<p role="alert">{{.}}</p>{{end}}
{{with .Status}}<p role="status">{{.}}</p>{{end}}
{{range .Lines}}<p>{{.}}</p>
{{end}}
{{if .Options}}<form method="post" action="{{.Action}}">
<fieldset><legend>{{.W.Choose}}</legend>
{{range $i, $o := .Options}}<label class="option" for="o{{$i}}"><input type="radio" id="o{{$i}}" name="remedy" value="{{$o.Value}}"{{if $o.Checked}} checked{{end}}> {{$o.Label}}</label>
{{end}}</fieldset>
<button type="submit">{{.W.Submit}}</button>
</form>{{end}}
{{if .SurveyAction}}<form method="post" action="{{.SurveyAction}}" class="answers">
<fieldset><legend>{{.W.Survey}}</legend>
<button type="submit" name="answer" value="ow">{{index .W.Answers 0}}</button>
<button type="submit" name="answer" value="how">{{index .W.Answers 1}}</button>
<button type="submit" name="answer" value="wow">{{index .W.Answers 2}}</button>
</fieldset></form>{{end}}
{{if .Unsubscribe}}<form method="post" action="{{.Action}}"><button type="submit">{{.W.UnsubButton}}</button></form>{{end}}
<section class="person" aria-labelledby="person"><h2 id="person">{{.W.Person}}</h2>
{{with .Ops.Phone}}<p>{{$.W.Call}}: <a href="tel:{{.}}">{{.}}</a></p>{{end}}
{{with .Ops.Email}}<p>{{$.W.Write}}: <a href="mailto:{{.}}">{{.}}</a></p>{{end}}
<p>{{.W.Reply}}</p>
</section>
</main></body></html>`))

// renderPage writes a customer page with its protective headers.
func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	if d.Lang == "" {
		d.Lang = "en"
	}
	d.W, d.Ops = words[d.Lang], s.Ops
	if d.Heading == "" {
		d.Heading = d.W.Title
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := customerPage.Execute(w, d); err != nil {
		s.Logger.Error("customer page", "err", err)
	}
}

// linkError answers a link that did not verify: expired (410) or not ours
// (404), with a way to reach a person.
func (s *Server) linkError(w http.ResponseWriter, err error) {
	en := words["en"]
	if errors.Is(err, links.ErrExpired) {
		s.renderPage(w, http.StatusGone, pageData{Alert: en.Expired})
		return
	}
	s.renderPage(w, http.StatusNotFound, pageData{Alert: en.Broken})
}

// choiceIncident verifies the choice link and reads its incident; it
// answers the request itself when ok is false.
func (s *Server) choiceIncident(w http.ResponseWriter, r *http.Request) (recovery.Incident, string, bool) {
	if s.Links == nil {
		s.renderPage(w, http.StatusNotFound, pageData{Alert: words["en"].Broken})
		return recovery.Incident{}, "", false
	}
	id, err := s.Links.Verify(r.PathValue("token"), links.KindChoice, time.Now())
	if err != nil {
		s.linkError(w, err)
		return recovery.Incident{}, "", false
	}
	inc, err := s.Incidents.GetIncident(r.Context(), id)
	if err != nil {
		if !errors.Is(err, recovery.ErrNotFound) {
			s.Logger.Error("choice page: read incident", "incident_id", id, "err", err)
			s.renderPage(w, http.StatusServiceUnavailable, pageData{Alert: words["en"].Error})
			return inc, "", false
		}
		s.renderPage(w, http.StatusNotFound, pageData{Alert: words["en"].Unknown})
		return inc, "", false
	}
	lang := "en"
	for _, c := range inc.Contacts {
		if c.Locale != "" {
			lang = messaging.Language(c.Locale)
			break
		}
	}
	return inc, lang, true
}

// awaitsChoice reports whether the incident waits for the customer's choice.
func awaitsChoice(inc recovery.Incident) bool {
	return inc.Status == recovery.IncidentAwaitingChoice && inc.Offer != nil && len(inc.Offer.Options) > 1
}

// incidentPage is the page of an incident as it stands.
func (s *Server) incidentPage(r *http.Request, inc recovery.Incident, lang string) pageData {
	w := words[lang]
	d := pageData{Lang: lang, Lines: []string{sprintf(w.Sorry, messaging.ProblemPhrase(lang, inc.Kind), inc.OrderID)}}
	switch {
	case awaitsChoice(inc):
		d.Action = r.URL.Path
		for i, o := range inc.Offer.Options {
			d.Options = append(d.Options, pageOption{Value: string(o.Remedy), Label: messaging.OptionLine(lang, o), Checked: i == 0})
		}
	case inc.Status == recovery.IncidentHealed:
		d.Lines = append(d.Lines, w.Healed)
	case inc.Offer != nil && inc.Offer.Status == recovery.OfferApplied:
		d.Lines = append(d.Lines, w.Done, messaging.OfferSentence(lang, *inc.Offer))
	}
	if !awaitsChoice(inc) && inc.Offer != nil && inc.Survey == nil && inc.Status != recovery.IncidentHealed {
		d.SurveyAction = strings.TrimSuffix(r.URL.Path, "/survey") + "/survey"
	}
	return d
}

// choicePage serves GET /r/{token}: the apology and the remedies to pick
// from, or what was done and the survey.
func (s *Server) choicePage(w http.ResponseWriter, r *http.Request) {
	inc, lang, ok := s.choiceIncident(w, r)
	if !ok {
		return
	}
	s.renderPage(w, http.StatusOK, s.incidentPage(r, inc, lang))
}

// postChoicePage serves POST /r/{token}: the customer's choice, passed to
// the incident's workflow.
func (s *Server) postChoicePage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	inc, lang, ok := s.choiceIncident(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d := s.incidentPage(r, inc, lang)
		d.Alert = words[lang].Pick
		s.renderPage(w, http.StatusBadRequest, d)
		return
	}
	wd := words[lang]
	if !awaitsChoice(inc) {
		d := s.incidentPage(r, inc, lang)
		d.Status = wd.AlreadyChosen
		s.renderPage(w, http.StatusConflict, d)
		return
	}
	remedy := recovery.Remedy(r.PostForm.Get("remedy"))
	if !slices.ContainsFunc(inc.Offer.Options, func(o recovery.Offer) bool { return o.Remedy == remedy }) {
		d := s.incidentPage(r, inc, lang)
		d.Alert = wd.Pick
		s.renderPage(w, http.StatusUnprocessableEntity, d)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	_, err := s.Remedies.Act(ctx, inc.WorkflowID, recovery.RemedyAction{Action: recovery.ActionChoose, Remedy: remedy,
		By: recovery.Approver{Name: "customer (choice page)"}})
	switch {
	case errors.Is(err, recovery.ErrConflict):
		inc.Status = recovery.IncidentOpen // no longer choosing
		d := s.incidentPage(r, inc, lang)
		d.Status = wd.AlreadyChosen
		s.renderPage(w, http.StatusConflict, d)
		return
	case err != nil:
		s.Logger.Warn("choice page: choice not passed on", "incident_id", inc.ID, "err", err)
		s.renderPage(w, http.StatusBadGateway, pageData{Lang: lang, Alert: wd.Error})
		return
	}
	s.tellChoice(ctx, inc)
	d := pageData{Lang: lang, Status: wd.Thanks}
	if inc.Survey == nil {
		d.SurveyAction = r.URL.Path + "/survey"
	}
	s.renderPage(w, http.StatusOK, d)
}

// tellChoice marks the ladder step the customer answered, so that the
// ladder stops (the choice itself already stops it; this records where
// the customer answered).
func (s *Server) tellChoice(ctx context.Context, inc recovery.Incident) {
	if s.Customers == nil || len(inc.Contacts) == 0 {
		return
	}
	c := inc.Contacts[len(inc.Contacts)-1]
	s.tell(ctx, recovery.ContactEvent{IncidentID: inc.ID, Step: c.Step, Channel: c.Channel, Outcome: recovery.OutcomeResponded,
		Detail: "chose on the page"})
}

// postSurveyPage serves POST /r/{token}/survey: OW, HOW or WOW.
func (s *Server) postSurveyPage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	inc, lang, ok := s.choiceIncident(w, r)
	if !ok {
		return
	}
	answer, valid := "", r.ParseForm() == nil
	if valid {
		answer, valid = recovery.ParseSurvey(r.PostForm.Get("answer"))
	}
	if !valid || s.Customers == nil {
		d := s.incidentPage(r, inc, lang)
		d.Alert = words[lang].Survey
		s.renderPage(w, http.StatusUnprocessableEntity, d)
		return
	}
	if err := s.Customers.SaveSurvey(r.Context(), inc.ID, recovery.Survey{Answer: answer, Via: "page", At: time.Now().UTC()}); err != nil {
		s.Logger.Error("survey not stored", "incident_id", inc.ID, "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Lang: lang, Alert: words[lang].Error})
		return
	}
	s.renderPage(w, http.StatusOK, pageData{Lang: lang, Status: words[lang].SurveyThanks})
}

// unsubscribeAddress verifies an unsubscribe link.
func (s *Server) unsubscribeAddress(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.Links == nil || s.Customers == nil {
		s.renderPage(w, http.StatusNotFound, pageData{Alert: words["en"].Broken})
		return "", false
	}
	addr, err := s.Links.Verify(r.PathValue("token"), links.KindUnsubscribe, time.Now())
	if err != nil {
		s.linkError(w, err)
		return "", false
	}
	return addr, true
}

// unsubscribePage serves GET /u/{token}: a button, so that mail scanners
// following links unsubscribe nobody.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	addr, ok := s.unsubscribeAddress(w, r)
	if !ok {
		return
	}
	en := words["en"]
	s.renderPage(w, http.StatusOK, pageData{Lines: []string{sprintf(en.Unsub, addr)}, Unsubscribe: addr, Action: r.URL.Path})
}

// postUnsubscribe serves POST /u/{token}, from the page or a mail client's
// one-click unsubscribe (RFC 8058).
func (s *Server) postUnsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	addr, ok := s.unsubscribeAddress(w, r)
	if !ok {
		return
	}
	if _, err := s.Customers.OptOut(r.Context(), recovery.ChannelEmail, addr, "unsubscribe link"); err != nil {
		s.Logger.Error("unsubscribe not stored", "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Alert: words["en"].Error})
		return
	}
	s.renderPage(w, http.StatusOK, pageData{Status: sprintf(words["en"].Unsubscribed, addr)})
}

// sprintf fills %s placeholders in order (the phrases hold nothing else).
func sprintf(format string, args ...string) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a, 1)
	}
	return format
}
