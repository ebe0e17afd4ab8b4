package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// The customer pages behind signed links (DESIGN §7): an incident's choice
// page with the survey, and the unsubscribe page. They answer in HTML
// only, in the customer's language, and log no tokens, addresses or error
// texts (which may quote either): only incident ids and error kinds.

// pageWords are the customer pages' phrases in one language. Sorry, Unsub
// and Unsubscribed hold %s placeholders, filled in order by fill.
type pageWords struct {
	Title, Sorry, Choose, Submit, Done, Working, Healed, Thanks, AlreadyChosen, Pick string
	Survey, SurveyPick, SurveyThanks, Person, Call, Write, Reply                     string
	// More asks a customer who answered WOW to tell us more; MoreSend
	// sends it, MoreThanks thanks them.
	More, MoreSend, MoreThanks                                        string
	Expired, Broken, Unknown, Unsub, UnsubButton, Unsubscribed, Error string
	Answers                                                           [3]string
}

var words = map[string]pageWords{
	"en": {Title: "Your order", More: "Wonderful! Tell us more, if you like: what made it good?", MoreSend: "Send", MoreThanks: "Thank you: the whole team will read it.", Sorry: "We are sorry: %s (order %s).", Choose: "Choose what suits you best",
		Submit: "Confirm my choice", Done: "What we are doing for you:", Working: "We are working on it and will write to you soon.",
		Healed: "Good news: the problem has sorted itself out.", Thanks: "Thank you, we have noted your choice. A confirmation is on its way.",
		AlreadyChosen: "Your choice has already been made, or the time to choose has run out.", Pick: "Please pick one of the options.",
		Survey: "How did we do?", SurveyPick: "Please choose one of the three answers.", SurveyThanks: "Thank you for telling us.",
		Person: "Talk to a person", Call: "Call us", Write: "Write to us", Reply: "Or simply reply to our message: a person reads every answer.",
		Expired: "This link has expired.", Broken: "This link does not work. Please use the link from our message as it is.",
		Unknown: "We could not find this order.", Unsub: "Stop emails about your orders' problems to %s?", UnsubButton: "Unsubscribe",
		Unsubscribed: "Done: you will get no more emails like this from us at %s.",
		Error:        "Something went wrong on our side. Please try again in a moment.", Answers: [3]string{"OW: not good", "HOW: fine", "WOW: great"}},
	"de": {Title: "Ihre Bestellung", More: "Wunderbar! Erzählen Sie uns gern mehr: Was hat Ihnen gefallen?", MoreSend: "Senden", MoreThanks: "Danke – das ganze Team wird es lesen.", Sorry: "Es tut uns leid: %s (Bestellung %s).", Choose: "Wählen Sie, was Ihnen am besten passt",
		Submit: "Auswahl bestätigen", Done: "Was wir für Sie tun:", Working: "Wir kümmern uns darum und melden uns bald bei Ihnen.",
		Healed: "Gute Nachricht: Das Problem hat sich erledigt.", Thanks: "Danke, wir haben Ihre Wahl notiert. Eine Bestätigung ist unterwegs.",
		AlreadyChosen: "Ihre Wahl ist schon getroffen, oder die Zeit zum Wählen ist abgelaufen.", Pick: "Bitte wählen Sie eine der Möglichkeiten.",
		Survey: "Wie war's?", SurveyPick: "Bitte wählen Sie eine der drei Antworten.", SurveyThanks: "Danke für Ihre Rückmeldung.",
		Person: "Mit einem Menschen sprechen", Call: "Rufen Sie uns an", Write: "Schreiben Sie uns",
		Reply:   "Oder antworten Sie einfach auf unsere Nachricht: Jede Antwort liest ein Mensch.",
		Expired: "Dieser Link ist abgelaufen.", Broken: "Dieser Link funktioniert nicht. Bitte verwenden Sie den Link aus unserer Nachricht unverändert.",
		Unknown: "Wir konnten diese Bestellung nicht finden.", Unsub: "Keine E-Mails mehr zu Problemen mit Ihren Bestellungen an %s?",
		UnsubButton: "Abmelden", Unsubscribed: "Erledigt: %s erhält keine solchen E-Mails mehr von uns.",
		Error: "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.", Answers: [3]string{"OW: nicht gut", "HOW: in Ordnung", "WOW: großartig"}},
	"fr": {Title: "Votre commande", More: "Formidable ! Dites-nous en plus si vous le souhaitez : qu'est-ce qui vous a plu ?", MoreSend: "Envoyer", MoreThanks: "Merci : toute l'équipe le lira.", Sorry: "Nous sommes désolés : %s (commande %s).", Choose: "Choisissez ce qui vous convient le mieux",
		Submit: "Confirmer mon choix", Done: "Ce que nous faisons pour vous :", Working: "Nous nous en occupons et vous écrirons bientôt.",
		Healed: "Bonne nouvelle : le problème s'est résolu.", Thanks: "Merci, nous avons noté votre choix. Une confirmation est en route.",
		AlreadyChosen: "Votre choix a déjà été fait, ou le délai pour choisir est passé.", Pick: "Veuillez choisir l'une des options.",
		Survey: "Votre avis ?", SurveyPick: "Veuillez choisir l'une des trois réponses.", SurveyThanks: "Merci de votre retour.",
		Person: "Parler à une personne", Call: "Appelez-nous", Write: "Écrivez-nous",
		Reply:   "Ou répondez simplement à notre message : une personne lit chaque réponse.",
		Expired: "Ce lien a expiré.", Broken: "Ce lien ne fonctionne pas. Veuillez utiliser le lien de notre message tel quel.",
		Unknown: "Nous n'avons pas trouvé cette commande.", Unsub: "Ne plus recevoir d'e-mails sur les problèmes de vos commandes à %s ?",
		UnsubButton: "Se désabonner", Unsubscribed: "C'est fait : %s ne recevra plus ce type d'e-mails.",
		Error: "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.", Answers: [3]string{"OW : pas bien", "HOW : correct", "WOW : super"}},
	"es": {Title: "Su pedido", More: "¡Estupendo! Cuéntenos más si quiere: ¿qué le gustó?", MoreSend: "Enviar", MoreThanks: "Gracias: todo el equipo lo leerá.", Sorry: "Lo sentimos: %s (pedido %s).", Choose: "Elija lo que mejor le convenga",
		Submit: "Confirmar mi elección", Done: "Lo que hacemos por usted:", Working: "Nos estamos ocupando y le escribiremos pronto.",
		Healed: "Buenas noticias: el problema se ha resuelto.", Thanks: "Gracias, hemos anotado su elección. Le enviamos una confirmación.",
		AlreadyChosen: "Su elección ya está hecha, o el plazo para elegir ha terminado.", Pick: "Elija una de las opciones, por favor.",
		Survey: "¿Qué tal lo hicimos?", SurveyPick: "Elija una de las tres respuestas, por favor.", SurveyThanks: "Gracias por su opinión.",
		Person: "Hablar con una persona", Call: "Llámenos", Write: "Escríbanos",
		Reply:   "O simplemente responda a nuestro mensaje: una persona lee cada respuesta.",
		Expired: "Este enlace ha caducado.", Broken: "Este enlace no funciona. Use el enlace de nuestro mensaje tal cual.",
		Unknown: "No hemos encontrado este pedido.", Unsub: "¿Dejar de recibir correos sobre problemas con sus pedidos en %s?",
		UnsubButton: "Darse de baja", Unsubscribed: "Hecho: %s no recibirá más correos como este.",
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
	Action        string // the choice or unsubscribe form's target
	SurveyAction  string // set: the survey form is shown
	// Brand is the shop the order is from: its name, logo, colours and
	// contacts (nil: the deployment's own).
	Brand       *brands.Brand
	MoreAction  string // set: the "tell us more" form is shown
	Unsubscribe string // the address, when confirming an unsubscribe
	Ops         OpsContact
}

// pageOption is one remedy to choose, a radio button with its label.
type pageOption struct {
	Value, Label string
	Checked      bool
}

//go:embed pages/customer.html
var pageFS embed.FS

var customerPage = template.Must(template.ParseFS(pageFS, "pages/customer.html"))

// pageLimit bounds the body of a customer page's POST.
const pageLimit = 4 << 10

// renderPage writes a customer page with its protective headers. The page
// is rendered first, so that a failure is a clean 500, not half a page.
func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	if _, ok := words[d.Lang]; !ok {
		d.Lang = "en"
	}
	d.W, d.Ops = words[d.Lang], s.Ops
	if b := d.Brand; b != nil && b.Support.Phone != "" {
		d.Ops = OpsContact{Phone: b.Support.Phone, Email: b.Support.Email}
	}
	if d.Heading == "" {
		d.Heading = d.W.Title
	}
	var buf bytes.Buffer
	if err := customerPage.Execute(&buf, d); err != nil {
		s.Logger.Error("customer page not rendered", "err_kind", "template")
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`<!doctype html><html lang="en"><title>Error</title><p role="alert">` + words["en"].Error + `</p></html>`)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
	if origin := d.Brand.LogoOrigin(); origin != "" {
		csp += "; img-src " + origin // the brand's logo, and nothing else
	}
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the customer has gone
}

// recoverPage turns a panic in a customer page into the friendly error
// page (the server's own recovery answers JSON). Deferred by each page.
func (s *Server) recoverPage(w http.ResponseWriter, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	s.Logger.Error("customer page panic", "method", r.Method, "path", redactPath(r.URL.Path))
	s.renderPage(w, http.StatusInternalServerError, pageData{Lang: requestLanguage(r), Alert: words[requestLanguage(r)].Error})
}

// requestLanguage is the page language the browser prefers, else English.
func requestLanguage(r *http.Request) string {
	if l := acceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return "en"
}

// acceptLanguage picks the page language an Accept-Language header ranks
// highest, or "" when it names none of them.
func acceptLanguage(header string) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if _, ok := words[lang]; ok && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

// linkError answers a link that did not verify: expired (410) or not ours
// (404). Every page offers a way to reach a person.
func (s *Server) linkError(w http.ResponseWriter, r *http.Request, err error) {
	lang := requestLanguage(r)
	if errors.Is(err, links.ErrExpired) {
		s.renderPage(w, http.StatusGone, pageData{Lang: lang, Alert: words[lang].Expired})
		return
	}
	s.renderPage(w, http.StatusNotFound, pageData{Lang: lang, Alert: words[lang].Broken})
}

// choiceIncident verifies the choice link and reads its incident, in the
// language of its first contact that has one; it answers the request
// itself when ok is false.
func (s *Server) choiceIncident(w http.ResponseWriter, r *http.Request) (inc recovery.Incident, lang string, ok bool) {
	if s.Links == nil {
		s.linkError(w, r, links.ErrTampered)
		return inc, "", false
	}
	id, err := s.Links.Verify(r.PathValue("token"), links.KindChoice, time.Now())
	if err != nil {
		s.linkError(w, r, err)
		return inc, "", false
	}
	inc, err = s.Incidents.GetIncident(r.Context(), id)
	if err != nil {
		lang := requestLanguage(r)
		if errors.Is(err, recovery.ErrNotFound) {
			s.renderPage(w, http.StatusNotFound, pageData{Lang: lang, Alert: words[lang].Unknown})
			return inc, "", false
		}
		s.Logger.Error("choice page: incident not read", "incident_id", id, "err_kind", errKind(err))
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Lang: lang, Alert: words[lang].Error})
		return inc, "", false
	}
	for _, c := range inc.Contacts {
		if c.Locale != "" {
			return inc, s.Templates.Language(c.Locale), true
		}
	}
	return inc, requestLanguage(r), true
}

// awaitsChoice reports whether the incident waits for the customer's choice.
func awaitsChoice(inc recovery.Incident) bool {
	return inc.Status == recovery.IncidentAwaitingChoice && inc.Offer != nil && len(inc.Offer.Options) > 1 &&
		inc.WorkflowID != "" && inc.ClosedAt == nil
}

// choicePath is the path of the choice page the request came by.
func choicePath(r *http.Request) string { return "/r/" + r.PathValue("token") }

// brandOf is the shop an incident's order is from (nil: none configured,
// or the order's source is no brand's).
func (s *Server) brandOf(ctx context.Context, inc recovery.Incident) *brands.Brand {
	src, ok := s.Customers.(interface {
		OrderContact(ctx context.Context, orderID string) (recovery.OrderContact, error)
	})
	if s.Brands == nil || !ok {
		return nil
	}
	oc, err := src.OrderContact(ctx, inc.OrderID)
	if err != nil {
		return nil
	}
	return s.Brands.For(oc.Source)
}

// incidentPage is the page of an incident as it stands: the apology, then
// the options to choose from, or what was done and the survey.
func (s *Server) incidentPage(r *http.Request, inc recovery.Incident, lang string) pageData {
	w := words[lang]
	b := s.brandOf(r.Context(), inc)
	tm := s.Templates
	if b != nil && b.Messages != nil {
		tm = b.Messages // the brand's own words
	}
	d := pageData{Lang: lang, Lines: []string{fill(w.Sorry, tm.ProblemPhrase(lang, inc.Kind), inc.OrderID)}, Brand: b}
	switch {
	case awaitsChoice(inc):
		d.Action = choicePath(r)
		for i, o := range inc.Offer.Options {
			d.Options = append(d.Options, pageOption{Value: string(o.Remedy), Label: tm.OptionLine(lang, o), Checked: i == 0})
		}
		return d
	case inc.Status == recovery.IncidentHealed:
		d.Lines = append(d.Lines, w.Healed)
	case inc.Offer != nil && inc.Offer.Status == recovery.OfferApplied:
		d.Lines = append(d.Lines, w.Done, tm.OfferSentence(lang, *inc.Offer))
	default:
		d.Lines = append(d.Lines, w.Working)
	}
	switch {
	case inc.Survey != nil:
		d.Status = w.SurveyThanks
	case inc.Offer != nil && inc.Status != recovery.IncidentHealed && s.Customers != nil:
		d.SurveyAction = choicePath(r) + "/survey"
	}
	return d
}

// choicePage serves GET /r/{token}: the apology and the remedies to pick
// from, or what was done and the survey.
func (s *Server) choicePage(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	inc, lang, ok := s.choiceIncident(w, r)
	if !ok {
		return
	}
	s.renderPage(w, http.StatusOK, s.incidentPage(r, inc, lang))
}

// postChoicePage serves POST /r/{token}: the customer's choice, checked
// against the options and passed to the incident's workflow.
func (s *Server) postChoicePage(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, pageLimit)
	inc, lang, ok := s.choiceIncident(w, r)
	if !ok {
		return
	}
	wd := words[lang]
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			status = http.StatusRequestEntityTooLarge
		}
		d := s.incidentPage(r, inc, lang)
		d.Alert = wd.Pick
		s.renderPage(w, status, d)
		return
	}
	if !awaitsChoice(inc) {
		d := s.incidentPage(r, inc, lang)
		d.Status = wd.AlreadyChosen
		s.renderPage(w, http.StatusConflict, d)
		return
	}
	remedy := recovery.Remedy(r.PostForm.Get("remedy"))
	i := slices.IndexFunc(inc.Offer.Options, func(o recovery.Offer) bool { return o.Remedy == remedy })
	if i < 0 {
		d := s.incidentPage(r, inc, lang)
		d.Alert = wd.Pick
		s.renderPage(w, http.StatusUnprocessableEntity, d)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	_, err := s.Remedies.Act(ctx, inc.WorkflowID, recovery.RemedyAction{Action: recovery.ActionChoose, Remedy: remedy,
		By: recovery.Approver{Name: "customer (choice page)"}})
	if err != nil {
		s.choiceRefused(ctx, w, r, inc, lang, err)
		return
	}
	s.tellChoice(ctx, inc)
	d := pageData{Lang: lang, Status: wd.Thanks, Lines: []string{wd.Done, s.Templates.OptionLine(lang, inc.Offer.Options[i])}}
	if inc.Survey == nil && s.Customers != nil {
		d.SurveyAction = choicePath(r) + "/survey"
	}
	s.renderPage(w, http.StatusOK, d)
}

// choiceRefused answers a choice the workflow did not take: the choice is
// over (409, with the incident as it now stands), not an option (422), or
// the workflow could not be reached (502).
func (s *Server) choiceRefused(ctx context.Context, w http.ResponseWriter, r *http.Request, inc recovery.Incident, lang string, err error) {
	wd := words[lang]
	switch {
	case errors.Is(err, recovery.ErrConflict):
		now, rerr := s.Incidents.GetIncident(ctx, inc.ID)
		if rerr != nil || awaitsChoice(now) { // the projection lags the workflow
			now = inc
			now.Status = recovery.IncidentOpen
		}
		d := s.incidentPage(r, now, lang)
		d.Status = wd.AlreadyChosen
		s.renderPage(w, http.StatusConflict, d)
	case errors.Is(err, recovery.ErrInvalid):
		d := s.incidentPage(r, inc, lang)
		d.Alert = wd.Pick
		s.renderPage(w, http.StatusUnprocessableEntity, d)
	default:
		s.Logger.Warn("choice page: choice not passed on", "incident_id", inc.ID, "err_kind", errKind(err))
		s.renderPage(w, http.StatusBadGateway, pageData{Lang: lang, Alert: wd.Error})
	}
}

// tellChoice records that the customer answered the latest ladder step
// (the choice itself already stops the ladder).
func (s *Server) tellChoice(ctx context.Context, inc recovery.Incident) {
	if s.Customers == nil || len(inc.Contacts) == 0 {
		return
	}
	c := inc.Contacts[len(inc.Contacts)-1]
	s.tell(ctx, recovery.ContactEvent{IncidentID: inc.ID, Step: c.Step, Channel: c.Channel, Outcome: recovery.OutcomeResponded,
		Detail: "chose on the page"})
}

// customerWords cleans what a customer wrote for keeping: valid UTF-8,
// no NUL (Postgres refuses it), no surrounding space.
func customerWords(s string) string {
	return strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), ""))
}

// surveyIncident bounds a survey form's body and finds its link's
// incident and language (false: the page answering why is written).
func (s *Server) surveyIncident(w http.ResponseWriter, r *http.Request) (recovery.Incident, string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, pageLimit)
	if s.Customers == nil {
		s.linkError(w, r, links.ErrTampered)
		return recovery.Incident{}, "", false
	}
	return s.choiceIncident(w, r)
}

// postSurveyPage serves POST /r/{token}/survey: OW, HOW or WOW, stored
// with the incident.
func (s *Server) postSurveyPage(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	inc, lang, ok := s.surveyIncident(w, r)
	if !ok {
		return
	}
	answer, valid := "", r.ParseForm() == nil
	if valid {
		answer, valid = recovery.ParseSurvey(r.PostForm.Get("answer"))
	}
	if !valid {
		d := s.incidentPage(r, inc, lang)
		d.Alert, d.Status, d.SurveyAction = words[lang].SurveyPick, "", choicePath(r)+"/survey"
		s.renderPage(w, http.StatusUnprocessableEntity, d)
		return
	}
	if err := s.Customers.SaveSurvey(r.Context(), inc.ID, recovery.Survey{Answer: answer, Via: "page", At: time.Now().UTC()}); err != nil {
		s.Logger.Error("survey not stored", "incident_id", inc.ID, "err_kind", errKind(err))
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Lang: lang, Alert: words[lang].Error})
		return
	}
	d := pageData{Lang: lang, Status: words[lang].SurveyThanks}
	if answer == "wow" {
		d.MoreAction = choicePath(r) + "/survey/more"
	}
	s.renderPage(w, http.StatusOK, d)
}

// postSurveyMore serves POST /r/{token}/survey/more: what a customer who
// answered WOW tells us more, for the team's wow wall.
func (s *Server) postSurveyMore(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPage(w, r)
	inc, lang, ok := s.surveyIncident(w, r)
	if !ok {
		return
	}
	more := ""
	if r.ParseForm() == nil {
		more = customerWords(r.PostForm.Get("more"))
	}
	if more == "" || utf8.RuneCountInString(more) > store.MaxSurveyComment {
		d := pageData{Lang: lang, Alert: words[lang].More, MoreAction: choicePath(r) + "/survey/more"}
		s.renderPage(w, http.StatusUnprocessableEntity, d)
		return
	}
	switch err := s.Customers.SaveSurveyComment(r.Context(), inc.ID, more); {
	case errors.Is(err, recovery.ErrConflict):
		s.renderPage(w, http.StatusConflict, pageData{Lang: lang, Status: words[lang].SurveyThanks})
		return
	case err != nil:
		s.Logger.Error("survey comment not stored", "incident_id", inc.ID, "err_kind", errKind(err))
		s.renderPage(w, http.StatusServiceUnavailable, pageData{Lang: lang, Alert: words[lang].Error})
		return
	}
	s.renderPage(w, http.StatusOK, pageData{Lang: lang, Status: words[lang].MoreThanks})
}

// errKind names an error for the logs without its text, which may quote
// an address or a token.
func errKind(err error) string {
	switch {
	case errors.Is(err, recovery.ErrNotFound):
		return "not_found"
	case errors.Is(err, recovery.ErrConflict):
		return "conflict"
	case errors.Is(err, recovery.ErrInvalid):
		return "invalid"
	case errors.Is(err, recovery.ErrForbidden):
		return "forbidden"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

// fill replaces the %s placeholders of a phrase in order (the phrases hold
// no other verbs).
func fill(phrase string, args ...string) string {
	for _, a := range args {
		phrase = strings.Replace(phrase, "%s", a, 1)
	}
	return phrase
}
