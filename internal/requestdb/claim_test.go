package requestdb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/domain"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestConcurrentClaimsHaveOneHolder(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		const n = 8
		holders := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				holders[i], errs[i] = repo.Claim(ctx, "hash", domain.TypeReview, fmt.Sprintf("r%d", i))
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if holders[i] != holders[0] {
				t.Errorf("claimant %d sees holder %q, claimant 0 sees %q", i, holders[i], holders[0])
			}
		}
		again, err := repo.Claim(ctx, "hash", domain.TypeReview, holders[0])
		if err != nil || again != holders[0] {
			t.Errorf("holder's retry = %q, %v; want %q", again, err, holders[0])
		}
		other, err := repo.Claim(ctx, "hash", domain.TypeCorrect, "r9")
		if err != nil || other != "r9" {
			t.Errorf("claim of another type = %q, %v; want r9", other, err)
		}
	})
}

func TestReleasedClaimGoesToTheNextRequest(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		if _, err := repo.Claim(ctx, "hash", domain.TypeReview, "r1"); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := repo.ReleaseClaim(ctx, "r1"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := repo.Claim(ctx, "hash", domain.TypeReview, "r2")
		if err != nil || got != "r2" {
			t.Errorf("claim after release = %q, %v; want r2", got, err)
		}
	})
}
