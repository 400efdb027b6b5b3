package handlers

import (
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/thumbmail/thumbmail/mailproxy"
	"github.com/thumbmail/thumbmail/static"
	"github.com/thumbmail/thumbmail/web"
)

// Routes is the whole URL table. Paths are relative to the base path.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	// The anti-forgery check refuses a browser whose cookie we did not
	// issue before reading its body; limitBody then bounds the body
	// (middleware.go) before the token is read from it.
	r.Use(web.Recover(h.cfg.Logger), web.AccessLog(h.cfg.Logger), web.SecurityHeaders, web.CrossOrigin, h.cfg.Sessions.CSRF(http.HandlerFunc(h.forgedRequest), h.limitBody))
	r.Use(middleware.Compress(1, "text/html", "text/css"))
	r.NotFound(h.notFound)

	// Operations and assets.
	r.Get("/healthz", healthz)
	r.Get("/readyz", h.readyz)
	r.Handle("/static/*", http.StripPrefix(h.cfg.BasePath+"/static", static.Handler()))
	r.Get("/favicon.ico", static.File("favicon.ico").ServeHTTP)
	r.Get("/manifest.webmanifest", h.showManifest)

	// Signing in and out.
	r.Get("/login", h.showLogin)
	r.Post("/login", h.login)
	r.Post("/logout", h.logout)

	// Mail, for signed-in users.
	r.Group(func(r chi.Router) {
		r.Use(h.requireSession, h.composeOwner)
		r.Get("/", h.home)
		r.Get("/folders", h.listFolders)
		r.Get("/f/{folder}", h.listMessages)
		r.Get("/f/{folder}/search", h.searchMessages)
		r.Get("/f/{folder}/{id}", h.showMessage)
		r.Get("/f/{folder}/{id}/part/{part}", h.downloadPart)
		r.Post("/f/{folder}/delete", h.deleteMessages)

		// Writing mail.
		r.Get("/compose", h.showCompose)
		r.Get("/f/{folder}/{id}/reply", h.showReply)
		r.Get("/f/{folder}/{id}/forward", h.showForward)
		r.Get("/f/{folder}/{id}/edit", h.showEdit)

		// Acting on mail (IMAP): one action URL for the list's and the
		// message's bars, the Move folder picker, emptying from Trash, undo.
		r.Post("/f/{folder}/act", h.actOnMessages)
		r.Get("/f/{folder}/move", h.pickFolder)
		r.Get("/f/{folder}/expunge", h.confirmExpunge)
		r.Post("/f/{folder}/expunge", h.expungeMessages)
		r.Post("/undo", h.undoMove)
	})
	// Sending: when the session ended meanwhile, the text is shown back.
	r.With(h.keepText, h.requireSession, h.composeOwner).Post("/compose", h.sendCompose)
	r.With(h.keepText, h.requireSession, h.composeOwner).Post("/f/{folder}/{id}/quickreply", h.replyMessage)
	r.With(h.requireSession, h.composeOwner).Post("/f/{folder}/{id}/send", h.sendDraft)

	// Outside everything: who the client is (trusted proxies), then
	// metrics, then the base path.
	outer := chi.NewRouter()
	outer.Use(web.HeadAsGet, web.Proxy(h.cfg.BasePath, h.cfg.TrustedProxies), withClient)
	if h.cfg.Observe != nil {
		outer.Use(h.cfg.Observe)
	}
	if h.cfg.BasePath == "" {
		outer.Mount("/", r)
	} else {
		outer.Mount(h.cfg.BasePath, r)
	}
	return outer
}

// withClient puts the browser's address (as web.Proxy found it) in the
// request's context, for backends that tell it to the mail server.
func withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, err := netip.ParseAddr(web.ClientIP(r)); err == nil {
			ip = ip.Unmap().WithZone("")
			var port uint16
			if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && peer.Addr().Unmap().WithZone("") == ip {
				port = peer.Port() // no proxy in between: the port is the browser's
			}
			r = r.WithContext(mailproxy.WithClient(r.Context(), netip.AddrPortFrom(ip, port)))
		}
		next.ServeHTTP(w, r)
	})
}

// healthz answers while the process is alive; it never calls upstream.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 while this instance takes requests and 503 from the
// moment it starts shutting down, so load balancers stop sending it any.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.cfg.Draining != nil && h.cfg.Draining() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("draining\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
