package ingest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// isE164 reports a phone number in E.164 form, ^\+[1-9][0-9]{7,14}$
// (a loop, not a regular expression: it runs for every order).
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isLocale reports a language tag of the form
// ^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$.
func isLocale(s string) bool {
	isLetter := func(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
	n := 0
	for n < len(s) && isLetter(s[n]) {
		n++
	}
	if n < 2 || n > 3 {
		return false
	}
	for i := n; i < len(s); {
		if s[i] != '-' && s[i] != '_' {
			return false
		}
		j := i + 1
		for j < len(s) && (isLetter(s[j]) || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j-i-1 < 2 || j-i-1 > 8 {
			return false
		}
		i = j
	}
	return true
}

// checkData validates the payload of an event of type typ, in place.
func checkData(c *checker, typ string, d obj, raw []byte) {
	// JSON can carry NUL only escaped; without that escape there is nothing
	// to look for.
	if bytes.Contains(raw, []byte(`\u0000`)) {
		noNUL(c, value{kind: kindObject, kids: d}, "data")
	}
	needOrder := typ != recovery.TypeInventoryChanged && typ != recovery.TypeCustomerUpdated
	if id := c.ident(d, "order_id", "data.order_id", needOrder); id != "" {
		if v, _ := d.get("order_id"); v.s != id {
			d.set("order_id", textValue(id))
			c.changed = true
		}
	}
	switch typ {
	case recovery.TypeOrderCreated:
		checkOrder(c, d, true)
	case recovery.TypeOrderUpdated:
		checkOrder(c, d, false)
	case recovery.TypeShipmentCreated:
		checkShipment(c, d)
	case recovery.TypeShipmentTracking:
		checkTracking(c, d)
	case recovery.TypeInventoryChanged:
		c.ident(d, "sku", "data.sku", true)
		c.integer(d, "available", "data.available", true, -MaxQuantity, MaxQuantity)
	case recovery.TypeCustomerContacted:
		if ch := c.str(d, "channel", "data.channel", false); ch != "" && !slices.Contains(recovery.ContactChannels, ch) {
			c.add("data.channel", "is not a known channel; use one of "+strings.Join(recovery.ContactChannels, ", "))
		}
		c.ident(d, "via", "data.via", false)
		c.ident(d, "ticket", "data.ticket", false)
	case recovery.TypeCustomerUpdated:
		if cust, ok := c.child(d, "customer", "data.customer"); ok {
			checkCustomer(c, cust, "data.customer", false)
		} else if _, present := d.get("customer"); !present {
			c.add("data.customer", "is required")
		}
	}
}

// checkOrder validates order.created (full) and order.updated (partial:
// only what is present is checked).
func checkOrder(c *checker, d obj, full bool) {
	if cur := c.str(d, "currency", "data.currency", full); cur != "" && !recovery.ValidCurrency(cur) {
		c.add("data.currency", "must be an ISO 4217 code in upper case, such as EUR")
	}
	c.integer(d, "total_minor", "data.total_minor", full, 0, recovery.MaxMinor)
	c.timestamp(d, "promised_delivery", "data.promised_delivery", false)
	if cust, ok := c.child(d, "customer", "data.customer"); ok {
		checkCustomer(c, cust, "data.customer", full)
	} else if full && d.absent("customer") {
		c.add("data.customer", "is required, with an email or a phone")
	}
	if addr, ok := c.child(d, "shipping_address", "data.shipping_address"); ok {
		c.location(addr, "data.shipping_address", true, true)
	} else if full && d.absent("shipping_address") {
		c.add("data.shipping_address", "is required, with country and postal_code")
	}
	lines, _ := d.get("lines")
	if lines.kind == kindNull {
		if full {
			c.add("data.lines", "is required: at least one order line")
		}
		return
	}
	if lines.kind != kindArray || (full && len(lines.kids) == 0) {
		c.add("data.lines", "must be an array with at least one order line")
		return
	}
	c.eachLine(lines.kids, func(line obj) {
		c.integer(line, "unit_price_minor", "unit_price_minor", true, 0, recovery.MaxMinor)
		c.text(line, "name", "name", false, MaxTextLen)
		c.text(line, "category", "category", false, MaxNameLen)
	})
}

// checkCustomer validates contact details; needContact demands an email or
// a phone.
func checkCustomer(c *checker, cust obj, path string, needContact bool) {
	defer c.under(path)()
	email := c.text(cust, "email", "email", false, 254)
	phone := c.text(cust, "phone", "phone", false, 16)
	if needContact && email == "" && phone == "" {
		c.addFull(path, "needs an email or a phone so the customer can be contacted")
	}
	if email != "" {
		if !recovery.PlausibleEmail(email) {
			c.add("email", "must be a plain email address such as name@example.com")
		}
	}
	if phone != "" && !isE164(phone) {
		c.add("phone", "must be in E.164 form: + then 8 to 15 digits, such as +15551234567")
	}
	if l := c.text(cust, "locale", "locale", false, 35); l != "" && !isLocale(l) {
		c.add("locale", "must be a language tag such as de-DE or en")
	}
	if tz := c.text(cust, "time_zone", "time_zone", false, 64); tz != "" {
		if !validZone(tz) {
			c.add("time_zone", "must be an IANA time zone such as Europe/Berlin")
		}
	}
	c.ident(cust, "id", "id", false)
	c.text(cust, "name", "name", false, MaxNameLen)
}

func checkShipment(c *checker, d obj) {
	c.ident(d, "shipment_id", "data.shipment_id", true)
	for _, k := range []string{"carrier", "service", "tracking_number"} {
		c.ident(d, k, "data."+k, false)
	}
	if origin, ok := c.child(d, "origin", "data.origin"); ok {
		c.location(origin, "data.origin", true, false)
	}
	checkShipmentLines(c, d)
}

func checkShipmentLines(c *checker, d obj) {
	lines, _ := d.get("lines")
	if lines.kind == kindNull {
		return
	}
	if lines.kind != kindArray {
		c.add("data.lines", "must be an array")
		return
	}
	c.eachLine(lines.kids, func(obj) {})
}

// eachLine checks what every order or shipment line needs (an object with
// a SKU and a positive quantity) and hands each line to more checks.
func (c *checker) eachLine(list []member, more func(line obj)) {
	if len(list) > MaxLines {
		c.add("data.lines", fmt.Sprintf("holds %d lines; at most %d are accepted", len(list), MaxLines))
		return
	}
	for i, l := range list {
		path := "data.lines[" + strconv.Itoa(i) + "]"
		if l.val.kind != kindObject {
			c.add(path, "must be an object")
			continue
		}
		line := obj(l.val.kids)
		restore := c.under(path)
		c.ident(line, "sku", "sku", true)
		c.ident(line, "id", "id", false)
		c.integer(line, "quantity", "quantity", true, 1, MaxQuantity)
		more(line)
		restore()
	}
}

func checkTracking(c *checker, d obj) {
	c.ident(d, "shipment_id", "data.shipment_id", true)
	if s := c.str(d, "status", "data.status", true); s != "" && !slices.Contains(recovery.TrackingStatuses, s) {
		c.add("data.status", "is not a known status; use one of "+strings.Join(recovery.TrackingStatuses, ", "))
	}
	if loc, ok := c.child(d, "location", "data.location"); ok {
		c.location(loc, "data.location", true, false)
	} else if d.absent("location") {
		c.add("data.location", "is required, with the scan's country")
	}
	for _, k := range []string{"carrier", "tracking_number", "exception_code"} {
		c.ident(d, k, "data."+k, false)
	}
	c.text(d, "description", "data.description", false, MaxTextLen)
	c.timestamp(d, "estimated_delivery", "data.estimated_delivery", false)
}

// noNUL rejects strings holding NUL, which Postgres cannot store in JSON.
func noNUL(c *checker, v value, path string) {
	switch v.kind {
	case kindString:
		if strings.ContainsRune(v.s, 0) {
			c.add(path, "must not contain NUL characters")
		}
	case kindObject:
		// The members that count (a repeated key's last), by key, so that
		// the errors come in the same order however the object was decoded.
		last := make(map[string]value, len(v.kids))
		for _, m := range v.kids {
			last[m.key] = m.val
		}
		for _, k := range slices.Sorted(maps.Keys(last)) {
			noNUL(c, last[k], path+"."+k)
		}
	case kindArray:
		for i, e := range v.kids {
			noNUL(c, e.val, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// zones remembers the IANA zone names already found valid, so that a busy
// ingest does not read the zone database from disk for every event. Only
// valid names are kept, which bounds it to the size of the database.
var zones sync.Map

func validZone(tz string) bool {
	if _, ok := zones.Load(tz); ok {
		return true
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" || tz == "" {
		return false
	}
	zones.Store(tz, struct{}{})
	return true
}
