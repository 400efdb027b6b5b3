package imapmail

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/thumbmail/thumbmail/mailproxy"
)

// TestObserve: every upstream operation reaches the observer under the
// name of the method that ran it, with its error.
func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	var errs []error
	p, _ := demoPool(t, PoolOptions{Observe: func(op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("Observe(%q) duration %v", op, d)
		}
		ops = append(ops, op)
		errs = append(errs, err)
	}})
	ctx := context.Background()
	if err := p.Login(ctx, "bad", mailproxy.Credentials{Username: "demo", Password: "nope"}); !errors.Is(err, mailproxy.ErrAuth) {
		t.Fatalf("Login(wrong password) = %v", err)
	}
	if err := p.Login(ctx, "s", demoCreds); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	s := p.Session("s", demoCreds)
	if _, err := s.Folders(ctx); err != nil {
		t.Fatalf("Folders() = %v", err)
	}
	if _, err := s.List(ctx, "INBOX", mailproxy.ListQuery{Page: 1, PageSize: 10}); err != nil {
		t.Fatalf("List() = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ops) < 4 || !slices.Equal(ops[:3], []string{"login", "login", "folders"}) || !slices.Contains(ops[3:], "list") {
		t.Errorf("observed ops %q, want login, login, folders, list...", ops)
	}
	if !errors.Is(errs[0], mailproxy.ErrAuth) || errs[1] != nil {
		t.Errorf("observed errors %v, want ErrAuth then nil", errs[:2])
	}
}
