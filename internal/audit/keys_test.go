package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/dsr-project/dsr/internal/audit"
	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/keys"
)

func TestSigningKeyIsTheConfiguredOne(t *testing.T) {
	configured := newKey(t)
	got, err := audit.SigningKey(configured, keys.Secret(bytes.Repeat([]byte{1}, 32)))
	if err != nil || !got.Equal(configured) {
		t.Errorf("SigningKey = %v, %v; want the configured key", got, err)
	}
}

// Every process of a deployment derives the same key from the shared secret.
func TestSigningKeyIsDerivedFromTheSecretWhenNoneIsConfigured(t *testing.T) {
	a, b := keys.Secret(bytes.Repeat([]byte{1}, 32)), keys.Secret(bytes.Repeat([]byte{2}, 32))
	k1, err1 := audit.SigningKey(nil, a)
	k2, err2 := audit.SigningKey(nil, a)
	k3, err3 := audit.SigningKey(nil, b)
	if err1 != nil || err2 != nil || err3 != nil || !k1.Equal(k2) || k1.Equal(k3) {
		t.Errorf("derived keys: same secret equal = %v, other secret equal = %v; errors %v %v %v", k1.Equal(k2), k1.Equal(k3), err1, err2, err3)
	}
	if _, err := audit.SigningKey(nil, nil); err == nil {
		t.Error("SigningKey without key or secret succeeded")
	}
}

func TestSigningKeySettingTakesABase64Seed(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	load := func(v string) (config.Config, error) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		config.Register(fs, config.ModeDev)
		return config.Load(fs, config.ModeDev, func(k string) (string, bool) { return v, k == "DSR_SIGNING_KEY" })
	}
	cfg, err := load(base64.StdEncoding.EncodeToString(seed))
	if err != nil || !cfg.SigningKey.Equal(ed25519.NewKeyFromSeed(seed)) {
		t.Errorf("SigningKey = %v, %v; want the key of the seed", cfg.SigningKey, err)
	}
	_, err = load("c2hvcnQ=")
	if err == nil || !strings.Contains(err.Error(), "DSR_SIGNING_KEY") || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("err = %v, want DSR_SIGNING_KEY named without its value", err)
	}
}

func TestPublishedPublicKeyParsesBack(t *testing.T) {
	key := newKey(t)
	info := audit.PublicKey(key)
	pub, err := audit.ParsePublicKey(info.PublicKey)
	if err != nil || !pub.Equal(key.Public()) || info.Algorithm != "Ed25519" || info.Fingerprint != audit.Fingerprint(pub) {
		t.Errorf("info = %+v, parsed %v, %v", info, pub, err)
	}
	if _, err := audit.ParsePublicKey("not a key"); err == nil {
		t.Error("ParsePublicKey accepted garbage")
	}
}
