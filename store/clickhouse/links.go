package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tributary/tributary"
	"github.com/tributary/tributary/store/sqlmeta"
)

// insertIdentities appends identity facts in one block; rowid records the write order so that, among
// facts of the same second, the later write is the newer one, as in the other backends.
func (s *Store) insertIdentities(ctx context.Context, ids []tributary.Identity) error {
	if len(ids) == 0 {
		return nil
	}
	return s.batch(ctx, "insert identities", `INSERT INTO identities (`+sqlmeta.IdentityCols+`, rowid)`, len(ids), func(k int) []any {
		i := &ids[k]
		return []any{i.SiteID, i.At.UTC(), i.VisitorID, i.SessionID, i.PersonID, i.CustomerID, i.Email, i.PaymentID, i.LinkMethod,
			i.Source, i.Channel, i.ReferrerSource, i.UTMSource, i.UTMMedium, i.UTMCampaign, s.seq()}
	})
}

// PaymentLink returns the newest link of a payment.
func (s *Store) PaymentLink(ctx context.Context, siteID, paymentID string) (*tributary.Identity, error) {
	i, err := sqlmeta.ScanIdentity(s.db.QueryRowContext(ctx, `SELECT `+sqlmeta.IdentityCols+` FROM identities
		WHERE site_id = $1 AND payment_id = $2 ORDER BY ts DESC, rowid DESC LIMIT 1`, siteID, paymentID))
	if err == sql.ErrNoRows {
		return nil, notFound("payment link", paymentID)
	}
	if err != nil {
		return nil, mapErr("get payment link", err)
	}
	return &i, nil
}

// PaymentLinks returns the newest link of each listed payment that has one (LIMIT 1 BY: 18.16 has no
// window functions).
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
	list, err := s.identities(ctx, "get payment links", `SELECT `+sqlmeta.IdentityCols+` FROM identities WHERE site_id = $1 AND payment_id IN (`+
		strings.Join(ps, ",")+`) ORDER BY ts DESC, rowid DESC LIMIT 1 BY payment_id`, args...)
	for i := range list {
		out[list[i].PaymentID] = &list[i]
	}
	return out, err
}

// PaymentsToReview lists payments whose newest link is unattributed, newest first.
func (s *Store) PaymentsToReview(ctx context.Context, siteID string, limit int) ([]tributary.Identity, error) {
	return s.identities(ctx, "list payments to review", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT `+sqlmeta.IdentityCols+`, rowid FROM identities WHERE site_id = $1 AND payment_id <> ''
			ORDER BY ts DESC, rowid DESC LIMIT 1 BY payment_id)
		WHERE link_method = 'unattributed' ORDER BY ts DESC, payment_id LIMIT $2`, siteID, limit)
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
	if err != nil {
		return nil, mapErr("find link", err)
	}
	return &t, nil
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
// 18.16 has no window functions; LIMIT 1 BY keeps the newest fact of each payment instead.
func (s *Store) UnattributedPayments(ctx context.Context, siteID string, limit int) ([]tributary.Identity, error) {
	return s.identities(ctx, "list unattributed payments", `SELECT `+sqlmeta.IdentityCols+` FROM (
			SELECT `+sqlmeta.IdentityCols+`, rowid FROM identities WHERE site_id = $1 AND payment_id <> ''
			ORDER BY ts DESC, rowid DESC LIMIT 1 BY payment_id)
		WHERE link_method = 'unattributed' AND (customer_id <> '' OR email <> '')
		ORDER BY ts, rowid LIMIT $2`, siteID, limit)
}

// NewestVisitorFacts asks VisitorByCustomer / VisitorByEmail per key with no time bound (ClickHouse
// answers each from its ordered parts quickly; the embedded store does it in one query).
func (s *Store) NewestVisitorFacts(ctx context.Context, siteID string, customers, emails []string) (map[string]*tributary.LinkTarget, map[string]*tributary.LinkTarget, error) {
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) // within ClickHouse DateTime
	byCustomer, byEmail := map[string]*tributary.LinkTarget{}, map[string]*tributary.LinkTarget{}
	for _, c := range customers {
		t, err := s.VisitorByCustomer(ctx, siteID, c, far)
		if err == nil {
			byCustomer[c] = t
		} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, nil, err
		}
	}
	for _, e := range emails {
		t, err := s.VisitorByEmail(ctx, siteID, e, far)
		if err == nil {
			byEmail[e] = t
		} else if tributary.ErrorCode(err) != tributary.ENOTFOUND {
			return nil, nil, err
		}
	}
	return byCustomer, byEmail, nil
}

// UnattributedPaymentsOf filters UnattributedPayments by customer.
func (s *Store) UnattributedPaymentsOf(ctx context.Context, siteID string, customers []string, limit int) ([]tributary.Identity, error) {
	all, err := s.UnattributedPayments(ctx, siteID, 5000)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, c := range customers {
		want[c] = true
	}
	var out []tributary.Identity
	for _, i := range all {
		if want[i.CustomerID] && len(out) < limit {
			out = append(out, i)
		}
	}
	return out, nil
}
