package messaging

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Problem is something wrong with a template: where it is (file and line,
// when known), the language and define, what was being rendered, and what.
type Problem struct {
	// File is an override's path, or "built-in en.tmpl".
	File string
	Line int // 0: not known
	Lang string
	// Define is the {{define}} at fault, when known.
	Define string
	// Case says what was rendered when it showed, e.g. "apology
	// lost/refund"; More counts the other cases it showed in.
	Case string
	More int
	Msg  string
	// Broken problems stop Load: a file that does not parse, a template
	// that does not render, text a customer must not get ("<no value>", an
	// empty subject). The others (an SMS over its segments, a define
	// nothing uses, a language missing defines) do not, though `recovery
	// templates check` fails on them too.
	Broken bool
	// key, when set, is what tells the same problem (its message differs
	// between cases); weight picks the case that shows it worst.
	key    string
	weight int
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Lang != "" {
		b.WriteString(p.Lang + " ")
	}
	if p.Define != "" {
		b.WriteString(strconv.Quote(p.Define) + " ")
	}
	if p.Case != "" {
		b.WriteString("(" + p.Case)
		if p.More > 0 {
			fmt.Fprintf(&b, ", and %d more", p.More)
		}
		b.WriteString(") ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems are the reasons Load refuses a templates directory.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// CheckOptions tune Check.
type CheckOptions struct {
	// SMSSegments is the most segments an SMS may take (0: 6, what the
	// built-in apologies with three choices and a link take in a language
	// that needs UCS-2).
	SMSSegments int
	// Langs, when set, are the languages to check (all of them otherwise).
	Langs []string
}

// defines are the defines of the English templates: what every language
// has (the others fall back to English for those they lack).
var defines = func() []string {
	var out []string
	for _, tm := range builtin.text["en"].Templates() {
		if tm.Tree != nil && tm.Name() != "en.tmpl" {
			out = append(out, tm.Name())
		}
	}
	slices.Sort(out)
	return out
}()

// Defines lists the defines a language's templates have, sorted.
func Defines() []string { return slices.Clone(defines) }

// Remedies are the remedies messages say, in the order Check renders them.
var Remedies = []recovery.Remedy{recovery.RemedyDiscount, recovery.RemedySubstitute, recovery.RemedyReship,
	recovery.RemedyStoreCredit, recovery.RemedyRefund}

// HealReasons are the engine's plain reasons a problem went away (what
// FollowUpData.Healed says; "resolution" puts them in the language).
var HealReasons = []string{"delivered", "delivered to the right address", "the carrier scanned the parcel again",
	"the carrier picked the parcel up", "the carrier found the parcel", "the items are available again"}

// Sample links: as long as the signed ones the engine sends.
const (
	sampleLink        = "https://recovery.example.com/r/c.aW5jXzAxSkFCOEM5RDBFMUYyRzNINEo1SzZNN044.tr6pch.fy5Nvwv-pcp3Wf425yX2m22U"
	sampleUnsubscribe = "https://recovery.example.com/u/u.~CpFL-6exGZQFAWCDS8iGkIm06GTa1wKj-D2fSVQkQFNnPqT-2tw0HaiLeKxSbPLXNg.tpn5ch.p82M01cnn0n03AgDtxToBi4N"
	sampleCode        = "SORRY-7KQ2MX4BWP"
	sampleOpsPhone    = "+442071838750"
)

// SampleOffer is the offer Check and `recovery templates preview` render
// for a remedy.
func SampleOffer(remedy recovery.Remedy) recovery.Offer {
	o := recovery.Offer{Remedy: remedy, Currency: "EUR"}
	switch remedy {
	case recovery.RemedyDiscount:
		o.ValueMinor, o.Code = 1350, sampleCode
	case recovery.RemedySubstitute:
		o.SubstituteSKU, o.SubstituteName = "LIN-SHIRT-NAVY-M", "Linen shirt, navy, M"
	case recovery.RemedyReship:
		o.Expedited = true
	case recovery.RemedyStoreCredit:
		o.ValueMinor = 2000
	case recovery.RemedyRefund:
		o.ValueMinor = 8999
	}
	return o
}

// SampleApology is an apology of order 1042 to Ada Weber, with links (an
// email's: the choice page and unsubscribe). With choices, the customer
// chooses within 48 hours between the remedy, a refund and store credit
// (a reship, a refund and store credit for a refund).
func SampleApology(kind recovery.Kind, remedy recovery.Remedy, choices bool) ApologyData {
	d := ApologyData{Name: "Ada Weber", OrderID: "1042", Kind: kind, Offer: SampleOffer(remedy),
		Link: sampleLink, Unsubscribe: sampleUnsubscribe}
	if choices {
		d.Options = []recovery.Offer{d.Offer}
		for _, r := range []recovery.Remedy{recovery.RemedyRefund, recovery.RemedyStoreCredit, recovery.RemedyReship} {
			if r != remedy && len(d.Options) < 3 {
				d.Options = append(d.Options, SampleOffer(r))
			}
		}
		d.Within = 48 * time.Hour
	}
	return d
}

// SampleFollowUp is the follow-up of SampleApology, healed for the reason
// given.
func SampleFollowUp(kind recovery.Kind, healed string) FollowUpData {
	return FollowUpData{Name: "Ada Weber", OrderID: "1042", Kind: kind, Offer: SampleOffer(recovery.RemedyDiscount), Healed: healed}
}

// outKind is what an output is, for the checks it gets.
type outKind int

const (
	outSubject outKind = iota
	outText
	outSMS
	outVoice
	outLine   // a part of other messages: an option, a problem
	outPhrase // a reply on its own (empty: a warning)
	outSMSPhrase
)

// need is text an output must contain.
type need struct{ text, what string }

type checker struct {
	t        *Templates
	segments int
	lang     string
	files    map[string]string // parse name -> how problems name the file
	seen     map[string]int    // problem key -> index
	problems []Problem
}

// Check renders every message of every language with sample data: each
// kind with each remedy, alone and as choices, with and without a name
// and links, on each channel (email subject, text and HTML, SMS, call,
// voicemail), the follow-up for each reason, the confirmation of each
// remedy, the option lines and every phrase. It reports each define a
// language lacks, each template that does not render (file, define and
// line), "<no value>" in a message, an empty subject or text, an SMS over
// opts.SMSSegments segments, a call that reads out a link, and a message
// that does not carry its discount code or links. The same problem is
// reported once, with the number of other cases it showed in.
func (t *Templates) Check(opts CheckOptions) []Problem {
	t = t.set()
	c := &checker{t: t, segments: opts.SMSSegments, files: map[string]string{}, seen: map[string]int{}}
	if c.segments <= 0 {
		c.segments = 6
	}
	for _, l := range builtin.langs {
		c.files[l+".tmpl"] = "built-in " + l + ".tmpl"
	}
	for _, o := range t.files {
		c.files[o.Path] = o.Path
	}
	for _, lang := range t.langs {
		if opts.Langs != nil && !slices.Contains(opts.Langs, lang) {
			continue
		}
		c.lang = lang
		c.check()
	}
	return c.problems
}

// own is the file of the checker's language: its override, or its
// built-in file.
func (c *checker) own() string {
	for _, o := range c.t.files {
		if o.Lang == c.lang {
			return o.Path
		}
	}
	return "built-in " + c.lang + ".tmpl"
}

func (c *checker) add(p Problem) {
	p.Lang = c.lang
	key := p.key
	if key == "" {
		key = p.Msg
	}
	key = strings.Join([]string{p.File, strconv.Itoa(p.Line), p.Lang, p.Define, key}, "\x00")
	if i, ok := c.seen[key]; ok {
		if p.weight > c.problems[i].weight {
			p.More = c.problems[i].More
			c.problems[i] = p
		}
		c.problems[i].More++
		return
	}
	c.seen[key] = len(c.problems)
	c.problems = append(c.problems, p)
}

// where is the file and line a define of the language starts at.
func (c *checker) where(define string) (string, int) {
	tm := c.t.text[c.lang].Lookup(define)
	if tm == nil || tm.Tree == nil {
		return c.own(), 0
	}
	file, line := treeSource(tm.Tree)
	if f, ok := c.files[file]; ok {
		file = f
	}
	return file, line
}

func (c *checker) check() {
	tm := c.t.text[c.lang]
	missing := map[string]bool{}
	for _, name := range defines {
		d := tm.Lookup(name)
		switch {
		case d == nil || d.Tree == nil:
			missing[name] = true
			c.add(Problem{File: c.own(), Define: name, Msg: "is not defined", Broken: true})
		case c.lang != "en" && d.Tree.ParseName == "en.tmpl":
			c.add(Problem{File: c.own(), Define: name, Msg: "is not defined: English is used"})
		}
	}
	if len(missing) > 0 {
		return
	}
	lang := c.lang
	for _, kind := range recovery.Kinds {
		c.out("problem "+string(kind), "problem", ApologyData{Kind: kind}, outLine)
		for _, remedy := range Remedies {
			full := SampleApology(kind, remedy, false)
			bare := ApologyData{OrderID: full.OrderID, Kind: kind, Offer: full.Offer}
			if remedy == recovery.RemedySubstitute {
				bare.Offer.SubstituteName = ""
			}
			if remedy == recovery.RemedyReship {
				bare.Offer.Expedited = false
			}
			c.apology(fmt.Sprintf("apology %s/%s", kind, remedy), full)
			c.apology(fmt.Sprintf("apology %s/%s, no name nor links", kind, remedy), bare)
		}
		choices := SampleApology(kind, recovery.RemedyReship, true)
		c.apology(fmt.Sprintf("apology %s with %d choices", kind, len(choices.Options)), choices)
		two := SampleApology(kind, recovery.RemedyDiscount, true)
		two.Options, two.Within, two.Name, two.Link, two.Unsubscribe = two.Options[:2], 24*time.Hour, "", "", ""
		c.apology(fmt.Sprintf("apology %s with 2 choices, no name nor links", kind), two)
		// What the call says to a machine, with what the call has.
		c.out("voicemail "+string(kind), "voicemail", ApologyData{OrderID: "1042", Kind: kind}, outVoice)
	}
	for i, kind := range recovery.Kinds {
		healed := append(slices.Clone(HealReasons), "a reason the templates do not know")[i%(len(HealReasons)+1)]
		full := SampleFollowUp(kind, healed)
		bare := FollowUpData{OrderID: full.OrderID, Kind: kind, Healed: healed}
		c.followUp(fmt.Sprintf("follow-up %s (%s)", kind, healed), full)
		c.followUp(fmt.Sprintf("follow-up %s (%s), no name nor code", kind, healed), bare)
	}
	for _, h := range HealReasons {
		c.out("resolution "+h, "resolution", h, outLine)
	}
	for _, remedy := range Remedies {
		o := SampleOffer(remedy)
		c.out("option "+string(remedy), "option", optionData(lang, o), outLine)
		c.out("offer "+string(remedy), "offer", optionData(lang, o), outLine)
		full := SampleApology(recovery.KindLost, remedy, false)
		c.confirmation("confirmation "+string(remedy), full)
		c.confirmation("confirmation "+string(remedy)+", no name nor links",
			ApologyData{OrderID: full.OrderID, Kind: full.Kind, Offer: full.Offer})
	}
	for _, name := range []string{"voice_thanks", "voice_person", "voice_callback", "voice_again", "voice_bye"} {
		c.out("phrase "+name, name, nil, outPhrase)
	}
	for _, name := range []string{"sms_stop", "sms_start", "sms_unknown", "sms_thanks", "survey_thanks", "survey_more", "survey_more_thanks"} {
		c.out("phrase "+name, name, nil, outSMSPhrase)
	}
	c.out("phrase sms_help", "sms_help", sampleOpsPhone, outSMSPhrase, need{sampleOpsPhone, "the phone number of a person"})
	c.out("phrase sms_help, no phone number", "sms_help", "", outSMSPhrase)
}

func (c *checker) apology(label string, d ApologyData) {
	d, err := c.t.apologyData(c.lang, d)
	if err != nil {
		c.fail(label, "option", err)
		return
	}
	var text, sms []need
	if d.Link != "" {
		text = append(text, need{d.Link, "the link to the choice page"})
		sms = append(sms, need{d.Link, "the link to the choice page"})
	}
	if d.Unsubscribe != "" {
		text = append(text, need{d.Unsubscribe, "the unsubscribe link"})
	}
	if len(d.Options) == 0 && d.Offer.Code != "" {
		text = append(text, need{d.Offer.Code, "the discount code"})
		sms = append(sms, need{d.Offer.Code, "the discount code"})
	}
	c.out(label, "subject", d, outSubject, need{d.OrderID, "the order number"})
	c.out(label, "text", d, outText, text...)
	c.out(label, "sms", d, outSMS, sms...)
	c.out(label, "voice", d, outVoice)
	c.out(label, "voicemail", d, outVoice)
}

func (c *checker) followUp(label string, d FollowUpData) {
	d, err := c.t.followUpData(c.lang, d)
	if err != nil {
		c.fail(label, "resolution", err)
		return
	}
	var code []need
	if d.Offer.Code != "" {
		code = append(code, need{d.Offer.Code, "the discount code, still valid"})
	}
	c.out(label, "healed_subject", d, outSubject, need{d.OrderID, "the order number"})
	c.out(label, "healed_text", d, outText, code...)
	c.out(label, "healed_sms", d, outSMS, code...)
}

func (c *checker) confirmation(label string, d ApologyData) {
	d.Amount = FormatMoney(c.lang, d.Offer.Money())
	var text, sms []need
	if d.Offer.Code != "" {
		text = append(text, need{d.Offer.Code, "the discount code"})
		sms = append(sms, need{d.Offer.Code, "the discount code"})
	}
	if d.Unsubscribe != "" {
		text = append(text, need{d.Unsubscribe, "the unsubscribe link"})
	}
	c.out(label, "confirm_subject", d, outSubject, need{d.OrderID, "the order number"})
	c.out(label, "confirm_text", d, outText, text...)
	c.out(label, "confirm_sms", d, outSMS, sms...)
}

// fail reports a template that did not render, where its error says.
func (c *checker) fail(label, define string, err error) {
	p := problemOf(err, c.lang, define, label, true, c.files)
	if p.File == "" {
		p.File, p.Line = c.where(define)
	}
	c.add(p)
}

// out renders one define and checks what it says.
func (c *checker) out(label, define string, data any, kind outKind, needs ...need) {
	var b bytes.Buffer
	if err := c.t.text[c.lang].ExecuteTemplate(&b, define, data); err != nil {
		c.fail(label, define, err)
		return
	}
	s := strings.TrimSpace(b.String())
	file, line := c.where(define)
	problem := func(broken bool, format string, args ...any) {
		c.add(Problem{File: file, Line: line, Define: define, Case: label, Msg: fmt.Sprintf(format, args...), Broken: broken})
	}
	if kind == outSMS || kind == outSMSPhrase {
		s = smsText(s)
	}
	if strings.Contains(s, "<no value>") {
		problem(true, `says "<no value>": it prints something that is not set (docs/templates.md says what each define gets)`)
	}
	if s == "" {
		problem(kind != outPhrase && kind != outSMSPhrase, "is empty")
		return
	}
	switch kind {
	case outSubject:
		if strings.ContainsAny(s, "\r\n") {
			problem(true, "a subject is one line, not %d", strings.Count(s, "\n")+1)
		}
	case outSMS, outSMSPhrase:
		if n, ucs2 := SMSSegments(s); n > c.segments {
			enc := "GSM-7"
			if ucs2 {
				enc = "UCS-2, for " + strconv.Quote(nonGSM(s))
			}
			c.add(Problem{File: file, Line: line, Define: define, Case: label, key: "sms segments", weight: n,
				Msg: fmt.Sprintf("an SMS of %d characters takes %d segments (%s), more than %d", len([]rune(s)), n, enc, c.segments)})
		}
	case outVoice:
		if strings.Contains(s, "http") {
			problem(false, "a call reads out a link")
		}
	}
	for _, n := range needs {
		if !strings.Contains(s, n.text) {
			problem(false, "does not say %s (%s)", n.what, n.text)
		}
	}
}

// problemOf turns a text/template error into a problem at the file and
// line it names: "template: NAME:LINE[:COL]: [executing "DEFINE" at <…>: ]MSG".
func problemOf(err error, lang, define, label string, broken bool, files map[string]string) Problem {
	p := Problem{Lang: lang, Define: define, Case: label, Msg: err.Error(), Broken: broken}
	msg := err.Error()
	for name, shown := range files {
		i := strings.Index(msg, "template: "+name+":")
		if i < 0 {
			continue
		}
		rest := msg[i+len("template: "+name+":"):]
		lineText, after, ok := strings.Cut(rest, ":")
		line, err := strconv.Atoi(lineText)
		if !ok || err != nil {
			continue
		}
		if col, more, ok := strings.Cut(after, ":"); ok {
			if _, err := strconv.Atoi(col); err == nil {
				after = more
			}
		}
		p.File, p.Line, p.Msg = shown, line, strings.TrimSpace(after)
		// "unclosed action started at NAME:3" is found at the end of the
		// file: where it starts is where to look.
		if rest, ok := strings.CutPrefix(p.Msg, "unclosed action started at "+name+":"); ok {
			if start, err := strconv.Atoi(rest); err == nil {
				p.Line, p.Msg = start, "unclosed action: no }} closes it"
			}
		}
		if rest, ok := strings.CutPrefix(p.Msg, `executing "`); ok {
			if d, _, ok := strings.Cut(rest, `"`); ok {
				p.Define = d
			}
		}
		break
	}
	return p
}

// The GSM 03.38 alphabet: its basic set, and the extension table whose
// characters take two septets.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// nonGSM lists the characters of s outside GSM-7.
func nonGSM(s string) string {
	var out []rune
	for _, r := range s {
		if !strings.ContainsRune(gsmBasic+gsmExtension, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return string(out)
}

// smsText is a text as an SMS sends it: with plain spaces for the
// non-breaking ones of amounts ("13,50 €"), which GSM-7 does not have
// (one would send the whole SMS as UCS-2, at twice the segments).
func smsText(s string) string {
	return strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(s)
}

// SMSSegments says how many segments an SMS takes, and whether it is sent
// as UCS-2 (any character outside GSM-7: 70 characters alone, 67 a
// segment) rather than GSM-7 (160, 153 a segment).
func SMSSegments(s string) (segments int, ucs2 bool) {
	units := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			units++
		case strings.ContainsRune(gsmExtension, r):
			units += 2
		default:
			ucs2 = true
		}
	}
	single, part := 160, 153
	if ucs2 {
		units, single, part = len(utf16.Encode([]rune(s))), 70, 67
	}
	if units <= single {
		return 1, ucs2
	}
	return (units + part - 1) / part, ucs2
}
