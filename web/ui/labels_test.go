package ui

import "testing"

func TestCustomerLabel(t *testing.T) {
	tests := []struct{ email, id, want string }{
		{"ann@example.com", "cus_ann", "ann@example.com"},
		{"", "cus_ann", "cus_ann"},
		{"", "payment:api:ord_42", "Guest · order ord_42"},
		{"", "payment:pi_3abc", "Guest · pi_3abc"},
		{"", "", "Guest"},
	}
	for _, tc := range tests {
		if got := customerLabel(tc.email, tc.id); got != tc.want {
			t.Errorf("customerLabel(%q, %q) = %q, want %q", tc.email, tc.id, got, tc.want)
		}
	}
}
