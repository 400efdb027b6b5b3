package demo

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/color"
	"maps"
	"mime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Folder names of the demo mailbox.
const (
	FolderInbox        = "INBOX"
	FolderSent         = "Sent"
	FolderDrafts       = "Drafts"
	FolderTrash        = "Trash"
	FolderJunk         = "Junk"
	FolderArchive      = "Archive"
	FolderProjects     = "Projects"
	FolderThumbmail    = "Projects/Thumbmail"
	FolderGarden       = "Projects/Garden"
	FolderTravelPhotos = "Reisen – Fotos"
	FolderBills        = "Bills & Receipts"
)

// SpecialUse returns the demo folders that have a special use, mapped to
// their RFC 6154 attribute (a fresh map on every call).
func SpecialUse() map[string]imap.MailboxAttr {
	return maps.Clone(specialUse)
}

var specialUse = map[string]imap.MailboxAttr{
	FolderSent:    imap.MailboxAttrSent,
	FolderDrafts:  imap.MailboxAttrDrafts,
	FolderTrash:   imap.MailboxAttrTrash,
	FolderJunk:    imap.MailboxAttrJunk,
	FolderArchive: imap.MailboxAttrArchive,
}

// Messages returns the sample mail of the demo mailbox: folder name → raw
// RFC 5322 messages (CRLF line endings), oldest first. The result is
// deterministic for a given now; every folder of the demo mailbox is a key,
// the empty "Projects" folder included.
func Messages(now time.Time) map[string][][]byte {
	m := make(map[string][][]byte)
	for _, f := range generate(now) {
		l := make([][]byte, len(f.msgs))
		for i, msg := range f.msgs {
			l[i] = msg.raw
		}
		m[f.name] = l
	}
	return m
}

// folder is one generated mailbox.
type folder struct {
	name       string
	specialUse []imap.MailboxAttr
	msgs       []msg
}

// msg is one generated message with its IMAP metadata.
type msg struct {
	raw   []byte
	date  time.Time // Date header and INTERNALDATE
	flags []imap.Flag
}

// generate builds the whole demo mailbox, in creation order.
func generate(now time.Time) []folder {
	g := &gen{now: now.Truncate(time.Second), rng: 0x7468756d626d6169}
	inbox := g.inbox()
	folders := []folder{
		{name: FolderInbox, msgs: inbox},
		{name: FolderSent, msgs: g.sentFolder()},
		{name: FolderDrafts, msgs: g.drafts()},
		{name: FolderTrash, msgs: g.trash()},
		{name: FolderJunk, msgs: g.junk()},
		{name: FolderArchive, msgs: g.archive()},
		{name: FolderProjects},
		{name: FolderThumbmail, msgs: g.projectThumbmail()},
		{name: FolderGarden, msgs: g.projectGarden()},
		{name: FolderTravelPhotos, msgs: g.travel()},
		{name: FolderBills, msgs: g.bills()},
	}
	for i := range folders {
		f := &folders[i]
		if use, ok := specialUse[f.name]; ok {
			f.specialUse = []imap.MailboxAttr{use}
		}
		slices.SortStableFunc(f.msgs, func(a, b msg) int { return a.date.Compare(b.date) })
	}
	return folders
}

// gen carries the state of one generation run: the reference time, a
// deterministic pseudo-random sequence and a MIME boundary counter.
type gen struct {
	now      time.Time
	rng      uint64
	boundary int
	sent     []msg // replies written while generating INBOX
}

// rand returns the next value of a splitmix64 sequence: stable across Go
// releases, unlike math/rand.
func (g *gen) rand() uint64 {
	g.rng += 0x9e3779b97f4a7c15
	z := g.rng
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (g *gen) intn(n int) int { return int(g.rand() % uint64(n)) }

func pick[T any](g *gen, l []T) T { return l[g.intn(len(l))] }

// ago returns the instant d before now.
func (g *gen) ago(d time.Duration) time.Time { return g.now.Add(-d).Truncate(time.Second) }

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

// multipart builds a multipart/<subtype> entity; params are extra
// Content-Type parameters as name, value pairs.
func (g *gen) multipart(subtype string, parts []entity, params ...string) entity {
	g.boundary++
	// "=_" cannot occur in quoted-printable or base64 output, so the
	// boundary cannot clash with any part's content.
	b := fmt.Sprintf("=_tm%04d_%08x", g.boundary, uint32(g.rand()))
	p := map[string]string{"boundary": b}
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
	}
	var body bytes.Buffer
	body.WriteString("This is a multi-part message in MIME format.\r\n")
	for _, part := range parts {
		body.WriteString("\r\n--" + b + "\r\n")
		body.Write(part.bytes())
	}
	body.WriteString("\r\n--" + b + "--\r\n")
	return entity{
		hdr:  []field{{"Content-Type", mime.FormatMediaType("multipart/"+subtype, p)}},
		body: body.Bytes(),
	}
}

func (g *gen) alternative(text, htmlBody string) entity {
	return g.multipart("alternative", []entity{plain(text), html(htmlBody)})
}

// spec describes one message to build.
type spec struct {
	from       person
	to, cc     []person
	replyTo    []person
	subject    string // UTF-8, encoded as needed
	encSubject string // already encoded; overrides subject
	noSubject  bool
	date       time.Time
	id         string // Message-ID without angle brackets
	inReplyTo  string
	refs       []string
	extra      []field
	body       entity
	flags      []imap.Flag
}

func (g *gen) build(s spec) msg {
	s.date = s.date.Truncate(time.Second)
	zone := s.from.zone
	if zone == nil {
		zone = time.UTC
	}
	hdr := []field{
		{"Date", s.date.In(zone).Format(rfc5322Date)},
		{"From", s.from.addr()},
	}
	if len(s.to) > 0 {
		hdr = append(hdr, field{"To", addrList(s.to)})
	}
	if len(s.cc) > 0 {
		hdr = append(hdr, field{"Cc", addrList(s.cc)})
	}
	if len(s.replyTo) > 0 {
		hdr = append(hdr, field{"Reply-To", addrList(s.replyTo)})
	}
	switch {
	case s.encSubject != "":
		hdr = append(hdr, field{"Subject", s.encSubject})
	case !s.noSubject:
		hdr = append(hdr, field{"Subject", encodeText(s.subject)})
	}
	hdr = append(hdr, field{"Message-ID", "<" + s.id + ">"})
	if s.inReplyTo != "" {
		hdr = append(hdr, field{"In-Reply-To", "<" + s.inReplyTo + ">"})
	}
	if len(s.refs) > 0 {
		hdr = append(hdr, field{"References", "<" + strings.Join(s.refs, "> <") + ">"})
	}
	hdr = append(hdr, s.extra...)
	hdr = append(hdr, field{"MIME-Version", "1.0"})
	hdr = append(hdr, s.body.hdr...)
	e := entity{hdr: hdr, body: s.body.body}
	return msg{raw: e.bytes(), date: s.date, flags: s.flags}
}

// ---------------------------------------------------------------------------
// People

var (
	zoneUTC    = time.UTC
	zoneBerlin = time.FixedZone("CET", 1*3600)
	zoneParis  = time.FixedZone("CET", 1*3600)
	zoneNY     = time.FixedZone("EST", -5*3600)
	zoneSF     = time.FixedZone("PST", -8*3600)
	zoneTokyo  = time.FixedZone("JST", 9*3600)
	zoneMoscow = time.FixedZone("MSK", 3*3600)
	zoneIndia  = time.FixedZone("IST", 5*3600+1800)
)

var (
	me      = person{name: "Demo User", email: "demo@example.org", zone: zoneBerlin}
	alice   = person{name: "Alice Johnson", email: "alice@example.com", zone: zoneNY}
	bob     = person{name: "Bob Martin", email: "bob.martin@example.net", zone: zoneNY}
	jane    = person{name: "Doe, Jane", email: "jane.doe@example.com", zone: zoneSF}
	juergen = person{name: "Jürgen Müller", email: "juergen.mueller@example.net", zone: zoneBerlin}
	elodie  = person{name: "Élodie Lefèvre", email: "elodie.lefevre@example.org", zone: zoneParis}
	hanako  = person{name: "田中 花子", email: "hanako.tanaka@example.com", zone: zoneTokyo}
	anna    = person{name: "Анна Петрова", email: "anna.petrova@example.net", zone: zoneMoscow}
	carlos  = person{name: "Carlos Núñez", email: "carlos@example.org", zone: zoneParis}
	priya   = person{name: "Priya Raman", email: "priya@example.com", zone: zoneIndia}
	sam     = person{name: "Sam O'Brien", email: "sam.obrien@example.net", zone: zoneUTC}
	mei     = person{name: "Mei Chen", email: "mei.chen@example.com", zone: zoneSF}

	team       = person{name: "Thumbmail Team", email: "team@example.org", zone: zoneUTC}
	gitforge   = person{name: "GitForge", email: "notifications@git.example.com", zone: zoneUTC}
	ciBot      = person{name: "CI", email: "ci@build.example.com", zone: zoneUTC}
	sprout     = person{name: "The Weekly Sprout", email: "news@sprout.example.com", zone: zoneSF}
	shop       = person{name: "ShopMart", email: "orders@shop.example.net", zone: zoneNY}
	bank       = person{name: "Example Bank", email: "no-reply@bank.example.com", zone: zoneUTC}
	library    = person{name: "City Library", email: "newsletter@library.example.org", zone: zoneBerlin}
	trailClub  = person{name: "Trailhead Outdoor Club", email: "trail-club@lists.example.org", zone: zoneUTC}
	facilities = person{name: "Facilities", email: "facilities@example.com", zone: zoneNY}
	helpdesk   = person{name: "Helpdesk", email: "helpdesk@example.com", zone: zoneNY}
	stadtwerke = person{name: "Stadtwerke Beispielstadt", email: "rechnung@stadtwerke.example.net", zone: zoneBerlin}
	airline    = person{name: "Example Air", email: "booking@air.example.com", zone: zoneUTC}

	friends = []person{alice, bob, jane, juergen, elodie, carlos, priya, sam, mei}
)

func firstName(p person) string {
	if p.name == jane.name {
		return "Jane"
	}
	name, _, _ := strings.Cut(p.name, " ")
	return name
}

// ---------------------------------------------------------------------------
// Text pools

var personalSubjects = []string{
	"Lunch on Friday?", "Quick question about the budget", "Photos from Saturday",
	"Moving boxes", "Book club: next pick", "Your bike", "Dinner plans",
	"Spare keys", "Conference travel", "Feedback on the draft",
	"Monday stand-up notes", "Weekend hike?", "The recipe you asked for",
	"Happy birthday!", "Can you review this?", "Parking permit renewal",
	"The plumber is coming on Tuesday", "Board game night", "Old laptop – still want it?",
	"Tickets for the concert", "Holiday plans", "Meeting notes", "Car-pool next week",
	"Are you free for a call?", "Small favour", "Thanks for yesterday",
}

var sentences = []string{
	"Just wanted to follow up on what we discussed on Tuesday.",
	"I had a look at the numbers and they seem fine to me.",
	"Could you send me the latest version when you get a chance?",
	"The meeting room on the third floor is booked from two to four.",
	"Let me know if Thursday works better for you.",
	"The bakery on the corner finally reopened, by the way.",
	"We should probably loop in the rest of the team before deciding.",
	"My train was delayed again, so I will join the call from my phone.",
	"Thanks again for your help with the move last weekend.",
	"The printer on our floor is out of toner, if anyone asks.",
	"I think the second option is simpler and easier to maintain.",
	"Can we push the deadline by a week? The reviews took longer than expected.",
	"Here is a short summary so you don't have to read the whole thread.",
	"The kids loved the museum; we will definitely go back.",
	"I booked a table for seven people at eight o'clock.",
	"Please double-check the address before sending the parcel.",
	"The new release fixes the login bug on older phones.",
	"I am out of the office until Monday with limited access to email.",
	"No rush on this, whenever you have a minute is fine.",
	"It rained the whole afternoon, so we stayed in and played cards.",
	"I still have your umbrella – remind me to bring it next time.",
	"The quote from the second supplier is about fifteen percent cheaper.",
	"Do you remember the name of that little Italian place near the station?",
	"I've put the documents in the shared folder under \"2024/contracts\".",
	"Sorry for the late reply, this week has been a bit hectic.",
	"Let's keep it simple and decide on the details when we meet.",
	"The garden is finally coming along; the tomatoes are huge this year.",
	"I can pick you up at the airport if your flight lands before ten.",
}

var greetings = []string{"Hi %s,", "Hello %s,", "Hey %s!", "Dear %s,", "Good morning %s,"}

var closings = []string{"Cheers,\n%s", "Best,\n%s", "Thanks!\n%s", "Talk soon,\n%s", "-- \n%s", "Best regards,\n%s"}

// paragraphs returns n paragraphs of 2–4 sentences.
func (g *gen) paragraphs(n int) string {
	ps := make([]string, n)
	for i := range ps {
		k := 2 + g.intn(3)
		ss := make([]string, k)
		for j := range ss {
			ss[j] = pick(g, sentences)
		}
		ps[i] = wrap(strings.Join(ss, " "), 72)
	}
	return strings.Join(ps, "\n\n")
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// quote prefixes every line of s with "> " (">" for already quoted lines).
func quote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, ">"):
			lines[i] = ">" + l
		case l == "":
			lines[i] = ">"
		default:
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

func attribution(at time.Time, p person) string {
	return fmt.Sprintf("On %s, %s wrote:", at.In(p.zone).Format("Mon, 2 Jan 2006 at 15:04"), p.name)
}

// ---------------------------------------------------------------------------
// Fixed attachments

var (
	colorLeaf  = color.RGBA{46, 139, 87, 255}
	colorSky   = color.RGBA{70, 130, 180, 255}
	colorSun   = color.RGBA{255, 165, 0, 255}
	colorBrick = color.RGBA{178, 34, 34, 255}
	colorPlum  = color.RGBA{142, 69, 133, 255}
)

// photos caches the encoded sample pictures (PNG encoding dominates the
// generation time).
var photos struct {
	sync.Mutex
	m map[color.RGBA][]byte
}

// photo returns a 64×48 sample picture in the given hue. Callers must not
// modify the result.
func photo(c color.RGBA) []byte {
	photos.Lock()
	defer photos.Unlock()
	if b, ok := photos.m[c]; ok {
		return b
	}
	if photos.m == nil {
		photos.m = make(map[color.RGBA][]byte)
	}
	b := pngImage(64, 48, c)
	photos.m[c] = b
	return b
}

// ---------------------------------------------------------------------------
// INBOX

const inboxSize = 250

func (g *gen) inbox() []msg {
	var l []msg
	add := func(s spec) { l = append(l, g.build(s)) }

	// The newest message: a welcome note.
	add(spec{
		from: team, to: []person{me}, date: g.ago(4 * time.Minute),
		subject: "Welcome to the thumbmail demo",
		id:      "welcome@example.org",
		flags:   []imap.Flag{imap.FlagFlagged},
		body:    g.alternative(welcomeText, welcomeHTML),
	})

	// A thread of 12 messages.
	l = append(l, g.releaseThread()...)

	// German, UTF-8 quoted-printable.
	add(spec{
		from: juergen, to: []person{me}, cc: []person{elodie}, date: g.ago(50 * time.Minute),
		subject: "Grüße aus München – Straßenfest am Samstag",
		id:      "strassenfest.3@mail.example.net",
		body: plain("Hallo Demo,\n\nam Samstag ist wieder Straßenfest in der Schäfflerstraße. " +
			"Wir treffen uns um 15 Uhr vor der Bäckerei Größl.\n\n" +
			"Bring gern Kuchen mit – Käsekuchen wäre großartig!\n\nViele Grüße\nJürgen\n"),
	})

	// French, ISO-8859-1 quoted-printable, with a Latin-1 encoded-word.
	frSubject := "Réunion de l'équipe : compte rendu"
	add(spec{
		from: person{name: elodie.name, email: elodie.email, zone: zoneParis, enc: mime.QEncoding.Encode("ISO-8859-1", string(latin1(elodie.name)))},
		to:   []person{me}, date: g.ago(3*time.Hour + 12*time.Minute),
		encSubject: mime.QEncoding.Encode("ISO-8859-1", string(latin1(frSubject))),
		id:         "cr-reunion-0412@example.org",
		body: legacyText("iso-8859-1", "quoted-printable", latin1(
			"Bonjour à tous,\n\nVoici le compte rendu de la réunion de jeudi.\n\n"+
				"- Le café du deuxième étage sera fermé pendant les travaux.\n"+
				"- Hélène présentera la nouvelle procédure à la rentrée.\n"+
				"- Prochaine réunion : vendredi à 10 h, salle « Mont-Blanc ».\n\n"+
				"Merci et bonne journée,\nÉlodie\n")),
	})

	// Japanese in ISO-2022-JP, and in UTF-8.
	add(spec{
		from: person{name: hanako.name, email: hanako.email, zone: zoneTokyo, enc: "=?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(jaName)) + "?="},
		to:   []person{me}, date: g.ago(days(1) + 2*time.Hour),
		encSubject: "=?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(jaSubject)) + "?=",
		id:         "20240611.minutes.tanaka@example.com",
		body:       legacyText("ISO-2022-JP", "7bit", []byte(jaBody)),
	})
	add(spec{
		from: hanako, to: []person{me}, date: g.ago(days(9) + 5*time.Hour),
		subject: "来週の打ち合わせについて",
		id:      "uchiawase.0042@example.com",
		body: plain("デモさん\n\nお世話になっております。田中です。\n" +
			"来週の打ち合わせですが、火曜日の午前十時からでいかがでしょうか。\n" +
			"場所は本社の三階会議室を予定しています。\n\nよろしくお願いいたします。\n田中\n"),
	})

	// Emoji subject, HTML alternative.
	add(spec{
		from: priya, to: []person{me, alice, bob, sam}, date: g.ago(days(2) + 7*time.Hour),
		subject: "🎉 Party on Friday! 🍕🎂",
		id:      "party-friday.77@example.com",
		flags:   []imap.Flag{imap.FlagFlagged},
		body: g.alternative(
			"Hi all!\n\nIt's my birthday on Friday 🎂 and I'm throwing a small party at my place from 7 pm.\n"+
				"There will be pizza 🍕, cake and a questionable playlist 🎶.\n\nRSVP by Wednesday please!\n\nPriya\n",
			`<p>Hi all!</p><p>It's my birthday on Friday 🎂 and I'm throwing a small party at my place from <b>7 pm</b>.</p>`+
				`<p>There will be pizza 🍕, cake and a <i>questionable</i> playlist 🎶.</p><p style="color:#c0392b">RSVP by Wednesday please!</p><p>Priya</p>`),
	})

	// Cyrillic UTF-8 with photos, and an old KOI8-R message.
	add(spec{
		from: anna, to: []person{me}, date: g.ago(days(3) + 4*time.Hour),
		subject: "Привет из Москвы! Фотографии с выставки",
		id:      "vystavka.photos.5@example.net",
		body: g.multipart("mixed", []entity{
			plain("Привет!\n\nПосылаю несколько фотографий с выставки. Погода была отличная, " +
				"народу — очень много.\n\nОбнимаю,\nАнна\n"),
			attachment("image/png", "выставка-1.png", "attachment", "", photo(colorSky)),
			attachment("image/png", "выставка-2.png", "attachment", "", photo(colorPlum)),
		}),
	})
	add(spec{
		from: person{name: anna.name, email: anna.email, zone: zoneMoscow, enc: "=?KOI8-R?B?" + base64.StdEncoding.EncodeToString([]byte(ruName)) + "?="},
		to:   []person{me}, date: g.ago(days(40) + 3*time.Hour),
		encSubject: "=?KOI8-R?B?" + base64.StdEncoding.EncodeToString([]byte(ruSubject)) + "?=",
		id:         "otchet.q.2@example.net",
		body:       legacyText("koi8-r", "8bit", []byte(ruBody)),
	})

	// PDF attachment with a non-ASCII file name.
	add(spec{
		from: stadtwerke, to: []person{me}, date: g.ago(days(12) + 9*time.Hour),
		subject: "Ihre Rechnung für März – bitte prüfen",
		id:      "rechnung-2024-03-118842@stadtwerke.example.net",
		body: g.multipart("mixed", []entity{
			plain("Sehr geehrte Kundin, sehr geehrter Kunde,\n\nanbei erhalten Sie Ihre Rechnung für März.\n" +
				"Der Betrag von 84,20 € wird am 15. des Monats abgebucht.\n\n" +
				"Mit freundlichen Grüßen\nIhre Stadtwerke Beispielstadt\n"),
			attachment("application/pdf", "Rechnung März.pdf", "attachment", "",
				pdfDoc("Rechnung Maerz", "Kundennummer: 118842", "Strom: 61,40 EUR", "Wasser: 22,80 EUR", "Summe: 84,20 EUR")),
		}),
	})

	// Two PNG attachments.
	add(spec{
		from: bob, to: []person{me}, date: g.ago(days(5) + 6*time.Hour),
		subject: "Photos from the weekend",
		id:      "weekend-photos.bob.1@example.net",
		flags:   []imap.Flag{imap.FlagFlagged},
		body: g.multipart("mixed", []entity{
			plain("Hey,\n\nhere are the two pictures from the lake. The second one is a bit blurry,\nmy hands were cold.\n\nBob\n"),
			attachment("image/png", "lake.png", "attachment", "", photo(colorSky)),
			attachment("image/png", "sunset at the lake.png", "attachment", "", photo(colorSun)),
		}),
	})

	// Inline cid: image in multipart/related.
	add(spec{
		from: library, to: []person{me}, date: g.ago(days(8) + 2*time.Hour),
		subject: "Neu in der Bibliothek: Lesungen im Juni",
		id:      "nl-juni@library.example.org",
		extra:   []field{{"List-Unsubscribe", "<https://library.example.org/unsubscribe?u=demo>"}},
		body: g.multipart("alternative", []entity{
			plain("City Library – Lesungen im Juni\n\n* 5. Juni: Krimiabend mit Tee\n* 19. Juni: Gedichte für Kinder\n\nEintritt frei.\n"),
			g.multipart("related", []entity{
				html(`<html><body style="font-family:sans-serif"><p><img src="cid:logo@library.example.org" alt="City Library" width="64" height="48"></p>` +
					`<h1 style="color:#2e8b57">Lesungen im Juni</h1><ul><li>5. Juni: Krimiabend mit Tee</li><li>19. Juni: Gedichte für Kinder</li></ul>` +
					`<p>Eintritt frei.</p></body></html>`),
				attachment("image/png", "logo.png", "inline", "logo@library.example.org", photo(colorLeaf)),
			}, "type", "text/html"),
		}),
	})

	// Deeply nested: mixed(alternative(text, related(html, png)), pdf, csv).
	add(spec{
		from: carlos, to: []person{me}, cc: []person{alice, priya}, date: g.ago(days(20) + 3*time.Hour),
		subject: "Quarterly report Q3 — draft for review",
		id:      "q3-report-draft.carlos@example.org",
		flags:   []imap.Flag{imap.FlagAnswered},
		body: g.multipart("mixed", []entity{
			g.multipart("alternative", []entity{
				plain("Hi all,\n\nattached is the draft of the Q3 report and the raw numbers.\nThe chart is inline in the HTML version.\n\nCarlos\n"),
				g.multipart("related", []entity{
					html(`<p>Hi all,</p><p>attached is the draft of the <b>Q3 report</b> and the raw numbers.</p>` +
						`<p><img src="cid:chart-q3@example.org" alt="Chart" style="max-width:100%"></p><p>Carlos</p>`),
					attachment("image/png", "chart.png", "inline", "chart-q3@example.org", photo(colorBrick)),
				}, "type", "text/html"),
			}),
			attachment("application/pdf", "Q3 report (draft).pdf", "attachment", "",
				pdfDoc("Q3 report - DRAFT", "Revenue: 1.2M", "Costs: 0.9M", "Headcount: 14")),
			attachment("text/csv; charset=utf-8", "q3-numbers.csv", "attachment", "",
				[]byte("month,revenue,costs\r\nJuly,390000,301000\r\nAugust,402000,298000\r\nSeptember,408000,305000\r\n")),
		}),
	})

	// Long, folded subject from a mailing list.
	add(spec{
		from: person{name: "Mei Chen via Trailhead Outdoor Club", email: trailClub.email, zone: zoneSF},
		to:   []person{trailClub}, replyTo: []person{trailClub}, date: g.ago(days(6) + 8*time.Hour),
		subject: "Re: Fwd: [trail-club] Updated itinerary, gear list, car-pool assignments and the emergency " +
			"contact sheet for the autumn hike to the ridge (please read before Thursday!!)",
		id:    "itinerary-v3.mei@example.com",
		extra: listHeaders(),
		body: plain("Hi everyone,\n\nsorry for the long subject. Short version: we leave at 7:00 sharp from the\n" +
			"north parking lot. Bring water, a warm layer and a head torch.\n\n" + g.paragraphs(2) + "\n\nMei\n"),
	})

	// A long message.
	add(spec{
		from: trailClub, to: []person{trailClub}, date: g.ago(days(30) + 5*time.Hour),
		subject: "Minutes of the annual general meeting (full transcript)",
		id:      "agm-minutes@lists.example.org",
		extra:   listHeaders(),
		body:    plain(g.longMinutes()),
	})

	// A forwarded message as message/rfc822.
	inner := g.build(spec{
		from: person{name: "Greenway Property Management", email: "office@greenway.example.com", zone: zoneNY},
		to:   []person{bob}, date: g.ago(days(16)),
		subject: "Lease renewal for Apartment 4B",
		id:      "lease-4b-renewal@greenway.example.com",
		body: g.multipart("mixed", []entity{
			plain("Dear Mr. Martin,\n\nyour lease for Apartment 4B expires at the end of next month.\n" +
				"Please sign and return the attached renewal form.\n\nKind regards,\nGreenway Property Management\n"),
			attachment("application/pdf", "renewal-form.pdf", "attachment", "", pdfDoc("Lease renewal", "Apartment 4B", "Term: 12 months")),
		}),
	})
	add(spec{
		from: bob, to: []person{me}, date: g.ago(days(15) + 4*time.Hour),
		subject: "Fwd: Lease renewal for Apartment 4B",
		id:      "fwd-lease.bob@example.net",
		body: g.multipart("mixed", []entity{
			plain("Can you have a look at this before I sign? The rent went up again.\n\nBob\n"),
			rfc822(inner.raw, false),
		}),
	})

	// A calendar invitation.
	inviteAt := g.now.Add(days(2)).UTC().Truncate(time.Hour)
	add(spec{
		from: alice, to: []person{me, carlos}, date: g.ago(days(1) + 30*time.Minute),
		subject: "Invitation: Design review @ " + inviteAt.In(zoneNY).Format("Mon Jan 2, 15:04 MST"),
		id:      "invite-design-review@example.com",
		body: g.multipart("alternative", []entity{
			plain("You are invited to: Design review\nWhen: " + inviteAt.In(zoneNY).Format(time.RFC1123) + "\nWhere: Room 3.14 / video call\n"),
			html("<p>You are invited to: <b>Design review</b></p><p>When: " + inviteAt.In(zoneNY).Format(time.RFC1123) + "<br>Where: Room 3.14 / video call</p>"),
			textEntity("calendar", crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Example//Calendar//EN\nMETHOD:REQUEST\n"+
				"BEGIN:VEVENT\nUID:design-review@example.com\nDTSTAMP:"+g.ago(days(1)).UTC().Format("20060102T150405Z")+"\n"+
				"DTSTART:"+inviteAt.Format("20060102T150405Z")+"\nDTEND:"+inviteAt.Add(time.Hour).Format("20060102T150405Z")+"\n"+
				"SUMMARY:Design review\nLOCATION:Room 3.14\nORGANIZER;CN=Alice Johnson:mailto:alice@example.com\n"+
				"ATTENDEE;RSVP=TRUE:mailto:demo@example.org\nEND:VEVENT\nEND:VCALENDAR\n"), "method", "REQUEST"),
		}),
	})

	// No subject at all.
	add(spec{
		from: sam, to: []person{me}, date: g.ago(days(16) + 2*time.Hour), noSubject: true,
		id:   "nosubject.sam.9@example.net",
		body: plain("Forgot the subject, sorry. Are we still on for Thursday?\n\nSam\n"),
	})

	// An HTML-only newsletter that needs sanitizing.
	add(spec{
		from: sprout, to: []person{me}, date: g.ago(days(2) + 3*time.Hour),
		subject: "The Weekly Sprout 🌱 Issue 42: Tomatoes, tables and tiny gardens",
		id:      "sprout-42@sprout.example.com",
		extra:   []field{{"List-Unsubscribe", "<https://sprout.example.com/u/demo>, <mailto:unsubscribe@sprout.example.com>"}},
		body:    html(newsletterHTML(42)),
	})

	// format=flowed plain text.
	add(spec{
		from: priya, to: []person{me}, date: g.ago(days(25) + 6*time.Hour),
		subject: "Notes from the conference",
		id:      "conf-notes.priya@example.com",
		body: textEntity("plain", "Hi,\n\nhere are my notes from the conference. This paragraph is written as \n"+
			"one long flowed line, so a good client re-wraps it to the width of the \n"+
			"screen instead of showing ragged lines.\n\n"+
			"> A quoted flowed line that is also rather long and continues on the \n> next line.\n\n"+
			"Talks worth watching:\n- Mail on small screens\n- IMAP IDLE in practice\n\nPriya\n", "format", "flowed", "delsp", "no"),
	})

	// Many recipients and a Reply-To.
	add(spec{
		from: facilities, to: []person{me, alice, bob, jane, priya}, cc: []person{carlos, sam, mei},
		replyTo: []person{helpdesk}, date: g.ago(days(11) + 4*time.Hour),
		subject: "Office move: who sits where",
		id:      "office-move-plan@example.com",
		body: plain("Hello everyone,\n\nthe office move is scheduled for the last weekend of the month.\n" +
			"Please pack your desk by Friday noon. The seating plan is on the intranet.\n\n" +
			"Questions? Reply to this message and the helpdesk will get back to you.\n\nFacilities\n"),
	})

	// One very long unbreakable line.
	add(spec{
		from: jane, to: []person{me}, date: g.ago(days(18) + 9*time.Hour),
		subject: "Link to the shared folder",
		id:      "shared-folder-link.jane@example.com",
		body: plain("Here you go:\n\nhttps://files.example.com/s/3f9a1c2e7b4d/" + strings.Repeat("very-long-path-segment-", 12) +
			"final.pdf?token=" + strings.Repeat("a1b2c3d4", 8) + "&download=1\n\nJane\n"),
	})

	// Filler mail to reach inboxSize.
	n := inboxSize - len(l)
	replies := 0
	for i := range n {
		// Ages from ~200 days down to ~4 hours, denser towards now.
		f := float64(n-i) / float64(n)
		age := days(200*f*f) + time.Duration(4+g.intn(20))*time.Hour + time.Duration(g.intn(60))*time.Minute
		m, s := g.filler("in", i, g.ago(age))
		if s.from.email != "" && replies < 20 && age > days(2) && i%3 == 0 {
			replies++
			m.flags = append(m.flags, imap.FlagAnswered)
			g.sent = append(g.sent, g.reply(s, age))
		}
		if i%17 == 5 {
			m.flags = append(m.flags, imap.FlagFlagged)
		}
		l = append(l, m)
	}

	// Everything but the newest 15 (and a few old newsletters) is \Seen.
	slices.SortStableFunc(l, func(a, b msg) int { return a.date.Compare(b.date) })
	for i := range l {
		unread := i >= len(l)-15 || (i%41 == 7 && i < len(l)-15)
		if !unread {
			l[i].flags = append(l[i].flags, imap.FlagSeen)
		}
	}
	return l
}

// filler returns an everyday message and, for personal mail, its spec (so a
// reply can be written).
func (g *gen) filler(tag string, i int, at time.Time) (msg, spec) {
	switch k := i % 20; {
	case k < 9:
		from := pick(g, friends)
		s := spec{
			from: from, to: []person{me}, date: at,
			subject: pick(g, personalSubjects),
			id:      fmt.Sprintf("%s.%s%04d@%s", strings.ToLower(firstName(from)), tag, i, domainOf(from.email)),
		}
		s.body = plain(fmt.Sprintf(pick(g, greetings), "Demo") + "\n\n" + g.paragraphs(1+g.intn(3)) + "\n\n" +
			fmt.Sprintf(pick(g, closings), firstName(from)) + "\n")
		return g.build(s), s
	case k < 13:
		m := g.notification(i, at)
		return m, spec{}
	case k < 15:
		return g.build(spec{
			from: sprout, to: []person{me}, date: at,
			subject: fmt.Sprintf("The Weekly Sprout 🌱 Issue %d", i/20+10),
			id:      fmt.Sprintf("sprout-%d.%s%d@sprout.example.com", i/20+10, tag, i),
			extra:   []field{{"List-Unsubscribe", "<https://sprout.example.com/u/demo>"}},
			body:    html(newsletterHTML(i/20 + 10)),
		}), spec{}
	case k < 17:
		return g.order(i, at), spec{}
	default:
		topic := pick(g, []string{"Saturday hike: meeting point changed", "Lost and found: blue water bottle",
			"Car-pool for the ridge trail", "Trail maintenance day", "New members evening", "Map of the winter routes"})
		from := pick(g, friends)
		return g.build(spec{
			from: person{name: from.name + " via Trailhead Outdoor Club", email: trailClub.email, zone: from.zone},
			to:   []person{trailClub}, replyTo: []person{trailClub}, date: at,
			subject: "[trail-club] " + topic,
			id:      fmt.Sprintf("list.%s%04d@lists.example.org", tag, i),
			extra:   listHeaders(),
			body:    plain(fmt.Sprintf(pick(g, greetings), "all") + "\n\n" + g.paragraphs(2) + "\n\n" + firstName(from) + "\n\n-- \nTrailhead Outdoor Club mailing list\nhttps://lists.example.org/trail-club\n"),
		}), spec{}
	}
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

func listHeaders() []field {
	return []field{
		{"List-Id", "Trailhead Outdoor Club <trail-club.lists.example.org>"},
		{"List-Post", "<mailto:trail-club@lists.example.org>"},
		{"List-Unsubscribe", "<mailto:trail-club-unsubscribe@lists.example.org>"},
		{"Precedence", "list"},
	}
}

// reply writes demo's reply to a received personal message.
func (g *gen) reply(orig spec, origAge time.Duration) msg {
	delay := time.Duration(30+g.intn(300)) * time.Minute
	if delay > origAge-time.Hour {
		delay = origAge / 2
	}
	at := orig.date.Add(delay)
	subject := orig.subject
	if !strings.HasPrefix(subject, "Re: ") {
		subject = "Re: " + subject
	}
	text := fmt.Sprintf(pick(g, greetings), firstName(orig.from)) + "\n\n" + g.paragraphs(1) + "\n\nDemo\n\n" +
		attribution(orig.date, orig.from) + "\n" + quote(bodyText(orig.body)) + "\n"
	return g.build(spec{
		from: me, to: []person{orig.from}, date: at, subject: subject,
		id:        "reply." + orig.id,
		inReplyTo: orig.id, refs: []string{orig.id},
		body:  plain(text),
		flags: []imap.Flag{imap.FlagSeen},
	})
}

// bodyText returns the text of a 7bit or quoted-printable plain entity
// built by textEntity (for quoting).
func bodyText(e entity) string {
	s := string(e.body)
	for _, f := range e.hdr {
		if f.k == "Content-Transfer-Encoding" && f.v == "quoted-printable" {
			s = qpDecode(s)
		}
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

func (g *gen) notification(i int, at time.Time) msg {
	num := 100 + i
	var subject, text, htmlBody string
	from := gitforge
	switch i % 3 {
	case 0:
		title := pick(g, []string{"Add POP3 UIDL support", "Sanitize style attributes", "Render format=flowed text",
			"Cache folder list per session", "Use CONDSTORE when available"})
		subject = fmt.Sprintf("[thumbmail/thumbmail] %s (PR #%d)", title, num)
		text = fmt.Sprintf("%s requested your review on this pull request.\n\n%s\n\nhttps://git.example.com/thumbmail/thumbmail/pull/%d\n",
			pick(g, []string{"alice", "bob", "priya", "carlos"}), wrap(pick(g, sentences)+" "+pick(g, sentences), 72), num)
	case 1:
		title := pick(g, []string{"Login page overflows on 240px screens", "Dark mode: unreadable links",
			"Message list shows wrong date for mail from Tokyo", "Attachment names with umlauts are garbled"})
		subject = fmt.Sprintf("[thumbmail/thumbmail] %s (Issue #%d)", title, num)
		text = fmt.Sprintf("%s opened a new issue.\n\n%s\n\nhttps://git.example.com/thumbmail/thumbmail/issues/%d\n",
			pick(g, []string{"mei", "sam", "jane"}), wrap(pick(g, sentences), 72), num)
	default:
		from = ciBot
		subject = fmt.Sprintf("CI failed: main (%07x)", uint32(g.rand())>>4)
		text = "The pipeline for main failed.\n\nFailed job: test (go 1.26)\n--- FAIL: TestFetchBodyStructure (0.02s)\n    fetch_test.go:42: unexpected EOF\n"
	}
	htmlBody = `<div style="font-family:-apple-system,Segoe UI,sans-serif;font-size:14px"><pre style="white-space:pre-wrap">` +
		htmlEscape(text) + `</pre><p style="color:#666;font-size:12px">You are receiving this because you are subscribed to this repository.</p></div>`
	return g.build(spec{
		from: from, to: []person{me}, date: at, subject: subject,
		id:    fmt.Sprintf("notif.%d.%d@git.example.com", num, i),
		extra: []field{{"List-Id", "thumbmail/thumbmail <thumbmail.thumbmail.git.example.com>"}},
		body:  g.alternative(text, htmlBody),
	})
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (g *gen) order(i int, at time.Time) msg {
	items := [][2]string{{"Garden hose, 25 m", "24.99"}, {"USB-C cable", "9.49"}, {"Seed collection \"Heirloom tomatoes\"", "7.95"},
		{"Reading lamp", "34.00"}, {"Rain jacket (M)", "59.90"}, {"Coffee beans, 1 kg", "18.50"}}
	a, b := pick(g, items), pick(g, items)
	text := fmt.Sprintf("Thanks for shopping with ShopMart!\n\nOrder #%d has shipped.\n\n  %s  $%s\n  %s  $%s\n\nTrack your parcel: https://shop.example.net/track/%d\n", 40000+i, a[0], a[1], b[0], b[1], 40000+i)
	htmlBody := fmt.Sprintf(`<!DOCTYPE html><html><head><style>td{padding:6px 12px;border-bottom:1px solid #eee}</style></head><body style="margin:0;background:#fafafa">`+
		`<table width="600" align="center" style="background:#fff;font-family:Arial,sans-serif"><tr><td colspan="2" style="background:#003366;color:#fff;font-size:22px">ShopMart</td></tr>`+
		`<tr><td colspan="2">Order <b>#%d</b> has shipped.</td></tr><tr><td>%s</td><td align="right">$%s</td></tr><tr><td>%s</td><td align="right">$%s</td></tr>`+
		`<tr><td colspan="2"><a href="https://shop.example.net/track/%d" style="background:#f90;color:#000;padding:10px 20px;text-decoration:none">Track parcel</a></td></tr>`+
		`<tr><td colspan="2"><img src="https://shop.example.net/pixel.gif?o=%d" width="1" height="1" alt=""></td></tr></table></body></html>`,
		40000+i, htmlEscape(a[0]), a[1], htmlEscape(b[0]), b[1], 40000+i, 40000+i)
	return g.build(spec{
		from: shop, to: []person{me}, date: at,
		subject: fmt.Sprintf("Your ShopMart order #%d has shipped", 40000+i),
		id:      fmt.Sprintf("order-%d@shop.example.net", 40000+i),
		body:    g.alternative(text, htmlBody),
	})
}

// releaseThread is a 12-message thread with proper Message-ID,
// In-Reply-To and References, each reply quoting the previous message.
func (g *gen) releaseThread() []msg {
	who := []person{alice, bob, jane, alice, priya, carlos, bob, alice, jane, priya, bob, alice}
	lines := []string{
		"I'd like to cut the 0.1 release of thumbmail by the end of the month. What is\nstill missing? My list: POP3 support, the settings page and the docs.",
		"POP3 is nearly done, I only need to handle servers without UIDL. The settings\npage is mine too, but it depends on the session store changes.",
		"The session store is merged as of this morning. Redis works, the in-memory\nstore too. Docs: I can write the operator guide.",
		"Great. Then the blockers are POP3/UIDL and settings. Bob, realistic date?",
		"I tested on my old phone with a 240 px screen: the message list is fine, but\nthe compose page scrolls horizontally. Filing an issue.",
		"The HTML sanitizer needs one more pass: style attributes with url() still get\nthrough. I have a fix, will open a PR tonight.",
		"Realistic date for POP3: next Wednesday. Settings on Friday.",
		"OK, so release candidate on Monday the week after. Carlos, Priya – can the\nfixes land before that?",
		"Operator guide draft is in the wiki. Please have a look, especially the part\nabout the reverse proxy and the base path.",
		"Compose page fix is merged. I also added a test that fails on horizontal\nscrolling, so it shouldn't come back.",
		"POP3 with and without UIDL is merged. Sorry for the delay, one of the test\nservers sent a bogus greeting.",
		"Thanks everyone! Tagging v0.1.0-rc1 now. Release notes to follow.",
	}
	subject := "Thumbmail 0.1 release planning"
	start := g.ago(days(6) + 3*time.Hour)
	var (
		l     []msg
		refs  []string
		prev  string // previous body
		prevP person
		prevT time.Time
	)
	for i, from := range who {
		at := start.Add(time.Duration(i) * 11 * time.Hour).Add(time.Duration(g.intn(50)) * time.Minute)
		id := fmt.Sprintf("release-0.1.%02d.%s@%s", i+1, strings.ToLower(firstName(from)), domainOf(from.email))
		body := fmt.Sprintf(pick(g, greetings), "all") + "\n\n" + lines[i] + "\n\n" + firstName(from) + "\n"
		s := spec{
			from: from, date: at, id: id, subject: subject, cc: []person{me},
		}
		for _, p := range []person{alice, bob, jane, priya, carlos} {
			if p.email != from.email {
				s.to = append(s.to, p)
			}
		}
		if i > 0 {
			s.subject = "Re: " + subject
			s.inReplyTo = refs[len(refs)-1]
			s.refs = slices.Clone(refs)
			body += "\n" + attribution(prevT, prevP) + "\n" + quote(prev) + "\n"
		}
		if i == 7 {
			s.flags = []imap.Flag{imap.FlagFlagged}
		}
		s.body = plain(body)
		l = append(l, g.build(s))
		refs = append(refs, id)
		if len(refs) > 10 {
			// Like most mailers, keep the first and the latest references.
			refs = append(refs[:1], refs[len(refs)-9:]...)
		}
		prev, prevP, prevT = body, from, at
	}
	return l
}

func (g *gen) longMinutes() string {
	var b strings.Builder
	b.WriteString("TRAILHEAD OUTDOOR CLUB\nMinutes of the annual general meeting\n\n")
	topics := []string{"Welcome and apologies", "Minutes of the last meeting", "Treasurer's report",
		"Trail maintenance", "Safety and first aid", "Membership fees", "Winter programme",
		"Equipment library", "Youth group", "Election of the board", "Any other business"}
	for i, t := range topics {
		fmt.Fprintf(&b, "%d. %s\n%s\n\n", i+1, strings.ToUpper(t), strings.Repeat("-", len(t)+3))
		for range 14 {
			b.WriteString(g.paragraphs(1))
			b.WriteString("\n\n")
		}
	}
	b.WriteString("The meeting closed at 21:47.\n\n-- \nTrailhead Outdoor Club mailing list\n")
	return b.String()
}

// ---------------------------------------------------------------------------
// Other folders

func (g *gen) sentFolder() []msg {
	l := slices.Clone(g.sent)
	originals := []struct {
		to      []person
		subject string
		text    string
		age     time.Duration
	}{
		{[]person{alice}, "Slides for Thursday", "Hi Alice,\n\nthe slides are in the shared folder. I kept it to ten.\n\nDemo\n", days(3)},
		{[]person{bob, sam}, "Football on Sunday?", "Anyone up for football on Sunday morning? 10:00 at the park.\n\nDemo\n", days(9)},
		{[]person{hanako}, "Re: 来週の打ち合わせについて", "田中さん\n\n火曜日の十時で大丈夫です。よろしくお願いします。\n\nデモ\n", days(8)},
		{[]person{juergen}, "Re: Grüße aus München – Straßenfest am Samstag", "Hallo Jürgen,\n\nich bringe einen Käsekuchen mit!\n\nGrüße\nDemo\n", 20 * time.Minute},
		{[]person{carlos, alice, priya}, "Re: Quarterly report Q3 — draft for review", "Carlos,\n\nlooks good. Two small things: the chart needs axis labels and the\nheadcount on page 2 is from Q2.\n\nDemo\n", days(19)},
		{[]person{helpdesk}, "Laptop battery", "Hello,\n\nmy laptop battery drains within an hour. Could someone have a look?\n\nThanks,\nDemo\n", days(33)},
		{[]person{mei}, "Hiking boots", "Hi Mei,\n\nwhich boots did you buy in the end? Mine are falling apart.\n\nDemo\n", days(47)},
		{[]person{elodie}, "Merci !", "Bonjour Élodie,\n\nmerci pour le compte rendu, très clair.\n\nDemo\n", 2 * time.Hour},
		{[]person{jane}, "Re: Link to the shared folder", "Got it, thanks!\n\nDemo\n", days(18)},
	}
	for i, o := range originals {
		s := spec{
			from: me, to: o.to, date: g.ago(o.age), subject: o.subject,
			id:    fmt.Sprintf("sent.%02d@example.org", i),
			flags: []imap.Flag{imap.FlagSeen},
			body:  plain(o.text),
		}
		switch o.subject {
		case "Re: Quarterly report Q3 — draft for review":
			s.inReplyTo, s.refs = "q3-report-draft.carlos@example.org", []string{"q3-report-draft.carlos@example.org"}
		case "Re: Link to the shared folder":
			s.inReplyTo, s.refs = "shared-folder-link.jane@example.com", []string{"shared-folder-link.jane@example.com"}
		}
		l = append(l, g.build(s))
	}
	// One with a photo and an HTML part.
	l = append(l, g.build(spec{
		from: me, to: []person{anna}, date: g.ago(days(2) + 5*time.Hour),
		subject: "Our garden this spring",
		id:      "sent.garden-photo@example.org",
		flags:   []imap.Flag{imap.FlagSeen},
		body: g.multipart("mixed", []entity{
			g.alternative("Hi Anna,\n\nhere's the garden – finally green!\n\nDemo\n", "<p>Hi Anna,</p><p>here's the garden – <i>finally</i> green!</p><p>Demo</p>"),
			attachment("image/png", "garden.png", "attachment", "", photo(colorLeaf)),
		}),
	}))
	return l
}

func (g *gen) drafts() []msg {
	draft := []imap.Flag{imap.FlagDraft, imap.FlagSeen}
	return []msg{
		g.build(spec{
			from: me, to: []person{alice, bob, jane, priya, carlos}, date: g.ago(35 * time.Minute),
			subject: "Re: Thumbmail 0.1 release planning", flags: draft,
			id:        "draft.release@example.org",
			inReplyTo: "release-0.1.12.alice@example.com", refs: []string{"release-0.1.01.alice@example.com", "release-0.1.12.alice@example.com"},
			body: plain("Congratulations everyone! I'll test the RC on my phone tonight and\n"),
		}),
		g.build(spec{
			from: me, date: g.ago(days(4)), subject: "Ideas for the garden", flags: draft,
			id:   "draft.garden@example.org",
			body: plain("- raised bed for herbs\n- rain barrel\n- ask Jürgen about the compost\n-\n"),
		}),
		g.build(spec{
			from: me, to: []person{carlos}, date: g.ago(days(10)), subject: "Photos from the trip", flags: draft,
			id: "draft.photos@example.org",
			body: g.multipart("mixed", []entity{
				plain("Hi Carlos,\n\nas promised, the photo from the harbour.\n"),
				attachment("image/png", "harbour.png", "attachment", "", photo(colorSky)),
			}),
		}),
	}
}

func (g *gen) trash() []msg {
	var l []msg
	for i := range 10 {
		at := g.ago(days(float64(3 + i*9)))
		var m msg
		if i%2 == 0 {
			m = g.build(spec{
				from: sprout, to: []person{me}, date: at,
				subject: fmt.Sprintf("The Weekly Sprout 🌱 Issue %d", 30+i),
				id:      fmt.Sprintf("trash-sprout-%d@sprout.example.com", i),
				body:    html(newsletterHTML(30 + i)),
			})
		} else {
			m, _ = g.filler("tr", i*20, at) // personal mail
		}
		m.flags = []imap.Flag{imap.FlagSeen}
		l = append(l, m)
	}
	return l
}

func (g *gen) junk() []msg {
	prize := person{name: "Prize Department", email: "winner@prizes.example.net", zone: zoneUTC}
	fakeBank := person{name: "Examp1e Bank Security", email: "security@examp1e-bank.example.net", zone: zoneUTC}
	junk := []imap.Flag{imap.Flag("$Junk")}
	return []msg{
		g.build(spec{
			from: prize, to: []person{me}, date: g.ago(5 * time.Hour),
			subject: "🎁 CONGRATULATIONS!!! You have WON a brand new phone",
			id:      "win-8812@prizes.example.net", flags: junk,
			body: html(`<html><body onload="window.location='https://prizes.example.net/claim'"><h1 style="color:red;font-size:48px">YOU WON!!!</h1>` +
				`<p>Click <a href="https://prizes.example.net/claim?id=8812">here</a> to claim your prize within 24 hours.</p>` +
				`<script>window.open("https://prizes.example.net/popup")</script><img src="https://prizes.example.net/track.gif?u=demo"></body></html>`),
		}),
		g.build(spec{
			from: fakeBank, to: []person{me}, replyTo: []person{{name: "Security", email: "verify@phish.example.net"}},
			date:    g.ago(days(1) + 6*time.Hour),
			subject: "Your account has been suspended",
			id:      "suspend-77@examp1e-bank.example.net", flags: junk,
			body: g.alternative("Your account has been suspended. Verify your identity: https://examp1e-bank.example.net/verify\n",
				`<p>Dear customer,</p><p>Your account has been <b>suspended</b>.</p><form action="https://phish.example.net/steal" method="post">`+
					`<input name="user" placeholder="Username"><input name="pass" type="password" placeholder="Password"><button>Verify</button></form>`+
					`<a href="javascript:alert('gotcha')">Cancel</a><iframe src="https://phish.example.net/frame" width="1" height="1"></iframe>`),
		}),
		g.build(spec{
			from: person{name: "Pharma Shop", email: "sales@cheap.example.net", zone: zoneUTC}, to: []person{me},
			date: g.ago(days(3)), subject: "Cheap meds, no prescription, fast shipping",
			id: "meds-1@cheap.example.net", flags: junk,
			body: plain("Best prices!!! Order now: https://cheap.example.net/\n\nTo unsubscribe reply STOP.\n"),
		}),
		g.build(spec{
			from: person{name: "Инвестиции", email: "invest@money.example.net", zone: zoneMoscow},
			to:   []person{{name: "", email: "undisclosed@money.example.net"}},
			date: g.ago(days(6)), subject: "Заработок от 5000 в день без вложений",
			id: "invest-5@money.example.net", flags: append(junk, imap.FlagSeen),
			body: plain("Только сегодня! Пишите нам: invest@money.example.net\n"),
		}),
		g.build(spec{
			from: person{name: "Accounts Payable", email: "ap@invoices.example.net", zone: zoneUTC}, to: []person{me},
			date: g.ago(days(9)), subject: "Invoice overdue – final notice",
			id: "inv-overdue@invoices.example.net", flags: junk,
			body: g.multipart("mixed", []entity{
				plain("Please find the overdue invoice attached. Pay immediately to avoid legal action.\n"),
				attachment("application/octet-stream", "invoice.pdf.exe", "attachment", "", []byte("MZ\x90\x00 this is not really a program")),
			}),
		}),
	}
}

func (g *gen) archive() []msg {
	var l []msg
	for i := range 40 {
		at := g.ago(days(float64(120+i*7)) + time.Duration(g.intn(12))*time.Hour)
		var m msg
		switch i % 4 {
		case 0, 1:
			m, _ = g.filler("ar", i*20+i%9, at) // personal
		case 2:
			m = g.order(1000+i, at)
		default:
			m = g.build(spec{
				from: airline, to: []person{me}, date: at,
				subject: fmt.Sprintf("Your booking confirmation EA%04d", 1200+i),
				id:      fmt.Sprintf("booking-%d@air.example.com", 1200+i),
				body: g.multipart("mixed", []entity{
					g.alternative(fmt.Sprintf("Booking EA%04d confirmed.\nFlight EA 42, seat %dC.\n", 1200+i, 10+i),
						fmt.Sprintf(`<table style="border:1px solid #ccc"><tr><th>Booking</th><td>EA%04d</td></tr><tr><th>Seat</th><td>%dC</td></tr></table>`, 1200+i, 10+i)),
					attachment("application/pdf", fmt.Sprintf("boarding-pass-EA%04d.pdf", 1200+i), "attachment", "",
						pdfDoc("Boarding pass", fmt.Sprintf("Booking EA%04d", 1200+i), "Gate closes 20 minutes before departure")),
				}),
			})
		}
		m.flags = []imap.Flag{imap.FlagSeen}
		if i%6 == 0 {
			m.flags = append(m.flags, imap.FlagFlagged)
		}
		if i%5 == 1 {
			m.flags = append(m.flags, imap.FlagAnswered)
		}
		l = append(l, m)
	}
	return l
}

func (g *gen) projectThumbmail() []msg {
	var l []msg
	for i := range 12 {
		m := g.notification(300+i, g.ago(days(float64(24-2*i))+time.Duration(g.intn(10))*time.Hour))
		if i < 9 {
			m.flags = []imap.Flag{imap.FlagSeen}
		}
		l = append(l, m)
	}
	return l
}

func (g *gen) projectGarden() []msg {
	gardenClub := person{name: "Allotment Association", email: "board@allotments.example.org", zone: zoneBerlin}
	subjects := []string{"Watering rota for July", "Seed swap on Saturday", "Photos of the new greenhouse",
		"Compost delivery", "Fence repair", "Harvest festival", "Plot 14 is available", "Annual fee reminder"}
	var l []msg
	for i, subj := range subjects {
		s := spec{
			from: gardenClub, to: []person{me}, date: g.ago(days(float64(60-7*i)) + 3*time.Hour),
			subject: subj, id: fmt.Sprintf("garden.%d@allotments.example.org", i),
			flags: []imap.Flag{imap.FlagSeen},
		}
		text := "Dear members,\n\n" + g.paragraphs(2) + "\n\nThe board\n"
		if i == 2 {
			s.body = g.multipart("mixed", []entity{plain(text),
				attachment("image/png", "greenhouse-1.png", "attachment", "", photo(colorLeaf)),
				attachment("image/png", "greenhouse-2.png", "attachment", "", photo(colorSun)),
			})
		} else {
			s.body = plain(text)
		}
		if i == len(subjects)-1 {
			s.flags = nil
		}
		l = append(l, g.build(s))
	}
	return l
}

func (g *gen) travel() []msg {
	places := []struct {
		subject, file string
		c             color.RGBA
	}{
		{"Lissabon – Tag 1", "lissabon-alfama.png", colorSun},
		{"Lissabon – Straßenbahn 28", "tram-28.png", colorBrick},
		{"Porto – Blick über den Douro", "porto-douro.png", colorSky},
		{"Sintra im Nebel", "sintra.png", colorPlum},
		{"Algarve: Strand bei Lagos", "lagos-strand.png", colorSun},
		{"Rückflug – Fotos vom Fenster", "wolken über den Alpen.png", colorSky},
	}
	var l []msg
	for i, p := range places {
		l = append(l, g.build(spec{
			from: juergen, to: []person{me}, date: g.ago(days(float64(90-i)) + time.Duration(i)*time.Hour),
			subject: p.subject, id: fmt.Sprintf("reise.%d.juergen@example.net", i),
			flags: []imap.Flag{imap.FlagSeen},
			body: g.multipart("mixed", []entity{
				plain("Hallo,\n\nhier ein Foto von heute. Das Wetter ist großartig!\n\nJürgen\n"),
				attachment("image/png", p.file, "attachment", "", photo(p.c)),
			}),
		}))
	}
	return l
}

func (g *gen) bills() []msg {
	var l []msg
	for i := range 9 {
		at := g.ago(days(float64(15 + 30*i)))
		var m msg
		if i%3 == 2 {
			m = g.build(spec{
				from: stadtwerke, to: []person{me}, date: at,
				subject: "Abschlag Strom & Wasser – Ihre Rechnung",
				id:      fmt.Sprintf("abschlag-%d@stadtwerke.example.net", i),
				body: g.multipart("mixed", []entity{
					plain("Sehr geehrte Kundin, sehr geehrter Kunde,\n\nanbei Ihre Abschlagsrechnung.\n\nIhre Stadtwerke\n"),
					attachment("application/pdf", fmt.Sprintf("Abschlag-%d.pdf", i+1), "attachment", "", pdfDoc("Abschlagsrechnung", fmt.Sprintf("Nr. %d", 5500+i), "Betrag: 84,20 EUR")),
				}),
			})
		} else {
			m = g.build(spec{
				from: bank, to: []person{me}, date: at,
				subject: "Your monthly statement is ready",
				id:      fmt.Sprintf("statement-%d@bank.example.com", i),
				body: g.multipart("mixed", []entity{
					g.alternative("Your statement is attached.\n\nExample Bank\n", `<p>Your statement is attached.</p><p style="color:#888">Example Bank</p>`),
					attachment("application/pdf", fmt.Sprintf("statement-%02d.pdf", i+1), "attachment", "",
						pdfDoc("Account statement", fmt.Sprintf("Statement no. %d", i+1), "Opening balance: 1,024.00", "Closing balance: 1,337.42")),
				}),
			})
		}
		m.flags = []imap.Flag{imap.FlagSeen}
		l = append(l, m)
	}
	return l
}
