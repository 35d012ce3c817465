package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// PaymentLink returns the newest link of a payment. Ties on time resolve by rowid: the later write wins.
func (s *Store) PaymentLink(ctx context.Context, siteID, paymentID string) (*tributary.Identity, error) {
	i, err := sqlmeta.ScanIdentity(s.db.QueryRowContext(ctx, `SELECT `+sqlmeta.IdentityCols+` FROM identities
		WHERE site_id = $1 AND payment_id = $2 ORDER BY ts DESC, rowid DESC LIMIT 1`, siteID, paymentID))
	if err == sql.ErrNoRows {
		return nil, notFound("payment link", paymentID)
	}
	return &i, mapErr("get payment link", err)
}

// PaymentLinks returns the newest link of each listed payment that has one.
func (s *Store) PaymentLinks(ctx context.Context, siteID string, paymentIDs []string) (map[string]*tributary.Identity, error) {
	out := map[string]*tributary.Identity{}
	if len(paymentIDs) == 0 {
		return out, nil
	}
	args := []any{siteID}
	ps := make([]string, len(paymentIDs))
	for i, p := range paymentIDs {
		args = append(args, p)
		ps[i] = fmt.Sprintf("$%d", i+2)
	}
	list, err := s.identities(ctx, "get payment links", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY ts DESC, rowid DESC) AS rn
			FROM identities WHERE site_id = $1 AND payment_id IN (`+strings.Join(ps, ",")+`)) t
		WHERE rn = 1`, args...)
	if err != nil {
		return nil, err
	}
	for i := range list {
		out[list[i].PaymentID] = &list[i]
	}
	return out, nil
}

// PaymentsToReview lists payments whose newest link is unattributed, newest first.
func (s *Store) PaymentsToReview(ctx context.Context, siteID string, limit int) ([]tributary.Identity, error) {
	return s.identities(ctx, "list payments to review", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY ts DESC, rowid DESC) AS rn
			FROM identities WHERE site_id = $1 AND payment_id <> '') t
		WHERE rn = 1 AND link_method = 'unattributed' ORDER BY ts DESC, payment_id LIMIT $2`, siteID, limit)
}

func (s *Store) identities(ctx context.Context, op, q string, args ...any) ([]tributary.Identity, error) {
	out, err := sqlmeta.Query(ctx, s.db, sqlmeta.ScanIdentity, q, args...)
	return out, mapErr(op, err)
}

func (s *Store) linkTarget(ctx context.Context, q string, args ...any) (*tributary.LinkTarget, error) {
	var t tributary.LinkTarget
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&t.VisitorID, &t.SessionID, &t.At)
	if err == sql.ErrNoRows {
		return nil, notFound("link", "")
	}
	return &t, mapErr("find link", err)
}

// VisitorByCustomer finds the newest visitor fact of a customer.
func (s *Store) VisitorByCustomer(ctx context.Context, siteID, customerID string, before time.Time) (*tributary.LinkTarget, error) {
	return s.linkTarget(ctx, `SELECT visitor_id, session_id, ts FROM identities
		WHERE site_id = $1 AND customer_id = $2 AND visitor_id <> '' AND ts <= $3 ORDER BY ts DESC, rowid DESC LIMIT 1`,
		siteID, customerID, before.UTC())
}

// VisitorByEmail finds the newest identify of an e-mail.
func (s *Store) VisitorByEmail(ctx context.Context, siteID, email string, before time.Time) (*tributary.LinkTarget, error) {
	return s.linkTarget(ctx, `SELECT visitor_id, session_id, ts FROM identities
		WHERE site_id = $1 AND email = $2 AND visitor_id <> '' AND payment_id = '' AND ts <= $3 ORDER BY ts DESC, rowid DESC LIMIT 1`,
		siteID, email, before.UTC())
}

// UnattributedPayments lists payments whose newest link is unattributed and could still be matched.
func (s *Store) UnattributedPayments(ctx context.Context, siteID string, limit int) ([]tributary.Identity, error) {
	return s.identities(ctx, "list unattributed payments", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY ts DESC, rowid DESC) AS rn
			FROM identities WHERE site_id = $1 AND payment_id <> '') t
		WHERE rn = 1 AND link_method = 'unattributed' AND (customer_id <> '' OR email <> '')
		ORDER BY ts LIMIT $2`, siteID, limit)
}

// NewestVisitorFacts finds the newest visitor fact of each customer and e-mail in two queries.
func (s *Store) NewestVisitorFacts(ctx context.Context, siteID string, customers, emails []string) (map[string]*tributary.LinkTarget, map[string]*tributary.LinkTarget, error) {
	byCustomer, err := s.newestBy(ctx, siteID, "customer_id", "", customers)
	if err != nil {
		return nil, nil, err
	}
	byEmail, err := s.newestBy(ctx, siteID, "email", " AND payment_id = ''", emails)
	return byCustomer, byEmail, err
}

func (s *Store) newestBy(ctx context.Context, siteID, col, extra string, keys []string) (map[string]*tributary.LinkTarget, error) {
	out := map[string]*tributary.LinkTarget{}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := []any{siteID}
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT k, visitor_id, session_id, ts FROM (
				SELECT `+col+` AS k, visitor_id, session_id, ts, row_number() OVER (PARTITION BY `+col+` ORDER BY ts DESC, rowid DESC) AS rn
				FROM identities WHERE site_id = $1 AND visitor_id <> ''`+extra+` AND `+col+` IN (`+placeholders(2, len(chunk))+`)) t WHERE rn = 1`, args...)
		if err != nil {
			return nil, mapErr("find links", err)
		}
		for rows.Next() {
			var k string
			var t tributary.LinkTarget
			if err := rows.Scan(&k, &t.VisitorID, &t.SessionID, &t.At); err != nil {
				rows.Close()
				return nil, mapErr("find links", err)
			}
			out[k] = &t
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr("find links", err)
		}
	}
	return out, nil
}

// UnattributedPaymentsOf lists the unattributed payments of the given customers.
func (s *Store) UnattributedPaymentsOf(ctx context.Context, siteID string, customers []string, limit int) ([]tributary.Identity, error) {
	if len(customers) == 0 {
		return nil, nil
	}
	customers = customers[:min(len(customers), 500)]
	args := []any{siteID, limit}
	for _, c := range customers {
		args = append(args, c)
	}
	return s.identities(ctx, "list unattributed payments", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY ts DESC, rowid DESC) AS rn
			FROM identities WHERE site_id = $1 AND payment_id IN (SELECT payment_id FROM identities WHERE site_id = $1 AND payment_id <> ''
				AND customer_id IN (`+placeholders(3, len(customers))+`))) t
		WHERE rn = 1 AND link_method = 'unattributed' ORDER BY ts LIMIT $2`, args...)
}
