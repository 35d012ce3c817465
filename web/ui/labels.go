package ui

import (
	"strings"
)

// customerLabel names a paying person for people: the e-mail when known, else the Stripe customer id,
// else — a guest who paid once without either — "Guest · " and the payment or order id, never a bare
// internal key such as "payment:api:ord_1" or a generic "customer".
func customerLabel(email, id string) string {
	if email != "" {
		return email
	}
	if rest, ok := strings.CutPrefix(id, "payment:"); ok {
		if order, ok := strings.CutPrefix(rest, "api:"); ok {
			return "Guest · order " + order
		}
		return "Guest · " + rest
	}
	if id == "" {
		return "Guest"
	}
	return id
}
