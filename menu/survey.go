package menu

import "time"

// Survey is a group's post-call satisfaction survey (seed 003: "valutare
// il servizio ricevuto"): when the operator ends the conversation the
// caller stays on the line, rates the service 1–5 by key and, with
// Comment, may leave a short recorded comment. Off unless Enabled.
type Survey struct {
	Enabled bool `yaml:"enabled"`
	// Comment offers a recorded comment after the rating.
	Comment bool `yaml:"comment"`
	// Timeout is how long the caller has to press a key after the
	// question (default 5s); the question is repeated once.
	Timeout time.Duration `yaml:"timeout"`
	// CommentMax bounds the comment's length (default 30s); # ends it.
	CommentMax time.Duration `yaml:"comment_max"`

	Pos Pos `yaml:"-"`
}

// Survey defaults.
const (
	DefaultSurveyTimeout    = 5 * time.Second
	DefaultSurveyCommentMax = 30 * time.Second
)

// SurveyOf returns the survey of a group, nil when it has none.
func (c *Config) SurveyOf(group string) *Survey {
	if g := c.groups[group]; g != nil && g.Survey.Enabled {
		return &g.Survey
	}
	return nil
}

func (c *Config) validateSurvey(v *validator, g *Group) {
	s := &g.Survey
	pos := g.Pos
	if s.Pos.Line > 0 {
		pos = s.Pos
	}
	if !s.Enabled && (s.Comment || s.Timeout != 0 || s.CommentMax != 0) {
		v.add(pos, "group %q: survey has settings but is not enabled (enabled: true)", g.ID)
	}
	s.Timeout = orDefault(s.Timeout, DefaultSurveyTimeout)
	if s.Timeout < 2*time.Second || s.Timeout > 30*time.Second {
		v.add(pos, "group %q: survey.timeout %s is out of range 2s..30s", g.ID, s.Timeout)
	}
	s.CommentMax = orDefault(s.CommentMax, DefaultSurveyCommentMax)
	if s.CommentMax < 5*time.Second || s.CommentMax > 2*time.Minute {
		v.add(pos, "group %q: survey.comment_max %s is out of range 5s..2m", g.ID, s.CommentMax)
	}
}
