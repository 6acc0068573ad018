package testphone

import (
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/helpdesk-ivr/ivr/menu"
)

// The page plays a prompt from GET /testphone/audio/<lang>/<sound>.wav,
// the file `ivrctl prompts` generated (or an administrator recorded in
// its place) under Options.Prompts/sounds/. Only the sounds the
// configuration references are served, opened through an os.Root so no
// name or symbolic link leads out of the directory.

// language is the language the caller hears (the one the controller sets
// on the channel).
func language(cfg *menu.Config) string {
	if cfg.IVR.Language != "" {
		return cfg.IVR.Language
	}
	if len(cfg.Service.Languages) > 0 {
		return cfg.Service.Languages[0]
	}
	return "it"
}

// audioName returns the audio name ("<lang>/<sound>.wav") of a prompt
// ("system:<name>" or "node:<id>"), or "" when no file is there to play.
func (p *Phone) audioName(cfg *menu.Config, prompt string) string {
	if cfg == nil || p.o.Prompts == "" {
		return ""
	}
	lang := language(cfg)
	var sound string
	if name, ok := strings.CutPrefix(prompt, "system:"); ok {
		sound = menu.SystemSoundName(name)
	} else if id, ok := strings.CutPrefix(prompt, "node:"); ok {
		if n := cfg.Node(id); n != nil {
			sound = n.SoundName(lang)
		}
	}
	if sound == "" || !known(cfg, lang, sound) {
		return ""
	}
	f, err := p.open(lang, sound)
	if err != nil {
		return ""
	}
	f.Close()
	return lang + "/" + sound + ".wav"
}

// known says whether the configuration plays sound in lang.
func known(cfg *menu.Config, lang, sound string) bool {
	if !slices.Contains(cfg.Service.Languages, lang) && lang != cfg.IVR.Language {
		return false
	}
	for name := range menu.SystemPrompts {
		if menu.SystemSoundName(name) == sound {
			return true
		}
	}
	for _, id := range cfg.NodeIDs() {
		if cfg.Node(id).SoundName(lang) == sound {
			return true
		}
	}
	return false
}

// open opens a prompt file inside the prompts directory.
func (p *Phone) open(lang, sound string) (*os.File, error) {
	root, err := os.OpenRoot(p.o.Prompts)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(path.Join("sounds", lang, sound+".wav"))
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}

func (p *Phone) audio(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	lang, sound, _ := strings.Cut(name, "/")
	sound, wav := strings.CutSuffix(sound, ".wav")
	var cfg *menu.Config
	if p.o.Config != nil {
		cfg = p.o.Config()
	}
	if !wav || cfg == nil || p.o.Prompts == "" || path.Clean(name) != name || !known(cfg, lang, sound) {
		http.NotFound(w, r)
		return
	}
	f, err := p.open(lang, sound)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-cache") // a recorded file may replace a generated one
	http.ServeContent(w, r, "", st.ModTime(), f)
}
