package main

import (
	"context"
	"encoding/hex"
	"os"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/manual"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/requestdb"
)

// The demo company of `dsr dev` (internal/demo) as a process wires it: its stores, the
// services it serves on loopback ports, and the keys they share with the worker and API.

// demoEnabled says whether this process runs the demo company.
func demoEnabled(cfg config.Config) bool { return cfg.DemoStore != "" && cfg.DemoStore != "off" }

// openDemoStores sets up the demo company (internal/demo) and returns a connector for each
// of its stores: the SQL databases, the support desk, which this process serves on a
// loopback port, and the paper archive. The support desk calls back only in dev, where
// this process's API knows its key; a worker's separate API processes do not, so there it
// answers at once. The affiliate reached by webhook is served on a loopback port too, so
// that this process's notices reach it (demoLookupEnv answers its secret_env).
func openDemoStores(ctx context.Context, cfg config.Config, tasks *requestdb.Repo, opts []sqlstore.Option) (conns []connector.Connector, recipients map[string][]datamap.Recipient, close func(), err error) {
	m, err := demo.Setup(ctx, cfg.DemoStore)
	if err != nil {
		return nil, nil, nil, err
	}
	conns, closeSQL, err := sqlstore.OpenAll(ctx, m, opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	desk, err := demo.OpenSupportDesk(ctx, cfg.DemoStore, demoDeskKeyID, demoDeskSecret(cfg))
	if err != nil {
		closeSQL()
		return nil, nil, nil, err
	}
	affiliate := demo.NewAffiliate(demoAffiliateKeyID, demoAffiliateSecret(cfg))
	close = func() { affiliate.Close(); desk.Close(); closeSQL() }
	url, err := desk.Start()
	if err != nil {
		close()
		return nil, nil, nil, err
	}
	affiliateURL, err := affiliate.Start()
	if err != nil {
		close()
		return nil, nil, nil, err
	}
	callback := callbackURL(cfg.PublicURL)
	if cfg.Mode != config.ModeDev {
		callback = nil
	}
	recipients = map[string][]datamap.Recipient{}
	for _, s := range m.Stores {
		for _, r := range s.Recipients {
			if r.KeyID == demoAffiliateKeyID {
				r.Webhook = affiliateURL
			}
			recipients[s.Name] = append(recipients[s.Name], r)
		}
		switch s.Kind {
		case datamap.KindManual:
			conns = append(conns, manual.New(s, tasks))
		case datamap.KindHTTP:
			hook, err := demoDeskConnector(s, cfg, url, callback)
			if err != nil {
				close()
				return nil, nil, nil, err
			}
			conns = append(conns, hook)
		}
	}
	return conns, recipients, close, nil
}

// The support desk's signing key: its ID in the demo data map, and a secret derived from
// the server secret, so that dev's worker and API agree without a setting.
const demoDeskKeyID = "demo-support-desk"

func demoDeskSecret(cfg config.Config) []byte {
	return []byte(hex.EncodeToString(cfg.Secret.Derive("demo-support-desk")))
}

// The demo affiliate's notice key, derived like the support desk's: its ID and secret_env
// in the demo data map, and the secret.
const (
	demoAffiliateKeyID     = "demo-smithmicro-as"
	demoAffiliateSecretEnv = "DSR_DEMO_AFFILIATE_SECRET"
)

func demoAffiliateSecret(cfg config.Config) []byte {
	return []byte(hex.EncodeToString(cfg.Secret.Derive("demo-affiliate-notices")))
}

// demoLookupEnv is how the activities read recipients' secrets: the demo affiliate's
// secret_env is answered with its derived secret, every other name from the environment.
func demoLookupEnv(cfg config.Config) func(string) (string, bool) {
	if !demoEnabled(cfg) {
		return os.LookupEnv
	}
	secret := string(demoAffiliateSecret(cfg))
	return func(name string) (string, bool) {
		if name == demoAffiliateSecretEnv {
			return secret, true
		}
		return os.LookupEnv(name)
	}
}

// demoDeskConnector is the webhook connector of the demo's http store at url; the data
// map's secret_env is answered with the derived secret.
func demoDeskConnector(s datamap.Store, cfg config.Config, url string, callback func(string) string) (*webhook.Connector, error) {
	s.Connection.URL = url
	secret := string(demoDeskSecret(cfg))
	lookup := func(name string) (string, bool) { return secret, name == s.Connection.SecretEnv }
	return webhook.FromDataMap(s, lookup, callback)
}

// demoCallbackHooks are the demo's http stores as dev's API checks their callbacks.
func demoCallbackHooks(cfg config.Config) ([]*webhook.Connector, error) {
	if cfg.Mode != config.ModeDev || !demoEnabled(cfg) {
		return nil, nil
	}
	m, err := demo.DataMap()
	if err != nil {
		return nil, err
	}
	var out []*webhook.Connector
	for _, s := range m.Stores {
		if s.Kind == datamap.KindHTTP {
			hook, err := demoDeskConnector(s, cfg, s.Connection.URL, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, hook)
		}
	}
	return out, nil
}
