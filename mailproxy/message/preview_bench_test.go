package message

import (
	"encoding/base64"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// BenchmarkPreviewText decodes what the list fetches for one row's
// preview (768 bytes of text, 4 KB of HTML) in the encodings real mail
// uses. With the row cache it runs once per message, not once per page.
func BenchmarkPreviewText(b *testing.B) {
	text := strings.Repeat("Hallo zusammen, anbei der Entwurf der Quartalszahlen. Könnten wir bis Freitag darüber sprechen? ", 12)
	var qp strings.Builder
	w := quotedprintable.NewWriter(&qp)
	w.Write([]byte(text))
	w.Close()
	html := `<html><head><style>p{margin:0}</style></head><body><table><tr><td><p style="color:#333">` +
		strings.Repeat(`Your order <b>#A-19283</b> has shipped. Track it <a href="https://example.org/t">here</a>. `, 40) +
		`</p></td></tr></table></body></html>`
	b64 := base64.StdEncoding.EncodeToString([]byte(html))
	cases := []struct {
		name, data, encoding, charset, mediaType string
		max                                      int
	}{
		{"plain-7bit", text, "7bit", "utf-8", "text/plain", 768},
		{"plain-qp", qp.String(), "quoted-printable", "utf-8", "text/plain", 768},
		{"plain-latin1-qp", qp.String(), "quoted-printable", "iso-8859-1", "text/plain", 768},
		{"html-base64", b64, "base64", "utf-8", "text/html", 4096},
	}
	for _, c := range cases {
		data := []byte(c.data)[:min(len(c.data), c.max)]
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if PreviewText(data, c.encoding, c.charset, c.mediaType, 90) == "" {
					b.Fatal("empty preview")
				}
			}
		})
	}
}
