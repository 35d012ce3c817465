package stripe

import (
	"errors"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"
)

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1763640000, 0)
	payload := []byte(`{"id":"evt_1","object":"event"}`)
	secret := "whsec_test_secret"
	good := SignPayload(payload, secret, now)
	// stripe-go's own generator must agree with ours.
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: now})
	tests := []struct {
		name    string
		header  string
		secrets []string
		now     time.Time
		want    error
	}{
		{"ours", good, []string{secret}, now, nil},
		{"stripe-go", sp.Header, []string{secret}, now, nil},
		{"second secret", good, []string{"whsec_other", secret}, now, nil},
		{"extra v0 and garbage v1", good + ",v0=abc,v1=zz", []string{secret}, now, nil},
		{"empty", "", []string{secret}, now, ErrNoSignature},
		{"no t", "v1=00", []string{secret}, now, ErrBadHeader},
		{"no v1", "t=1763640000,v0=00", []string{secret}, now, ErrNoV1},
		{"wrong secret", good, []string{"whsec_other"}, now, ErrBadSignature},
		{"too old", good, []string{secret}, now.Add(301 * time.Second), ErrStaleTimestamp},
		{"from the future", good, []string{secret}, now.Add(-301 * time.Second), ErrStaleTimestamp},
		{"no secrets", good, nil, now, ErrNoActiveSecrets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(payload, tc.header, tc.secrets, 300*time.Second, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if err := VerifySignature(append(payload, ' '), good, []string{secret}, 300*time.Second, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered payload: %v", err)
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte(`{}`), "t=1,v1=00")
	f.Add([]byte(`x`), "t=,v1=,,=")
	f.Fuzz(func(t *testing.T, payload []byte, header string) {
		VerifySignature(payload, header, []string{"whsec_x"}, time.Minute, time.Unix(1, 0))
	})
}

func BenchmarkVerifySignature(b *testing.B) {
	payload := make([]byte, 4096)
	now := time.Unix(1763640000, 0)
	h := SignPayload(payload, "whsec_bench", now)
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		if err := VerifySignature(payload, h, []string{"whsec_bench"}, time.Minute, now); err != nil {
			b.Fatal(err)
		}
	}
}
