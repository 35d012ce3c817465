package stripesim_test

import (
	"fmt"

	"github.com/tributary/tributary/stripe/stripesim"
)

// A property test feeds a selection of a flow's events to the reconciler, in any order and any number of
// times, and compares its totals with Expect for that selection.
func ExampleFlow_Expect() {
	for _, f := range stripesim.Flows("2025-03-31.basil") {
		if f.Name != "refund_partial_multiple" {
			continue
		}
		sel := f.Select(stripesim.Selections()["A"])
		fmt.Println(len(f.Only(sel)), "of", len(f.Events), "events selected")
		fmt.Printf("%+v\n", f.Expect(sel))
		fmt.Printf("%+v\n", f.Truth)
	}
	// Output:
	// 5 of 10 events selected
	// {Currency:USD Gross:10000 Refunded:5000 Disputed:0 Payments:1}
	// {Currency:USD Gross:10000 Refunded:5000 Disputed:0 Payments:1}
}
