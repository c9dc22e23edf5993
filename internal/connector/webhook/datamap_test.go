package webhook_test

import (
	"net/http"
	"testing"

	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/webhook"
	"github.com/dsr-project/dsr/internal/datamap"
)

// httpStore parses a data map with one http store at url.
func httpStore(t *testing.T, url, connection string) datamap.Store {
	t.Helper()
	m, err := datamap.Parse("map.yaml", []byte(`stores:
  - name: newsletter
    kind: http
    connection: {url: "`+url+`"`+connection+`}
    holds: [name]
`))
	if err != nil {
		t.Fatal(err)
	}
	return m.Stores[0]
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestFromDataMapSignsWithTheSecretFromTheEnvironment(t *testing.T) {
	s := newService(t, answering(http.StatusOK, map[string]any{"status": "done", "found": []string{"name"}}))
	store := httpStore(t, s.URL, ", key_id: k1, secret_env: NEWSLETTER_SECRET")
	c, err := webhook.FromDataMap(store, env(map[string]string{"NEWSLETTER_SECRET": string(secret)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Apply(ctx, review)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "result", r, connector.Result{Store: "newsletter", Found: []string{"name"}})
	same(t, "name and key", []string{c.Name(), c.KeyID()}, []string{"newsletter", "k1"})
}

func TestFromDataMapNamesTheStoreAndVariableOfAMissingSecret(t *testing.T) {
	store := httpStore(t, "https://newsletter.example/dsr", ", key_id: k1, secret_env: NEWSLETTER_SECRET")
	const unset = `store "newsletter": environment variable NEWSLETTER_SECRET (the store's secret_env) is not set`
	for _, tt := range []struct {
		value *string
		want  string
	}{
		{nil, unset},
		{ptr("  "), unset},
		{ptr("short"), `store "newsletter": environment variable NEWSLETTER_SECRET (the store's secret_env) is shorter than 16 bytes`},
	} {
		vars := map[string]string{}
		if tt.value != nil {
			vars["NEWSLETTER_SECRET"] = *tt.value
		}
		_, err := webhook.FromDataMap(store, env(vars), nil)
		same(t, "error", errText(err), tt.want)
	}
}

func ptr(s string) *string { return &s }

func TestFromDataMapRefusesStoresItCannotSignFor(t *testing.T) {
	unsigned := httpStore(t, "https://newsletter.example/dsr", "")
	_, err := webhook.FromDataMap(unsigned, env(nil), nil)
	same(t, "unsigned", errText(err), `store "newsletter": connection needs key_id and secret_env, since every webhook request is signed`)

	_, err = webhook.FromDataMap(datamap.Store{Name: "crm", Kind: datamap.KindSQL}, env(nil), nil)
	same(t, "sql", errText(err), `store "crm" is a sql store, not http`)
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
