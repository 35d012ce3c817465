// Package secretbox encrypts the credentials Tributary stores (Stripe restricted keys) with a server key:
// AES-256-GCM, a random nonce per value, the value's purpose bound as additional data so a ciphertext
// cannot be moved to another field. The key comes from configuration or is generated once into the data
// directory with mode 0600.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Box seals and opens values with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secretbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Load returns the Box of hexKey (64 hex characters) when given, else of the key file in dir, creating
// it (mode 0600) on first use.
func Load(hexKey, dir string) (*Box, error) {
	if hexKey != "" {
		k, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if err != nil || len(k) != 32 {
			return nil, errors.New("secretbox: --secret-key must be 64 hex characters (32 bytes), e.g. from: openssl rand -hex 32")
		}
		return New(k)
	}
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("secretbox: generate key: %w", err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("secretbox: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrExist) { // another process won the race
				return Load("", dir)
			}
			return nil, fmt.Errorf("secretbox: create %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("secretbox: write %s: %w", path, werr)
		}
		return New(k)
	}
	if err != nil {
		return nil, fmt.Errorf("secretbox: read %s: %w", path, err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("secretbox: %s does not hold a 64-hex-character key", path)
	}
	return New(k)
}

// Ephemeral returns a Box with a random key kept nowhere (an in-memory store's).
func Ephemeral() (*Box, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("secretbox: generate key: %w", err)
	}
	return New(k)
}

// Seal encrypts value for purpose.
func (b *Box) Seal(purpose, value string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secretbox: nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(value), []byte(purpose))
	return "v1:" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed for purpose.
func (b *Box) Open(purpose, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", errors.New("secretbox: not a sealed value")
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errors.New("secretbox: sealed value is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(purpose))
	if err != nil {
		return "", errors.New("secretbox: cannot open the value with this server key (was --secret-key or DATA_DIR/secret.key changed?)")
	}
	return string(plain), nil
}
