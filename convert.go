package tributary

// Conversion is what EventStore.ConvertPending changed: the ledger entries and MRR movements that were
// waiting for an exchange rate and now have one, and how many still wait.
type Conversion struct {
	Entries   []string `json:"entries"`   // ids of the converted ledger entries
	Movements []string `json:"movements"` // ids of the converted MRR movements
	Pending   int      `json:"pending"`   // entries and movements still without a rate
}

// ConvertMovementsWith fills the reporting fields of MRR movements through a converter of ledger
// entries (a movement's delta converts like an entry's amount at its time), so a backend converts both
// with the same function.
func ConvertMovementsWith(ms []MRRMovement, convert func([]LedgerEntry) error) error {
	if len(ms) == 0 {
		return nil
	}
	es := make([]LedgerEntry, len(ms))
	for i, m := range ms {
		es[i] = LedgerEntry{ID: m.ID, SiteID: m.SiteID, Livemode: m.Livemode, OccurredAt: m.At, Amount: m.Delta, Currency: m.Currency,
			ReportingCurrency: m.ReportingCurrency, CustomerID: m.CustomerID, SubscriptionID: m.SubscriptionID, Source: m.Source}
	}
	if err := convert(es); err != nil {
		return err
	}
	for i := range ms {
		ms[i].ReportingDelta, ms[i].ReportingCurrency, ms[i].Converted = es[i].ReportingAmount, es[i].ReportingCurrency, es[i].Converted
	}
	return nil
}
