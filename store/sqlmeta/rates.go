package sqlmeta

import (
	"context"

	"github.com/tributary/tributary"
)

// PutExchangeRates upserts rates in one transaction.
func (s *Store) PutExchangeRates(ctx context.Context, rates []tributary.ExchangeRate) (int, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.unavailable("put exchange rates", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO exchange_rates (date, currency, per_eur) VALUES ($1, $2, $3)
		ON CONFLICT (date, currency) DO UPDATE SET per_eur = excluded.per_eur`)
	if err != nil {
		return 0, s.mapErr("put exchange rates", err)
	}
	defer stmt.Close()
	for _, r := range rates {
		if _, err := stmt.ExecContext(ctx, r.Date, r.Currency, r.PerEUR); err != nil {
			return 0, s.mapErr("put exchange rate", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, s.unavailable("put exchange rates commit", err)
	}
	return len(rates), nil
}

// ExchangeRates returns every stored rate.
func (s *Store) ExchangeRates(ctx context.Context) ([]tributary.ExchangeRate, error) {
	out, err := Query(ctx, s.DB, scanRate, `SELECT date, currency, per_eur FROM exchange_rates ORDER BY date, currency`)
	return out, s.mapErr("list exchange rates", err)
}

func scanRate(row Scanner) (r tributary.ExchangeRate, err error) {
	err = row.Scan(&r.Date, &r.Currency, &r.PerEUR)
	return r, err
}
