package requestdb_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/mail"
	"github.com/dsr-project/dsr/internal/requestdb"
)

func TestMailLogKeepsTheFirstRecordOfAKey(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, repo := context.Background(), requestdb.New(db)
		if sent, err := repo.MailSent(ctx, "r1:ack"); err != nil || sent {
			t.Fatalf("MailSent before sending = %v, %v; want false", sent, err)
		}
		records := []requestdb.MailRecord{
			{Key: "r1:done", RequestID: "r1", Kind: "completed", SentAt: at(3)},
			{Key: "r1:ack", RequestID: "r1", Kind: "acknowledgement", SentAt: at(2)},
			{Key: "r1:ack", RequestID: "r1", Kind: "retry", SentAt: at(4)},
			{Key: "r2:ack", RequestID: "r2", Kind: "acknowledgement", SentAt: at(2)},
		}
		for _, rec := range records {
			if err := repo.RecordMail(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		if sent, err := repo.MailSent(ctx, "r1:ack"); err != nil || !sent {
			t.Errorf("MailSent after sending = %v, %v; want true", sent, err)
		}
		got, err := repo.MailLog(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		want := []requestdb.MailRecord{records[1], records[0]}
		for i := range want {
			want[i].SentAt = kept(want[i].SentAt)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
	})
}

func TestDevMailboxListsNewestFirstIgnoringCase(t *testing.T) {
	onEveryEngine(t, func(t *testing.T, db *database.DB) {
		ctx, box := context.Background(), requestdb.NewDevMailbox(db)
		for _, m := range []mail.Message{
			{To: "Someone@Example.com", Subject: "first", Text: "1"},
			{To: "other@example.com", Subject: "not yours", Text: "x"},
			{To: "someone@example.com ", Subject: "second", Text: "2", HTML: "<p>2</p>"},
		} {
			if err := box.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // distinct send times
		}
		got, err := box.List(ctx, " SOMEONE@example.com", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Subject != "second" || got[1].Subject != "first" || got[0].HTML != "<p>2</p>" {
			t.Fatalf("got %+v, want second then first", got)
		}
		if !got[0].SentAt.After(got[1].SentAt) {
			t.Errorf("sent times %v, %v are not newest first", got[0].SentAt, got[1].SentAt)
		}
		if one, err := box.List(ctx, "someone@example.com", 1); err != nil || len(one) != 1 || one[0].Subject != "second" {
			t.Errorf("List with limit 1 = %+v, %v; want only the newest", one, err)
		}
	})
}
