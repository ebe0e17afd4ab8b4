package recovery

import "time"

// Kind names a way an order can go wrong (DESIGN §5).
type Kind string

// The incident kinds the engine detects.
const (
	KindMisrouted        Kind = "misrouted"
	KindLate             Kind = "late"
	KindStalled          Kind = "stalled"
	KindNotPickedUp      Kind = "not_picked_up"
	KindCarrierException Kind = "carrier_exception"
	KindReturnedToSender Kind = "returned_to_sender"
	KindLost             Kind = "lost"
	KindOutOfStock       Kind = "out_of_stock"
	KindWrongItem        Kind = "wrong_item"
	// KindAtRisk: the carrier's estimated delivery moved past the promised
	// time, which has not passed yet. If the promise passes first, the same
	// incident becomes late.
	KindAtRisk Kind = "at_risk"
)

// Incident statuses.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
	IncidentHealed   = "healed"
)

// Remedy names a remedy the engine can offer.
type Remedy string

// The remedies of DESIGN §6.
const (
	RemedyDiscount    Remedy = "discount"
	RemedySubstitute  Remedy = "substitute"
	RemedyReship      Remedy = "reship"
	RemedyStoreCredit Remedy = "store_credit"
	RemedyRefund      Remedy = "refund"
)

// Offer statuses.
const (
	OfferPending  = "pending"
	OfferApproved = "approved"
	OfferRejected = "rejected"
)

// Contact channels and statuses.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelVoice = "voice"

	ContactSending = "sending"
	ContactSent    = "sent"
	ContactFailed  = "failed"
)

// Incident is one detected problem with one shipment (or order) of one kind.
type Incident struct {
	ID         string    `json:"id"`
	OrderID    string    `json:"order_id"`
	ShipmentID string    `json:"shipment_id"`
	Kind       Kind      `json:"kind"`
	Status     string    `json:"status"`
	DetectedAt time.Time `json:"detected_at"`
	Evidence   []string  `json:"evidence"`
	// Reason says in plain words what the detector saw.
	Reason     string `json:"reason,omitempty"`
	WorkflowID string `json:"workflow_id,omitempty"`
	// CustomerKey identifies the customer for the guards (see CustomerKey);
	// not shown.
	CustomerKey string `json:"-"`
	// Decision is what the remedy policy decided, with its version and the
	// reason each rule matched or not.
	Decision *RemedyDecision `json:"decision,omitempty"`
	// Resolution says how a closed incident ended, e.g. "healed: delivered".
	Resolution string     `json:"resolution,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Offer      *Offer     `json:"offer,omitempty"`
	Contacts   []Contact  `json:"contacts"`
	// Audit lists who did what to the remedy, oldest first (one incident
	// read only).
	Audit []AuditEntry `json:"audit,omitempty"`
	// Replies are the customer's email replies (single incident reads).
	Replies []Reply `json:"replies,omitempty"`
	// Survey is the customer's verdict (OW, HOW or WOW), once given.
	Survey *Survey `json:"survey,omitempty"`
}

// Offer is the remedy put on the table for an incident.
type Offer struct {
	Remedy     Remedy `json:"remedy"`
	ValueMinor int64  `json:"value_minor"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	// Code is the discount code, when the remedy is a discount.
	Code       string    `json:"code,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitempty"`
	// ExpiresAt bounds a code or store credit.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Expedited asks for faster shipping on a reship.
	Expedited bool `json:"expedited,omitempty"`
	// SubstituteSKU and SubstituteName name the product offered instead of
	// the one ordered.
	SubstituteSKU  string `json:"substitute_sku,omitempty"`
	SubstituteName string `json:"substitute_name,omitempty"`
	// Options are the remedies the customer chooses from.
	Options []Offer `json:"options,omitempty"`
	// Note says in plain words what happened to the offer (who rejected it,
	// which remedy failed and what was done instead).
	Note string `json:"note,omitempty"`
}

// Money returns the offer's value with its currency.
func (o Offer) Money() Money { return Money{Minor: o.ValueMinor, Currency: o.Currency} }

// Reply is a customer's email reply to one of an incident's messages.
type Reply struct {
	Step       int       `json:"step"`
	From       string    `json:"from"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	ReceivedAt time.Time `json:"received_at"`
}

// Contact is one message sent (or being sent) to the customer about an
// incident. (IncidentID, Step, Channel) is unique: the ledger key that makes
// each ladder step happen at most once.
type Contact struct {
	IncidentID string     `json:"-"`
	Step       int        `json:"step"`
	Channel    string     `json:"channel"`
	To         string     `json:"to"`
	Subject    string     `json:"subject,omitempty"`
	Body       string     `json:"body"`
	Locale     string     `json:"locale,omitempty"`
	Status     string     `json:"status"`
	ProviderID string     `json:"provider_id,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
	// Outcome is the latest news of the step (delivered, opened, failed,
	// voicemail, responded), Detail the provider's word for it.
	Outcome string `json:"outcome,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// HandledAt, HandledBy and HandledNote say who in the console saw to
	// a request for a person on this step, and what they did.
	HandledAt   *time.Time `json:"handled_at,omitempty"`
	HandledBy   string     `json:"handled_by,omitempty"`
	HandledNote string     `json:"handled_note,omitempty"`
}

// IncidentFilter narrows a listing of incidents; empty fields match
// everything.
type IncidentFilter struct {
	OrderID string
	Status  string
	Kind    string
	Limit   int
	// After, when set, starts the list after this incident in the list's
	// order (detected_at descending, then id): the cursor of a page.
	After *IncidentCursor
}

// IncidentCursor is a position in the list of incidents.
type IncidentCursor struct {
	DetectedAt time.Time
	ID         string
}

// Kinds lists every incident kind.
var Kinds = []Kind{
	KindMisrouted, KindLate, KindStalled, KindNotPickedUp, KindCarrierException,
	KindReturnedToSender, KindLost, KindOutOfStock, KindWrongItem, KindAtRisk,
}
