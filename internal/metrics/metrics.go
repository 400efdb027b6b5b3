// Package metrics exports thumbmail's Prometheus metrics: HTTP requests by
// route pattern, method and status with their latencies, upstream
// (IMAP/POP3) operation latencies and errors, and the sessions and
// connections an instance holds. They are served on their own listener
// (-metrics-listen), never on the public one.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/thumbmail/thumbmail/mailproxy"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	upstream       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
}

// New registers thumbmail's collectors, with Go runtime and process ones,
// in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "thumbmail_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "thumbmail_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "thumbmail_upstream_duration_seconds",
			Help:    "Mail server (IMAP/POP3) operation latency by operation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "thumbmail_upstream_errors_total",
			Help: "Failed mail server operations by operation and kind (auth, notfound, busy, unavailable, other).",
		}, []string{"op", "kind"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.upstream, m.upstreamErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the collectors live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Middleware counts and times every request under its chi route pattern
// ("/f/{folder}/{id}", never the raw path, so labels stay few). It must
// run inside a chi router so that the pattern is known when it returns.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost:
		default:
			method = "other"
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

// ObserveUpstream is a mailproxy.Observer.
func (m *Metrics) ObserveUpstream(op string, d time.Duration, err error) {
	m.upstream.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.upstreamErrors.WithLabelValues(op, errorKind(err)).Inc()
	}
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, mailproxy.ErrAuth), errors.Is(err, mailproxy.ErrSessionExpired):
		return "auth"
	case errors.Is(err, mailproxy.ErrNotFound):
		return "notfound"
	case errors.Is(err, mailproxy.ErrBusy), errors.Is(err, mailproxy.ErrTooManyConnections):
		return "busy"
	case errors.Is(err, mailproxy.ErrUnavailable):
		return "unavailable"
	}
	return "other"
}

// WatchBackend exports the backend's live sessions and upstream
// connections on this instance (read at every scrape).
func (m *Metrics) WatchBackend(stats func() (sessions, conns int)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "thumbmail_sessions",
			Help: "Signed-in sessions with upstream state on this instance.",
		}, func() float64 { s, _ := stats(); return float64(s) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "thumbmail_upstream_connections",
			Help: "Open (pooled) mail server connections of this instance.",
		}, func() float64 { _, c := stats(); return float64(c) }),
	)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
