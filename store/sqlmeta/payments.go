package sqlmeta

import (
	"context"
	"encoding/json"

	"github.com/tributary/tributary"
)

// PaymentsByID returns the payment records of the ids that have one, by id, in reads of at most 1,000
// ids.
func (s *Store) PaymentsByID(ctx context.Context, siteID string, ids []string) (map[string]*tributary.Payment, error) {
	out := map[string]*tributary.Payment{}
	for start := 0; start < len(ids); start += 1000 {
		part := ids[start:min(start+1000, len(ids))]
		args := []any{siteID}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := s.DB.QueryContext(ctx, `SELECT data FROM payments WHERE site_id = $1 AND id IN (`+Placeholders(2, len(part))+`)`, args...)
		if err != nil {
			return nil, s.mapErr("get payments", err)
		}
		for rows.Next() {
			var data string
			if err := rows.Scan(&data); err != nil {
				rows.Close()
				return nil, s.mapErr("get payments", err)
			}
			p := &tributary.Payment{}
			if err := json.Unmarshal([]byte(data), p); err != nil {
				rows.Close()
				return nil, s.mapErr("decode payment", err)
			}
			out[p.ID] = p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.mapErr("get payments", err)
		}
	}
	return out, nil
}
