package demo

import (
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
)

const welcomeText = `Hello and welcome!

This is the thumbmail demo mailbox. Everything here is generated sample
mail: nothing leaves your machine, and any change you make (flags, moves,
deletions, sent replies) is forgotten when the demo server stops.

Things worth trying:

* the 12-message thread "Thumbmail 0.1 release planning";
* mail in German, French (ISO-8859-1), Japanese (ISO-2022-JP and UTF-8),
  Russian (KOI8-R and UTF-8) and with emoji;
* attachments: PDFs, PNG images, an inline image, a forwarded message;
* "The Weekly Sprout", an HTML newsletter full of things a sanitizer must
  remove (scripts, event handlers, remote images, forms);
* the folders Sent, Drafts, Archive, Junk, Trash and the nested
  Projects/Thumbmail and Projects/Garden.

Log in as demo / demo.

-- 
The thumbmail team
`

const welcomeHTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Welcome</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.4">
<h1 style="font-size:20px">Hello and welcome!</h1>
<p>This is the <b>thumbmail</b> demo mailbox. Everything here is generated sample mail:
nothing leaves your machine, and any change you make is forgotten when the demo server stops.</p>
<p>Things worth trying:</p>
<ul>
<li>the 12-message thread &ldquo;Thumbmail 0.1 release planning&rdquo;;</li>
<li>mail in German, French, Japanese, Russian and with emoji;</li>
<li>attachments: PDFs, PNG images, an inline image, a forwarded message;</li>
<li><i>The Weekly Sprout</i>, an HTML newsletter full of things a sanitizer must remove;</li>
<li>the folders Sent, Drafts, Archive, Junk, Trash and the nested Projects folders.</li>
</ul>
<p>Log in as <code>demo</code> / <code>demo</code>.</p>
<p style="color:#666">&mdash; The thumbmail team</p>
</body></html>
`

// newsletterHTML is an HTML-only newsletter with everything a sanitizer
// must deal with: a <script>, event handlers, javascript: links, remote
// and tracking images, an iframe, a form, <style> blocks, fixed-width
// layout tables and inline styles.
func newsletterHTML(issue int) string {
	return fmt.Sprintf(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>The Weekly Sprout #%[1]d</title>
<style type="text/css">
  body { margin: 0; padding: 0; background: #f4f1ea; }
  .btn { background: #2e8b57; color: #ffffff !important; padding: 12px 24px; border-radius: 4px; text-decoration: none; }
  .col { width: 300px; vertical-align: top; }
  @media only screen and (max-width: 600px) { .col { display: block; width: 100%% !important; } }
  @import url("https://fonts.example.net/sprout.css");
</style>
<script type="text/javascript">
  document.cookie = "sprout_seen=%[1]d";
  fetch("https://tracker.example.net/t?issue=%[1]d&u=" + encodeURIComponent(document.referrer));
</script>
</head>
<body onload="track(%[1]d)" style="margin:0;background:#f4f1ea">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" align="center" bgcolor="#ffffff" style="width:640px;font-family:Georgia,'Times New Roman',serif;color:#333333">
  <tr>
    <td style="padding:0">
      <img src="https://images.example.net/sprout/header-%[1]d.jpg" width="640" height="160" alt="The Weekly Sprout" style="display:block;border:0">
    </td>
  </tr>
  <tr>
    <td style="padding:24px 32px">
      <h1 style="font-size:28px;margin:0 0 12px 0;color:#2e8b57">Issue %[1]d: Tomatoes, tables and tiny gardens</h1>
      <p style="font-size:16px;line-height:24px">Hello gardener! This week we look at growing tomatoes on a balcony,
      why raised beds save your back, and how to build a herb spiral from leftover bricks.</p>
      <p><a class="btn" href="https://sprout.example.com/issues/%[1]d?utm_source=newsletter&amp;utm_medium=email" onclick="return track('cta')">Read the full issue</a></p>
    </td>
  </tr>
  <tr>
    <td style="padding:0 32px">
      <table role="presentation" width="576" cellpadding="0" cellspacing="0"><tr>
        <td class="col" style="padding:8px">
          <img src="https://images.example.net/sprout/tomatoes.jpg" width="280" height="180" alt="Tomatoes">
          <h2 style="font-size:18px">Balcony tomatoes</h2>
          <p style="font-size:14px">Choose bush varieties, a big pot and water every evening. Really, every evening.</p>
        </td>
        <td class="col" style="padding:8px">
          <img src="https://images.example.net/sprout/raised-bed.jpg" width="280" height="180" alt="Raised bed">
          <h2 style="font-size:18px">Raised beds</h2>
          <p style="font-size:14px">Warmer soil, fewer slugs and no more kneeling in the mud.</p>
        </td>
      </tr></table>
    </td>
  </tr>
  <tr>
    <td style="padding:24px 32px;background:#fafaf5">
      <h2 style="font-size:18px">Reader poll</h2>
      <form action="https://sprout.example.com/poll" method="post">
        <label><input type="radio" name="fav" value="basil"> Basil</label>
        <label><input type="radio" name="fav" value="mint"> Mint</label>
        <input type="submit" value="Vote">
      </form>
      <iframe src="https://video.example.net/embed/herb-spiral" width="560" height="315" frameborder="0"></iframe>
      <p><a href="javascript:alert('sprout')">Click for a surprise</a> &middot;
         <a href="https://sprout.example.com/shop" target="_blank" style="color:#2e8b57">Seed shop</a></p>
      <div style="position:fixed;top:0;left:0;width:100%%;background:url('https://images.example.net/bg.png')">Sticky banner</div>
      <svg width="10" height="10" onload="alert(1)"><circle cx="5" cy="5" r="4" fill="green"/></svg>
    </td>
  </tr>
  <tr>
    <td style="padding:16px 32px;font-size:11px;color:#999999;font-family:Arial,sans-serif">
      You receive this because you subscribed at sprout.example.com.
      <a href="https://sprout.example.com/unsubscribe?u=demo&amp;i=%[1]d" style="color:#999999">Unsubscribe</a>
      <img src="https://tracker.example.net/open.gif?u=demo&amp;i=%[1]d" width="1" height="1" alt="" style="display:none">
    </td>
  </tr>
</table>
</body>
</html>
`, issue)
}

// Legacy-charset texts, as bytes: ISO-2022-JP and KOI8-R.
const (
	jaSubject = "\x1b$B2q5D$N5D;vO?\x1b(B"                                   // 会議の議事録
	jaName    = "\x1b$BEDCf\x1b(B \x1b$B2V;R\x1b(B"                          // 田中 花子
	ruSubject = "\xef\xd4\xde\xa3\xd4 \xda\xc1 \xcb\xd7\xc1\xd2\xd4\xc1\xcc" // Отчёт за квартал
	ruName    = "\xe1\xce\xce\xc1 \xf0\xc5\xd4\xd2\xcf\xd7\xc1"              // Анна Петрова
)

// jaBody: デモさん / お疲れ様です。田中です。/ 昨日の会議の議事録を送ります。...
const jaBody = "\x1b$B%G%b$5$s\x1b(B\n\n\x1b$B$*Hh$lMM$G$9!#EDCf$G$9!#\x1b(B\n" +
	"\x1b$B:rF|$N2q5D$N5D;vO?$rAw$j$^$9!#\x1b(B\n\n" +
	"1. \x1b$B<!$N%j%j!<%9$OMh7n$NM=Dj$G$9!#\x1b(B\n" +
	"2. \x1b$B%F%9%H$rA}$d$7$^$9!#\x1b(B\n" +
	"3. \x1b$B<!2s$N2q5D$O6bMKF|$N8a8eFs;~$+$i$G$9!#\x1b(B\n\n" +
	"\x1b$B$h$m$7$/$*4j$$$7$^$9!#\x1b(B\n\n\x1b$BEDCf\x1b(B \x1b$B2V;R\x1b(B\n"

// ruBody: Добрый день! / ... краткий отчёт за квартал ... / Анна Петрова
const ruBody = "\xe4\xcf\xc2\xd2\xd9\xca \xc4\xc5\xce\xd8!\n\n" +
	"\xf7\xcf \xd7\xcc\xcf\xd6\xc5\xce\xc9\xc9 \xce\xc5\xd4 \xc6\xc1\xca\xcc\xcf\xd7, \xd4\xcf\xcc\xd8\xcb\xcf " +
	"\xcb\xd2\xc1\xd4\xcb\xc9\xca \xcf\xd4\xde\xa3\xd4 \xda\xc1 \xcb\xd7\xc1\xd2\xd4\xc1\xcc.\n" +
	"\xf0\xd2\xcf\xc4\xc1\xd6\xc9 \xd7\xd9\xd2\xcf\xd3\xcc\xc9 \xce\xc1 12 \xd0\xd2\xcf\xc3\xc5\xce\xd4\xcf\xd7, " +
	"\xd2\xc1\xd3\xc8\xcf\xc4\xd9 \xcf\xd3\xd4\xc1\xcc\xc9\xd3\xd8 \xd0\xd2\xc5\xd6\xce\xc9\xcd\xc9.\n\n" +
	"\xf3 \xd5\xd7\xc1\xd6\xc5\xce\xc9\xc5\xcd,\n\xe1\xce\xce\xc1 \xf0\xc5\xd4\xd2\xcf\xd7\xc1\n"

// qpDecode decodes quoted-printable text built by this package.
func qpDecode(s string) string {
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
	if err != nil {
		return s
	}
	return string(b)
}
