package tributary

import (
	"context"
	"time"
)

// VisitSummary is one visit as the customer journey shows it: when, from where, where it landed.
type VisitSummary struct {
	SessionID   string    `json:"session_id"`
	VisitorID   string    `json:"visitor_id"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Pageviews   int64     `json:"pageviews"`
	Channel     string    `json:"channel"`
	Source      string    `json:"source"`
	UTMSource   string    `json:"utm_source"`
	UTMMedium   string    `json:"utm_medium"`
	UTMCampaign string    `json:"utm_campaign"`
	LandingPage string    `json:"landing_page"`
	Country     string    `json:"country"`
	Device      string    `json:"device"`
}

// VisitReader answers the visits of given visitors, for customer journeys.
type VisitReader interface {
	// VisitorVisits returns the visits of the visitors that started in [from, to), oldest first.
	VisitorVisits(ctx context.Context, siteID string, visitorIDs []string, from, to time.Time) ([]VisitSummary, error)
}
