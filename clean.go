package tributary

import (
	"strings"
	"unicode/utf8"
)

// Bounds on the text of a stored event or identity, in bytes. Every path that stores events (browser
// ingest, the server-to-server API) cleans them with Event.Clean before they are queued, so no value
// can make a store refuse a batch: text is valid UTF-8 without NUL bytes and within these lengths.
const (
	MaxEventName  = 120
	MaxHostname   = 253
	MaxPath       = 2048
	MaxReferrer   = 2048
	MaxShortText  = 200 // referrer source, UTM values, click ids, person ids, e-mails
	MaxLabel      = 64  // channel, click id platform, country, region, browser, OS, device, ids
	MaxPropKey    = 64
	MaxPropValue  = 500
	MaxPropsCount = 30
)

// CleanText makes s safe to store: invalid UTF-8 becomes U+FFFD, NUL bytes are removed and the result
// is cut to at most max bytes on a character boundary (max <= 0: no bound).
func CleanText(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if max > 0 && len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}

// Clean normalises every text field of e in place (see CleanText) and bounds its props: at most
// MaxPropsCount, keys and values cut to their bounds, empty keys dropped. It returns e for chaining.
func (e *Event) Clean() *Event {
	e.SiteID = CleanText(e.SiteID, MaxLabel)
	e.Name = CleanText(e.Name, MaxEventName)
	e.Source = CleanText(e.Source, MaxLabel)
	e.VisitorID = CleanText(e.VisitorID, MaxLabel)
	e.SessionID = CleanText(e.SessionID, MaxLabel)
	e.Hostname = CleanText(e.Hostname, MaxHostname)
	e.Path = CleanText(e.Path, MaxPath)
	e.Referrer = CleanText(e.Referrer, MaxReferrer)
	e.ReferrerSource = CleanText(e.ReferrerSource, MaxShortText)
	e.Channel = CleanText(e.Channel, MaxLabel)
	e.UTMSource = CleanText(e.UTMSource, MaxShortText)
	e.UTMMedium = CleanText(e.UTMMedium, MaxShortText)
	e.UTMCampaign = CleanText(e.UTMCampaign, MaxShortText)
	e.UTMTerm = CleanText(e.UTMTerm, MaxShortText)
	e.UTMContent = CleanText(e.UTMContent, MaxShortText)
	e.ClickIDPlatform = CleanText(e.ClickIDPlatform, MaxLabel)
	e.ClickID = CleanText(e.ClickID, MaxShortText)
	e.ClickIDParam = CleanText(e.ClickIDParam, MaxLabel)
	e.FBP = CleanText(e.FBP, MaxLabel)
	e.Country = CleanText(e.Country, MaxLabel)
	e.Region = CleanText(e.Region, MaxLabel)
	e.Browser = CleanText(e.Browser, MaxLabel)
	e.OS = CleanText(e.OS, MaxLabel)
	e.Device = CleanText(e.Device, MaxLabel)
	if e.ScreenWidth < 0 || e.ScreenWidth > 1<<20 {
		e.ScreenWidth = 0
	}
	if len(e.Props) > 0 {
		clean := make(map[string]string, min(len(e.Props), MaxPropsCount))
		for k, v := range e.Props {
			k = CleanText(k, MaxPropKey)
			if k == "" {
				continue
			}
			if _, taken := clean[k]; !taken && len(clean) >= MaxPropsCount {
				continue
			}
			clean[k] = CleanText(v, MaxPropValue)
		}
		e.Props = clean
	}
	return e
}

// Clean normalises every text field of id in place (see CleanText) and returns it.
func (id *Identity) Clean() *Identity {
	id.SiteID = CleanText(id.SiteID, MaxLabel)
	id.VisitorID = CleanText(id.VisitorID, MaxLabel)
	id.SessionID = CleanText(id.SessionID, MaxLabel)
	id.PersonID = CleanText(id.PersonID, 254)
	id.CustomerID = CleanText(id.CustomerID, 254)
	id.Email = CleanText(id.Email, 254)
	id.PaymentID = CleanText(id.PaymentID, 0) // an id: never cut, only made valid text
	id.LinkMethod = CleanText(id.LinkMethod, MaxLabel)
	id.Source = CleanText(id.Source, MaxLabel)
	id.Channel = CleanText(id.Channel, MaxLabel)
	id.ReferrerSource = CleanText(id.ReferrerSource, MaxShortText)
	id.UTMSource = CleanText(id.UTMSource, MaxShortText)
	id.UTMMedium = CleanText(id.UTMMedium, MaxShortText)
	id.UTMCampaign = CleanText(id.UTMCampaign, MaxShortText)
	return id
}
