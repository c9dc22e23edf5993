package drp

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Agent is one authorized agent of the directory (section 3.05.1).
type Agent struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	VerifyKey            string `json:"verify_key"`
	WebURL               string `json:"web_url,omitempty"`
	IdentityAssuranceURL string `json:"identity_assurance_url,omitempty"`
	TechnicalContact     string `json:"technical_contact,omitempty"`
	BusinessContact      string `json:"business_contact,omitempty"`

	key ed25519.PublicKey
}

// Key is the agent's Ed25519 verify key.
func (a Agent) Key() ed25519.PublicKey { return a.key }

// Directory is the authorized agents dsr trusts, by ID: the root of trust of every signed
// message (section 3.05).
type Directory struct {
	agents map[string]Agent
}

// Agent returns the agent with the given ID.
func (d *Directory) Agent(id string) (Agent, bool) {
	a, ok := d.agents[id]
	return a, ok
}

// LoadDirectory reads a directory file in the format of the DRP service directory's
// agents.json: a JSON list of agent entries. Every entry is checked against the schema of
// section 3.05.1, and its verify_key must be the base64 of a 32-byte Ed25519 key (the
// encoding of section 3.05.1 since 0.9.1); errors name the entry.
func LoadDirectory(path string) (*Directory, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agent directory: %w", err)
	}
	return ParseDirectory(path, raw)
}

// ParseDirectory is LoadDirectory of a file already read; name names it in errors.
func ParseDirectory(name string, raw []byte) (*Directory, error) {
	if err := ValidateDocument(SchemaAgents, raw); err != nil {
		return nil, fmt.Errorf("agent directory %s does not follow DRP 1.0 section 3.05.1: %v", name, err)
	}
	var entries []Agent
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("agent directory %s: %w", name, err)
	}
	d := &Directory{agents: map[string]Agent{}}
	for i, a := range entries {
		where := fmt.Sprintf("agent directory %s, entry %d (id %q)", name, i+1, a.ID)
		if strings.TrimSpace(a.ID) == "" {
			return nil, fmt.Errorf("%s: the id is empty", where)
		}
		if _, dup := d.agents[a.ID]; dup {
			return nil, fmt.Errorf("%s: the id is listed twice", where)
		}
		key, err := base64.StdEncoding.DecodeString(a.VerifyKey)
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: verify_key is not the base64 of a %d-byte Ed25519 key", where, ed25519.PublicKeySize)
		}
		a.key = ed25519.PublicKey(key)
		d.agents[a.ID] = a
	}
	return d, nil
}

// Business is dsr's entry for the Covered Business directory (section 3.05.2), which the
// directory's operators publish for agents to find dsr.
type Business struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	Logo                   *string  `json:"logo"`
	APIBase                string   `json:"api_base"`
	SupportedActions       []string `json:"supported_actions"`
	SupportedVerifications []string `json:"supported_verifications"`
	PrivacyPolicyURL       string   `json:"privacy_policy_url,omitempty"`
	WebURL                 string   `json:"web_url,omitempty"`
	TechnicalContact       string   `json:"technical_contact,omitempty"`
	BusinessContact        string   `json:"business_contact,omitempty"`
}
