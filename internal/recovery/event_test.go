package recovery

import "testing"

// TestIncidentCode: a carrier exception's code is the carrier's, in lower
// case and trimmed; without one it says whether delivery was attempted.
func TestIncidentCode(t *testing.T) {
	for _, c := range []struct{ status, code, want string }{
		{StatusException, " Damaged ", ExceptionDamaged},
		{StatusFailedAttempt, "", ExceptionFailedAttempt},
		{StatusFailedAttempt, "notice_left", "notice_left"},
		{StatusException, "", ExceptionOther},
	} {
		if got := IncidentCode(c.status, c.code); got != c.want {
			t.Errorf("IncidentCode(%q, %q) = %q, want %q", c.status, c.code, got, c.want)
		}
	}
}
