package tributary

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomID returns n characters of [0-9A-Za-z] from crypto/rand: 20 characters carry 119 bits, enough
// for unguessable ids.
func RandomID(n int) string {
	b := make([]byte, n)
	// Rejection sampling keeps the distribution uniform (62 does not divide 256).
	buf := make([]byte, n*2)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic("tributary: crypto/rand failed: " + err.Error())
		}
		for _, c := range buf {
			if c < 248 { // 248 = 4*62
				b[i] = idAlphabet[c%62]
				i++
				if i == n {
					break
				}
			}
		}
	}
	return string(b)
}

// HashSecret returns the hex SHA-256 of a high-entropy secret (API keys, session tokens). A fast hash
// is right here because the secrets are random, not passwords.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ValidID reports whether s can be a visitor or session id: 1 to 64 characters of letters, digits,
// '-' and '_'. The tracker's ids are 20 letters and digits; backends may send their own.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
