package menu

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Category is one entry of the help desk's list of problems (seed 004:
// "selezionare, mediante l'apposito elenco problematiche, il tipo di
// problema"), optionally with sub-categories one level down. A ticket
// names one by reference: "stampa", or "applicativi/pct" for a
// sub-category.
type Category struct {
	ID   string      `yaml:"id"`
	Name Text        `yaml:"name"` // per language
	Sub  []*Category `yaml:"sub"`

	Pos Pos `yaml:"-"`
}

func (x *Category) UnmarshalYAML(n *yaml.Node) error {
	type plain Category
	return decodeAt(n, (*plain)(x), &x.Pos)
}

// CategoryOption is a category as a list offers it: its reference and
// its name in one language ("Applicativi › PCT" for a sub-category).
type CategoryOption struct {
	Ref   string
	Label string
}

// HasCategories reports whether the configuration lists categories: if it
// does not, a ticket's category stays free text (as before the list).
func (c *Config) HasCategories() bool { return len(c.Categories) > 0 }

// ValidCategory reports whether ref names a category of the list ("" is
// valid: no category).
func (c *Config) ValidCategory(ref string) bool {
	if ref == "" {
		return true
	}
	_, ok := c.categories[ref]
	return ok
}

// CategoryLabel is ref's name in lang (falling back to the service's
// first language, then to ref itself: a value from before the list).
func (c *Config) CategoryLabel(ref, lang string) string {
	cat, ok := c.categories[ref]
	if !ok {
		return ref
	}
	label := c.nameIn(cat.Name, lang, cat.ID)
	if parent, _, sub := strings.Cut(ref, "/"); sub {
		return c.CategoryLabel(parent, lang) + " › " + label
	}
	return label
}

// CategoryOptions lists every category and sub-category in the order of
// the file, named in lang.
func (c *Config) CategoryOptions(lang string) []CategoryOption {
	var out []CategoryOption
	for _, cat := range c.Categories {
		if cat == nil {
			continue
		}
		out = append(out, CategoryOption{Ref: cat.ID, Label: c.CategoryLabel(cat.ID, lang)})
		for _, sub := range cat.Sub {
			if sub != nil {
				ref := cat.ID + "/" + sub.ID
				out = append(out, CategoryOption{Ref: ref, Label: c.CategoryLabel(ref, lang)})
			}
		}
	}
	return out
}

// GroupCategory is the category a call routed to group gets when its
// menu choice named none (the group's default_category), or "".
func (c *Config) GroupCategory(group string) string {
	if g := c.groups[group]; g != nil {
		return g.DefaultCategory
	}
	return ""
}

func (c *Config) nameIn(t Text, lang, fallback string) string {
	if s := strings.TrimSpace(t[lang]); s != "" {
		return s
	}
	for _, l := range c.Service.Languages {
		if s := strings.TrimSpace(t[l]); s != "" {
			return s
		}
	}
	return fallback
}

// validateCategories checks the list and builds its index; the references
// to it (groups' default_category, menu nodes' category) are checked by
// checkCategoryRefs once the groups and the menu are known.
func (c *Config) validateCategories(v *validator) {
	c.categories = map[string]*Category{}
	for _, cat := range c.Categories {
		if cat == nil {
			continue
		}
		c.addCategory(v, cat, "")
		for _, sub := range cat.Sub {
			if sub == nil {
				continue
			}
			if len(sub.Sub) > 0 {
				v.add(sub.Pos, "category %q: sub-categories go one level down only", cat.ID+"/"+sub.ID)
			}
			c.addCategory(v, sub, cat.ID+"/")
		}
	}
}

func (c *Config) addCategory(v *validator, cat *Category, prefix string) {
	ref := prefix + cat.ID
	switch {
	case !idPattern.MatchString(cat.ID):
		v.add(cat.Pos, "category id %q: use lower-case letters, digits, - and _", cat.ID)
	case c.categories[ref] != nil:
		v.add(cat.Pos, "category %q is listed twice (first at line %d)", ref, c.categories[ref].Pos.Line)
	default:
		c.categories[ref] = cat
	}
	if len(cat.Name) == 0 {
		v.add(cat.Pos, "category %q needs a name (name: {it: …})", ref)
	}
	for lang, s := range cat.Name {
		if !slices.Contains(c.Service.Languages, lang) {
			v.add(cat.Pos, "category %q: name for %q, which is not one of service.languages", ref, lang)
		} else if strings.TrimSpace(s) == "" {
			v.add(cat.Pos, "category %q: empty name for %q", ref, lang)
		}
	}
}

// checkCategoryRefs checks that every default_category and menu category
// names a listed one.
func (c *Config) checkCategoryRefs(v *validator) {
	check := func(pos Pos, where, ref string) {
		switch {
		case ref == "":
		case !c.HasCategories():
			v.add(pos, "%s: category %q, but the file lists no categories (categories:)", where, ref)
		case !c.ValidCategory(ref):
			v.add(pos, "%s: unknown category %q (categories are %s)", where, ref, c.categoryRefs())
		}
	}
	for _, g := range c.Groups {
		if g != nil {
			check(g.Pos, "group "+strconv.Quote(g.ID)+" default_category", g.DefaultCategory)
		}
	}
	for _, id := range c.NodeIDs() {
		n := c.nodes[id]
		check(n.Pos, n.describe(), n.Category)
		if n.Category != "" && n.Action != KindRoute && n.Action != KindMessage && !n.OrgRoute {
			v.add(n.Pos, "%s: category is only for route and message nodes and org_route menus", n.describe())
		}
	}
}

func (c *Config) categoryRefs() string {
	var refs []string
	for _, o := range c.CategoryOptions("") {
		refs = append(refs, o.Ref)
	}
	if len(refs) > 12 {
		refs = append(refs[:12], "…")
	}
	return strings.Join(refs, ", ")
}
