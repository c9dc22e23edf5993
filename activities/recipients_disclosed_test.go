package activities_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/dsr-project/dsr/activities"
	"github.com/dsr-project/dsr/internal/codec"
	"github.com/dsr-project/dsr/internal/connector"
	"github.com/dsr-project/dsr/internal/connector/sqlstore"
	"github.com/dsr-project/dsr/internal/datamap"
	"github.com/dsr-project/dsr/internal/demo"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/testenv"
)

// The demo's accounts store passes a person's data to its two affiliates only while their
// share_with_affiliates flag is on. GDPR Art. 19 covers the recipients the data went to, and
// a notice itself discloses the address: a restriction of frank, whose sharing was off,
// tells no affiliate, while one of alice, whose sharing was on until this very restriction
// turned it off, tells both.
func TestOnlyRecipientsThatReceivedThePersonsDataAreTold(t *testing.T) {
	ctx := context.Background()
	m, err := demo.Setup(ctx, "sqlite:"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	accounts, _ := m.Store("accounts")
	conn, storeDB, err := sqlstore.Open(ctx, accounts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storeDB.Close() })
	db := testenv.OpenMigrated(t, testenv.SQLiteURL(t))
	ring, err := codec.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	repo, box := requestdb.New(db).WithResultKeys(ring), requestdb.NewDevMailbox(db)
	acts := &activities.Activities{Requests: repo, Mail: box, Stores: []connector.Connector{conn},
		Recipients: map[string][]datamap.Recipient{"accounts": accounts.Recipients},
		LookupEnv:  func(string) (string, bool) { return "", false }}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)

	for _, c := range []struct {
		id, email string
		told      []string
	}{
		{"r-frank", "frank@example.com", nil},
		{"r-alice", "alice@example.com", []string{"Smith Micro Software UK Limited", "Smith Micro Software AS"}},
	} {
		now := time.Now().UTC()
		if err := repo.CreateRequest(ctx, &requestdb.Request{
			ID: c.id, Type: "restrict", Jurisdiction: "gdpr", Status: "in_progress", Email: c.email, EmailHash: c.id,
			Details: `{"limits":["affiliate_sharing"]}`, ReceivedAt: now, DueAt: now, OriginalDueAt: now,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.ExecuteActivity(acts.RunStore, activities.RunStoreInput{RequestID: c.id, Store: "accounts"}); err != nil {
			t.Fatalf("%s: run the accounts store: %v", c.email, err)
		}
		out, err := acts.NotifyRecipients(ctx, activities.NotifyRecipientsInput{RequestID: c.id, Stores: []string{"accounts"}})
		if err != nil {
			t.Fatal(err)
		}
		var told []string
		for _, n := range out {
			told = append(told, n.Name)
		}
		if !slices.Equal(told, c.told) {
			t.Errorf("%s: recipients told %v, want %v", c.email, told, c.told)
		}
		mails, err := box.List(ctx, "privacy@uk.smithmicro.example", 10)
		if err != nil {
			t.Fatal(err)
		}
		mailed := slices.ContainsFunc(mails, func(m requestdb.DevMail) bool { return strings.Contains(m.Text, c.email) })
		if mailed != (c.told != nil) {
			t.Errorf("%s: the UK affiliate was mailed about them: %v, want %v", c.email, mailed, c.told != nil)
		}
	}
}
