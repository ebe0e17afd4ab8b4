package recoverytest

import "testing"

func TestMemStoreKeepsTheHistoryContract(t *testing.T) {
	s := NewMemStore()
	HistoryContract(t, s, s.SetOfferTimes)
}
