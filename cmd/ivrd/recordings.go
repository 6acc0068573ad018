package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/helpdesk-ivr/ivr/internal/fault"
)

// recordingFiles fetches recorded requests from Asterisk
// (GET /recordings/stored/{name}/file) for the panel, which streams them
// to the browser: recordings never get a public URL.
type recordingFiles struct {
	base, user, password string
	client               *http.Client
	// unavailable, if set, says why no recording can be fetched.
	unavailable string
}

func newRecordingFiles(ariURL, user, password string) *recordingFiles {
	return &recordingFiles{base: strings.TrimSuffix(ariURL, "/"), user: user, password: password,
		// A recording is at most a few MB; a slow Asterisk must not hold
		// a panel request forever.
		client: &http.Client{Timeout: 2 * time.Minute}}
}

var errNoRecording = fmt.Errorf("no such recording: %w", fault.ErrNotFound)

// OpenRecording implements panel.Recordings.
func (f *recordingFiles) OpenRecording(ctx context.Context, name string) (io.ReadCloser, string, error) {
	if name == "" || strings.ContainsAny(name, "/\\") || strings.Contains(name, "..") {
		return nil, "", errNoRecording
	}
	if f.unavailable != "" {
		return nil, "", errors.New(f.unavailable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/recordings/stored/"+url.PathEscape(name)+"/file", nil)
	if err != nil {
		return nil, "", err
	}
	req.SetBasicAuth(f.user, f.password)
	res, err := f.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetch recording: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if res.StatusCode == http.StatusNotFound {
			return nil, "", errNoRecording
		}
		return nil, "", fmt.Errorf("fetch recording: Asterisk said %s", res.Status)
	}
	ct := res.Header.Get("Content-Type")
	if ct == "" {
		ct = "audio/wav"
	}
	return sizedBody{res.Body, res.ContentLength}, ct, nil
}

// sizedBody is a recording's body with the length Asterisk gave (-1 if
// none), for the panel's Content-Length.
type sizedBody struct {
	io.ReadCloser
	size int64
}

func (b sizedBody) Size() int64 { return b.size }
