package mailproxy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestScratchPerf(t *testing.T) {
	row := `<tr><td style="font-family: Arial; color: #333; padding: 4px"><a href="https://example.com/x?a=1&amp;b=2">Link text here</a> <img src="https://cdn.example.com/i.png" alt="i" width="20"></td></tr>`
	for name, in := range map[string]string{
		"newsletter 1MB": "<table>" + strings.Repeat(row, 1000000/len(row)) + "</table>",
		"nested div 20k": strings.Repeat("<div>", 20000) + "x",
		"b 50k":          strings.Repeat("<b>", 50000) + "x",
		"table 5k":       strings.Repeat("<table><tr><td>", 5000) + "x",
		"a in a 20k":     strings.Repeat("<a href='http://x/'>", 20000) + "x",
		"p text 1MB":     strings.Repeat("<p>hello world</p>", 60000),
		"font 30k":       strings.Repeat("<font><b><i>", 10000) + "x",
	} {
		start := time.Now()
		out, _ := SanitizeHTML(in, SanitizeOptions{})
		fmt.Printf("%s: %d -> %d bytes in %v\n", name, len(in), len(out), time.Since(start))
	}
}
