package mailin

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText reduces an HTML body to plain text: the text of the document
// with its entities decoded, a line break for each block, links followed
// by their address; scripts, styles and the head dropped. Nothing of the
// markup survives, so the text is safe wherever text is shown.
func htmlText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0 // depth inside script, style, head, title
	var href string
	newline := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return collapse(b.String())
		case html.TextToken:
			if skip == 0 {
				// Runs of white space are one space, as a browser shows them.
				t := spaces.ReplaceAllString(string(z.Text()), " ")
				if cur := b.String(); cur == "" || strings.HasSuffix(cur, " ") || strings.HasSuffix(cur, "\n") {
					t = strings.TrimLeft(t, " ")
				}
				b.WriteString(t)
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Br:
				b.WriteByte('\n')
			case atom.P, atom.Div, atom.Tr, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Pre, atom.Table, atom.Ul, atom.Ol, atom.Hr:
				newline()
				if a == atom.Li && tt == html.StartTagToken {
					b.WriteString("- ")
				}
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			case atom.A:
				if tt == html.StartTagToken && hasAttr {
					href = ""
					for {
						k, v, more := z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
						if !more {
							break
						}
					}
				} else if tt == html.EndTagToken && href != "" {
					if strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://") {
						if !strings.Contains(b.String()[max(0, b.Len()-len(href)-2):], href) {
							b.WriteString(" <" + href + ">")
						}
					}
					href = ""
				}
			}
		}
	}
}

var spaces = regexp.MustCompile(`[ \t\r\n\f\v\x{00a0}]+`)

// collapse trims every line and keeps at most one blank line in a row.
func collapse(s string) string {
	var out []string
	blank := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
