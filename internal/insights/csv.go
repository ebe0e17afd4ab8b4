package insights

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader names the columns of WriteCSV.
var CSVHeader = []string{"group", "incidents", "detection_p50_s", "detection_p90_s", "first_contact_p50_s", "first_contact_p90_s",
	"proactive", "proactive_of", "proactive_rate", "healed_silently", "healed_after_contact", "offers", "applied", "rejected",
	"failed", "chose_self", "defaulted", "acceptance", "time_to_person_p50_s", "time_to_person_p90_s", "cost", "ow", "how", "wow",
	"repeat_customers"}

// WriteCSV writes the report a row per group, the total first.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, g := range append([]Group{r.Total}, r.Groups...) {
		key := g.Key
		if key == "" {
			key = "total"
		}
		var cost []string
		for _, m := range g.Cost {
			cost = append(cost, fmt.Sprintf("%d %s", m.Minor, m.Currency))
		}
		row := []string{key, strconv.Itoa(g.Incidents), f(g.Detection.P50), f(g.Detection.P90), f(g.FirstContact.P50),
			f(g.FirstContact.P90), strconv.Itoa(g.Proactive.Count), strconv.Itoa(g.Proactive.Of), f(g.Proactive.Rate),
			strconv.Itoa(g.HealedSilently), strconv.Itoa(g.HealedAfterContact), strconv.Itoa(g.Offers.Made),
			strconv.Itoa(g.Offers.Applied), strconv.Itoa(g.Offers.Rejected), strconv.Itoa(g.Offers.Failed),
			strconv.Itoa(g.Offers.ChoseSelf), strconv.Itoa(g.Offers.Defaulted), f(g.Offers.Acceptance), f(g.TimeToPerson.P50),
			f(g.TimeToPerson.P90), strings.Join(cost, "; "), strconv.Itoa(g.Survey.OW), strconv.Itoa(g.Survey.HOW),
			strconv.Itoa(g.Survey.WOW), strconv.Itoa(g.RepeatCustomers)}
		for i, c := range row {
			// A cell a spreadsheet would run as a formula (a carrier or a
			// source named so) is defused.
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) && i == 0 {
				row[i] = "'" + c
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
