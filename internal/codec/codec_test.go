package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/dsr-project/dsr/internal/codec"
)

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func ring(t *testing.T, spec string) *codec.Keyring {
	t.Helper()
	r, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type person struct{ Email, Postcode string }

func TestRoundTripHidesTheValue(t *testing.T) {
	dc := codec.DataConverter(ring(t, "k1:"+newKey(t)))
	in := person{Email: "alice@example.com", Postcode: "SW1A 1AA"}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("alice")) || bytes.Contains(p.Data, []byte("SW1A")) {
		t.Fatal("payload holds the value in clear")
	}
	if got := string(p.Metadata[codec.MetadataKeyID]); got != "k1" {
		t.Errorf("key id = %q", got)
	}
	var out person
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("got %+v, want %+v", out, in)
	}
}

func TestRotatedRingStillReadsOldPayloads(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	old := codec.DataConverter(ring(t, "k1:"+k1))
	p, err := old.ToPayload(person{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rotated := codec.DataConverter(ring(t, "k2:"+k2+",k1:"+k1))
	var out person
	if err := rotated.FromPayload(p, &out); err != nil || out.Email != "bob@example.com" {
		t.Fatalf("rotated ring: %+v, %v", out, err)
	}
	fresh, _ := rotated.ToPayload(person{})
	if got := string(fresh.Metadata[codec.MetadataKeyID]); got != "k2" {
		t.Errorf("new payloads use key %q, want k2", got)
	}
	withoutOld := codec.DataConverter(ring(t, "k2:"+k2))
	if err := withoutOld.FromPayload(p, &out); err == nil || !strings.Contains(err.Error(), "k1") {
		t.Errorf("ring without k1: err = %v, want unknown key k1", err)
	}
}

func TestTamperedPayloadIsRefused(t *testing.T) {
	dc := codec.DataConverter(ring(t, "k1:"+newKey(t)))
	p, _ := dc.ToPayload(person{Email: "carol@example.com"})
	p.Data[len(p.Data)-1] ^= 1
	var out person
	if err := dc.FromPayload(p, &out); err == nil {
		t.Fatal("a modified ciphertext decrypted")
	}
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	plain, _ := converter.GetDefaultDataConverter().ToPayload(person{Email: "dave@example.com"})
	var out person
	if err := codec.DataConverter(ring(t, "k1:"+newKey(t))).FromPayload(plain, &out); err != nil || out.Email != "dave@example.com" {
		t.Errorf("plain payload: %+v, %v", out, err)
	}
}

func TestBadKeyringsAreRefusedWithoutKeyMaterial(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	for _, spec := range []string{"", "nokey", "k1:!!!", "k1:" + short, "k1:" + newKey(t) + ",k1:" + newKey(t)} {
		_, err := codec.ParseKeyring(spec)
		if err == nil {
			t.Errorf("%q accepted", spec)
			continue
		}
		if short != "" && strings.Contains(err.Error(), short) {
			t.Errorf("error repeats key material: %v", err)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	k := make([]byte, 32)
	r := &codec.Keyring{}
	if err := r.Add("k1", k); err != nil {
		b.Fatal(err)
	}
	dc := codec.DataConverter(r)
	in := person{Email: "alice@example.com", Postcode: strings.Repeat("x", 512)}
	b.ReportAllocs()
	for b.Loop() {
		p, err := dc.ToPayload(in)
		if err != nil {
			b.Fatal(err)
		}
		var out person
		if err := dc.FromPayload(p, &out); err != nil {
			b.Fatal(err)
		}
	}
}
