package realasterisk

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The shipped musiconhold.conf gives its class "default" (the one ivrd
// starts on a waiting caller's bridge) files to play: pointed at an
// absolute directory with none, the caller waited in silence.
func TestShippedMusicOnHoldHasMusic(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := a.CLI(ctx, "moh show files")
	if err != nil {
		t.Fatal(err)
	}
	_, files, ok := strings.Cut(out, "Class: default")
	if i := strings.Index(files, "Class:"); i >= 0 {
		files = files[:i]
	}
	if !ok || !strings.Contains(files, "File:") {
		t.Errorf("class default has no files:\n%s", out)
	}
}
