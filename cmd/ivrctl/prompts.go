package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/helpdesk-ivr/ivr/menu"
)

func init() {
	register("prompts", "generate every prompt of the menu as 8 kHz WAV with espeak-ng and sox", cmdPrompts)
}

// manifestName lists the files this command generated, with the hash of
// their text: only those are ever regenerated or overwritten, so a
// recorded file with the same name always wins.
const manifestName = ".generated-prompts"

func cmdPrompts(e env, args []string) int {
	flags := newFlags(e, "prompts")
	path := flags.String("config", "", "configuration file")
	out := flags.String("out", ".", "output directory: files go to OUT/sounds/<lang>/<sound>.wav")
	if flags.Parse(args) != nil {
		return 2
	}
	cfg := loadConfig(e, *path)
	if cfg == nil {
		return 1
	}
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fail(e, "%s is not installed; on Debian: apt-get install espeak-ng sox", tool)
		}
	}
	manifest, err := readManifest(filepath.Join(*out, manifestName))
	if err != nil {
		return fail(e, "%v", err)
	}
	var made, kept, same int
	for _, p := range cfg.PromptTexts() {
		rel := filepath.Join("sounds", p.Lang, p.Sound+".wav")
		dst := filepath.Join(*out, rel)
		sum := textHash(p.Speaker(), p.Text)
		_, statErr := os.Stat(dst)
		prev, generated := manifest[rel]
		switch {
		case statErr == nil && !generated:
			kept++ // a recorded prompt: never overwritten
			continue
		case statErr == nil && prev == sum:
			same++
			continue
		case statErr != nil && !errors.Is(statErr, fs.ErrNotExist):
			return fail(e, "%v", statErr)
		}
		if err := synthesize(e.ctx, p, dst); err != nil {
			return fail(e, "%s: %v", rel, err)
		}
		manifest[rel] = sum
		made++
	}
	if err := writeManifest(filepath.Join(*out, manifestName), manifest); err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "%d prompts generated, %d unchanged, %d recorded files kept, in %s\n", made, same, kept, filepath.Join(*out, "sounds"))
	return 0
}

var voices = map[string]string{"it": "it", "en": "en-gb"}

// synthesize speaks text with espeak-ng and converts it to what Asterisk
// plays without transcoding: 8 kHz, mono, 16-bit signed WAV.
func synthesize(ctx context.Context, p menu.PromptText, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	voice := voices[p.Speaker()]
	if voice == "" {
		voice = p.Speaker()
	}
	raw := dst + ".espeak.wav"
	defer os.Remove(raw)
	speak := exec.CommandContext(ctx, "espeak-ng", "-v", voice, "-s", "150", "-w", raw, "--", p.Text)
	if b, err := speak.CombinedOutput(); err != nil {
		return fmt.Errorf("espeak-ng: %v: %s", err, strings.TrimSpace(string(b)))
	}
	tmp := dst + ".tmp.wav"
	conv := exec.CommandContext(ctx, "sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", tmp)
	if b, err := conv.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sox: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return os.Rename(tmp, dst)
}

func textHash(lang, text string) string {
	h := sha256.Sum256([]byte(lang + "\x00" + text))
	return hex.EncodeToString(h[:8])
}

func readManifest(path string) (map[string]string, error) {
	m := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, sum, ok := strings.Cut(sc.Text(), " "); ok {
			m[name] = sum
		}
	}
	return m, sc.Err()
}

func writeManifest(path string, m map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, m[n])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
