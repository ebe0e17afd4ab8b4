package recovery

import (
	"encoding/json"
	"fmt"
	"time"
)

// The durations of a decision read as text in JSON ("30d", "4h0m0s"), not
// nanoseconds; numbers (older payloads) are still understood.

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func parseDurationJSON(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return time.Duration(n), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("duration: %s is neither text nor a number", raw)
	}
	if s == "" {
		return 0, nil
	}
	return ParseDays(s)
}

// MarshalJSON writes expires_in as text.
func (o RemedyOffer) MarshalJSON() ([]byte, error) {
	type plain RemedyOffer
	return json.Marshal(struct {
		plain
		ExpiresIn string `json:"expires_in,omitempty"`
	}{plain(o), durationText(o.ExpiresIn)})
}

// UnmarshalJSON reads expires_in as text or nanoseconds.
func (o *RemedyOffer) UnmarshalJSON(b []byte) error {
	type plain RemedyOffer
	aux := struct {
		*plain
		ExpiresIn json.RawMessage `json:"expires_in,omitempty"`
	}{plain: (*plain)(o)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	o.ExpiresIn, err = parseDurationJSON(aux.ExpiresIn)
	return err
}

// MarshalJSON writes escalate_after and deadline as text.
func (a ApprovalRule) MarshalJSON() ([]byte, error) {
	type plain ApprovalRule
	return json.Marshal(struct {
		plain
		EscalateAfter string `json:"escalate_after,omitempty"`
		Deadline      string `json:"deadline,omitempty"`
	}{plain(a), durationText(a.EscalateAfter), durationText(a.Deadline)})
}

// UnmarshalJSON reads escalate_after and deadline as text or nanoseconds.
func (a *ApprovalRule) UnmarshalJSON(b []byte) error {
	type plain ApprovalRule
	aux := struct {
		*plain
		EscalateAfter json.RawMessage `json:"escalate_after,omitempty"`
		Deadline      json.RawMessage `json:"deadline,omitempty"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	if a.EscalateAfter, err = parseDurationJSON(aux.EscalateAfter); err != nil {
		return err
	}
	a.Deadline, err = parseDurationJSON(aux.Deadline)
	return err
}

// MarshalJSON writes choice_timeout as text.
func (d RemedyDecision) MarshalJSON() ([]byte, error) {
	type plain RemedyDecision
	return json.Marshal(struct {
		plain
		ChoiceTimeout string `json:"choice_timeout,omitempty"`
		StepTimeout   string `json:"step_timeout,omitempty"`
	}{plain(d), durationText(d.ChoiceTimeout), durationText(d.StepTimeout)})
}

// UnmarshalJSON reads choice_timeout as text or nanoseconds.
func (d *RemedyDecision) UnmarshalJSON(b []byte) error {
	type plain RemedyDecision
	aux := struct {
		*plain
		ChoiceTimeout json.RawMessage `json:"choice_timeout,omitempty"`
		StepTimeout   json.RawMessage `json:"step_timeout,omitempty"`
	}{plain: (*plain)(d)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	if d.ChoiceTimeout, err = parseDurationJSON(aux.ChoiceTimeout); err != nil {
		return err
	}
	d.StepTimeout, err = parseDurationJSON(aux.StepTimeout)
	return err
}
