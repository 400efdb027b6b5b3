package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/thumbmail/thumbmail/mailproxy"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestUpstreamErrorKinds(t *testing.T) {
	m := New()
	errs := map[string]error{
		"auth":        fmt.Errorf("x: %w", mailproxy.ErrAuth),
		"notfound":    mailproxy.ErrNotFound,
		"busy":        mailproxy.ErrBusy,
		"unavailable": fmt.Errorf("%w: timeout", mailproxy.ErrUnavailable),
		"other":       errors.New("boom"),
	}
	for kind, err := range errs {
		m.ObserveUpstream("list", time.Millisecond, err)
		if got := errorKind(err); got != kind {
			t.Errorf("errorKind(%v) = %q, want %q", err, got, kind)
		}
	}
	m.ObserveUpstream("list", time.Millisecond, nil)
	body := scrape(t, m)
	for kind := range errs {
		if !strings.Contains(body, `thumbmail_upstream_errors_total{kind="`+kind+`",op="list"} 1`) {
			t.Errorf("no error count for kind %s", kind)
		}
	}
	if !strings.Contains(body, `thumbmail_upstream_duration_seconds_count{op="list"} 6`) {
		t.Errorf("upstream operations not counted")
	}
}

// TestRouteLabels: requests are labelled by route pattern; a path no
// route matches is "unmatched" however it is spelled.
func TestRouteLabels(t *testing.T) {
	m := New()
	r := chi.NewRouter()
	r.Use(m.Middleware)
	r.Get("/f/{folder}", func(w http.ResponseWriter, r *http.Request) {})
	for _, p := range []string{"/f/INBOX", "/f/Sent", "/nope/1", "/nope/2"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	body := scrape(t, m)
	for _, want := range []string{
		`thumbmail_http_requests_total{method="GET",route="/f/{folder}",status="200"} 2`,
		`thumbmail_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
