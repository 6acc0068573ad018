package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func init() {
	register("config", "publish a configuration file to ivrd through the REST API (GitOps from CI): config publish", cmdConfig)
}

// cmdConfig publishes a configuration as the panel's "publish" does:
// ivrd validates it, records it as the version in force in PostgreSQL
// (who: the token's user; the note) and every instance picks it up. The
// file is validated here first, so that CI fails with FILE:LINE:COL
// problems before anything is sent. The admin token comes from
// IVR_API_TOKEN or -token-file, never a flag (process lists show flags).
func cmdConfig(e env, args []string) int {
	if len(args) == 0 || args[0] != "publish" {
		fmt.Fprintln(e.stderr, "usage: ivrctl config publish -url URL [-note TEXT] [-token-file FILE] FILE")
		return 2
	}
	fs := newFlags(e, "config publish")
	base := fs.String("url", os.Getenv("IVR_URL"), "ivrd's address, e.g. https://ivr.example.org (default $IVR_URL)")
	note := fs.String("note", "", "what changed, kept with the version (e.g. the commit's subject)")
	tokenFile := fs.String("token-file", "", "file holding an administrator's admin-scope API token (default $IVR_API_TOKEN)")
	if fs.Parse(args[1:]) != nil {
		return 2
	}
	if fs.NArg() != 1 || *base == "" {
		fmt.Fprintln(e.stderr, "usage: ivrctl config publish -url URL [-note TEXT] [-token-file FILE] FILE")
		return 2
	}
	path := fs.Arg(0)
	if loadConfig(e, path) == nil {
		return 1
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return fail(e, "%v", err)
	}
	token := os.Getenv("IVR_API_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fail(e, "read the token: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return fail(e, "no API token: set IVR_API_TOKEN or -token-file")
	}
	if strings.ContainsAny(*note, "\r\n") {
		return fail(e, "-note: one line")
	}
	ctx := e.ctx
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/api/v1/config/versions", bytes.NewReader(src))
	if err != nil {
		return fail(e, "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("X-Note", *note)
	res, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return fail(e, "publish: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusCreated {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(body, &p)
		return fail(e, "publish refused (%d %s): %s", res.StatusCode, p.Title, cmp.Or(p.Detail, strings.TrimSpace(string(body))))
	}
	var v struct {
		ID     int64  `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fail(e, "publish: unreadable answer: %v", err)
	}
	fmt.Fprintf(e.stdout, "published version %d (sha256 %s)\n", v.ID, v.SHA256)
	return 0
}
