package webhook

import (
	"fmt"
	"os"
	"strings"

	"github.com/dsr-project/dsr/internal/datamap"
)

// MinSecretBytes is the shortest secret FromDataMap accepts: a short HMAC key falls to an
// offline search from a single signed request.
const MinSecretBytes = 16

// FromDataMap returns the connector of an http store of the data map. The secret is the
// value of the environment variable the store's secret_env names, read through lookupEnv
// (os.LookupEnv when nil), used as bytes as it stands. callbackURL, when not nil, returns
// the callback URL of a request, as Config.CallbackURL.
func FromDataMap(store datamap.Store, lookupEnv func(string) (string, bool), callbackURL func(requestID string) string) (*Connector, error) {
	c := store.Connection
	switch {
	case store.Kind != datamap.KindHTTP:
		return nil, fmt.Errorf("store %q is a %s store, not http", store.Name, store.Kind)
	case c.KeyID == "" || c.SecretEnv == "":
		return nil, fmt.Errorf("store %q: connection needs key_id and secret_env, since every webhook request is signed", store.Name)
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	secret, ok := lookupEnv(c.SecretEnv)
	switch {
	case !ok || strings.TrimSpace(secret) == "":
		return nil, fmt.Errorf("store %q: environment variable %s (the store's secret_env) is not set", store.Name, c.SecretEnv)
	case len(secret) < MinSecretBytes:
		return nil, fmt.Errorf("store %q: environment variable %s (the store's secret_env) is shorter than %d bytes", store.Name, c.SecretEnv, MinSecretBytes)
	}
	return New(store.Name, Config{URL: c.URL, KeyID: c.KeyID, Secret: []byte(secret), CallbackURL: callbackURL}), nil
}
