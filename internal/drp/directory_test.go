package drp_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/dsr-project/dsr/internal/drp"
)

func agentKey(t *testing.T) (ed25519.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, base64.StdEncoding.EncodeToString(pub)
}

func TestTheDirectoryReadsTheServiceDirectorysAgentsJSON(t *testing.T) {
	pub, key := agentKey(t)
	doc := `[{"id": "CR_AA_DRP_ID_001", "name": "OSIRAA", "verify_key": "` + key + `",
		"web_url": "https://osiraa.example.org", "technical_contact": "tech@example.org",
		"business_contact": "biz@example.org", "identity_assurance_url": "https://osiraa.example.org/identity"}]`
	dir, err := drp.ParseDirectory("agents.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := dir.Agent("CR_AA_DRP_ID_001")
	if !ok || a.Name != "OSIRAA" || !a.Key().Equal(pub) {
		t.Fatalf("Agent = %+v, %v", a, ok)
	}
	if _, ok := dir.Agent("OTHER"); ok {
		t.Error("an agent the directory does not list was found")
	}
}

func TestABadDirectoryIsRefusedNamingTheEntry(t *testing.T) {
	_, key := agentKey(t)
	cases := map[string]struct{ doc, want string }{
		"not a list":      {`{"id": "A"}`, "section 3.05.1"},
		"no verify key":   {`[{"id": "A_1", "name": "A"}]`, "section 3.05.1"},
		"short key":       {`[{"id": "A_1", "name": "A", "verify_key": "c2hvcnQ="}]`, `entry 1 (id "A_1"): verify_key`},
		"not base64":      {`[{"id": "A_1", "name": "A", "verify_key": "abc+/*"}]`, "verify_key"},
		"id twice":        {`[{"id": "A_1", "name": "A", "verify_key": "` + key + `"}, {"id": "A_1", "name": "B", "verify_key": "` + key + `"}]`, `entry 2 (id "A_1"): the id is listed twice`},
		"http web url":    {`[{"id": "A_1", "name": "A", "verify_key": "` + key + `", "web_url": "http://"}]`, "section 3.05.1"},
		"not even json":   {`[{`, "agents.json"},
		"number as a key": {`[{"id": "A_1", "name": "A", "verify_key": 7}]`, "section 3.05.1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := drp.ParseDirectory("agents.json", []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseDirectory = %v, want an error naming %q", err, c.want)
			}
		})
	}
}
