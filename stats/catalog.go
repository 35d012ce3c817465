package stats

// The catalog declares every metric and dimension once: its family (where it is computed and what it
// combines with), its label (what the dashboard and exports call it), how its values are formatted, and
// for visit and time dimensions the column or unit their SQL uses. Validation, SQL, money formatting and
// labels read it; nothing else lists metric or dimension names.

// Unit is how a metric's values are formatted.
type Unit int

// Metric units.
const (
	Count   Unit = iota // an integer
	Money               // the reporting currency's major unit with its decimals, exact
	Percent             // a percentage with two decimals
	Ratio               // a ratio with two decimals
	Seconds             // whole seconds
)

// Family is where a metric is computed.
type Family int

// Metric families.
const (
	Traffic Family = iota // visits (SQL over the visits relation)
	Revenue               // ledger entries credited to touches (summed by the store, or in Go: moneysql.go, money.go)
	MRR                   // MRR movements
)

// MetricDef is one metric of the query API.
type MetricDef struct {
	Name   string
	Family Family
	Label  string
	Unit   Unit
	// Aggregates are the per-group aggregates a traffic metric is computed from.
	Aggregates []string
}

// Metrics lists every metric, in the order the docs list them.
var Metrics = []MetricDef{
	{"visitors", Traffic, "Visitors", Count, []string{"visitors"}},
	{"visits", Traffic, "Visits", Count, []string{"visits"}},
	{"pageviews", Traffic, "Pageviews", Count, []string{"pageviews"}},
	{"views_per_visit", Traffic, "Views per visit", Ratio, []string{"pageviews", "visits"}},
	{"bounce_rate", Traffic, "Bounce rate", Percent, []string{"bounces", "visits"}},
	{"visit_duration", Traffic, "Visit duration", Seconds, []string{"duration", "visits"}},
	{"events", Traffic, "Events", Count, []string{"events"}},
	{"conversions", Traffic, "Conversions", Count, []string{"conversions"}},
	{"conversion_rate", Traffic, "Conversion rate", Percent, []string{"conversions", "visitors"}},
	{"payments", Revenue, "Payments", Count, nil},
	{"customers", Revenue, "Customers", Count, nil},
	{"revenue", Revenue, "Revenue", Money, nil},
	{"refunds", Revenue, "Refunds", Money, nil},
	{"disputes", Revenue, "Disputes", Money, nil},
	{"net_revenue", Revenue, "Net revenue", Money, nil},
	{"average_order_value", Revenue, "Avg. order value", Money, nil},
	// Revenue per visitor is money over visitors: the visitors come from the traffic side.
	{"revenue_per_visitor", Revenue, "Revenue / visitor", Money, []string{"visitors"}},
	{"ltv", Revenue, "LTV", Money, nil},
	{"time_to_convert", Revenue, "Time to convert", Seconds, nil},
	{"mrr", MRR, "MRR", Money, nil},
	{"new_mrr", MRR, "New MRR", Money, nil},
	{"expansion_mrr", MRR, "Expansion MRR", Money, nil},
	{"contraction_mrr", MRR, "Contraction MRR", Money, nil},
	{"churned_mrr", MRR, "Churned MRR", Money, nil},
	{"arpu", MRR, "ARPU", Money, nil},
}

// DimFamily is what a dimension groups by.
type DimFamily int

// Dimension families.
const (
	TimeDim    DimFamily = iota // a bucket of the row's time in the site's zone
	VisitDim                    // a value of the visit (its first event, entry and exit pages)
	EventDim                    // a value of each event (page, name, property, goal)
	PaymentDim                  // a value of the payment
)

// DimensionDef is one fixed dimension of the query API (event:props:NAME is the open-ended one).
type DimensionDef struct {
	Name   string
	Family DimFamily
	Label  string
	// Column is the visits relation's column of a visit dimension, the bucket unit of a time dimension.
	Column string
}

// Dimensions lists every fixed dimension.
var Dimensions = []DimensionDef{
	{"time:hour", TimeDim, "Hour", "hour"}, {"time:day", TimeDim, "Day", "day"}, {"time:week", TimeDim, "Week", "week"},
	{"time:month", TimeDim, "Month", "month"}, {"time", TimeDim, "Day", "day"},
	{"visit:channel", VisitDim, "Channel", "channel"}, {"visit:source", VisitDim, "Source", "referrer_source"},
	{"visit:referrer", VisitDim, "Referrer", "referrer"}, {"visit:utm_source", VisitDim, "UTM source", "utm_source"},
	{"visit:utm_medium", VisitDim, "UTM medium", "utm_medium"}, {"visit:utm_campaign", VisitDim, "Campaign", "utm_campaign"},
	{"visit:utm_term", VisitDim, "UTM term", "utm_term"}, {"visit:utm_content", VisitDim, "UTM content", "utm_content"},
	{"visit:click_id_platform", VisitDim, "Ad platform", "click_id_platform"}, {"visit:entry_page", VisitDim, "Landing page", "entry_page"},
	{"visit:exit_page", VisitDim, "Exit page", "exit_page"}, {"visit:country", VisitDim, "Country", "country"},
	{"visit:region", VisitDim, "Region", "region"}, {"visit:device", VisitDim, "Device", "device"},
	{"visit:browser", VisitDim, "Browser", "browser"}, {"visit:os", VisitDim, "OS", "os"},
	{"event:page", EventDim, "Page", ""}, {"event:name", EventDim, "Event", ""}, {"event:goal", EventDim, "Goal", ""},
	{"payment:product", PaymentDim, "Product", ""}, {"payment:currency", PaymentDim, "Currency", ""},
	{"payment:link_method", PaymentDim, "Link method", ""},
}

// MetricLabel is the label of a metric ("" when unknown).
func MetricLabel(name string) string {
	if m, ok := metricDefs[name]; ok {
		return m.Label
	}
	return ""
}

// DimensionLabel is the label of a fixed dimension ("" when unknown).
func DimensionLabel(name string) string {
	for _, d := range Dimensions {
		if d.Name == name {
			return d.Label
		}
	}
	return ""
}

// Lookups derived from the catalog.
var (
	metricDefs        = map[string]MetricDef{}
	metricFamily      = map[string]Family{}
	moneyMetric       = map[string]bool{}
	trafficAggregates = map[string][]string{}
	visitDims         = map[string]string{}
	timeDims          = map[string]string{}
	paymentDims       = map[string]bool{}
)

func init() {
	for _, m := range Metrics {
		metricDefs[m.Name] = m
		metricFamily[m.Name] = m.Family
		moneyMetric[m.Name] = m.Unit == Money
		if m.Aggregates != nil {
			trafficAggregates[m.Name] = m.Aggregates
		}
	}
	for _, d := range Dimensions {
		switch d.Family {
		case VisitDim:
			visitDims[d.Name] = d.Column
		case TimeDim:
			timeDims[d.Name] = d.Column
		case PaymentDim:
			paymentDims[d.Name] = true
		}
	}
}
