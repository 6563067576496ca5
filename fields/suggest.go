package fields

import (
	"sort"
	"strings"
)

// IsObject reports whether name is an object of the schema that has
// fields of its own: "sender", "signal", "reraise_of.sender". A list of
// objects ("sender.ancestry") is a field, not one of these.
func IsObject(name string) bool {
	_, ok := objects[name]
	return ok
}

var objects = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, f := range registry {
		for i := strings.LastIndexByte(f.Name, '.'); i > 0; i = strings.LastIndexByte(f.Name[:i], '.') {
			p := f.Name[:i]
			if _, isField := byName[p]; !isField {
				m[p] = struct{}{}
			}
		}
	}
	return m
}()

// Closest returns up to n names of fields (and aliases) nearest to name,
// for "did you mean" in an error: those that end with name's last
// part (".comm": sender.comm, target.comm), then those that go on from
// it ("latency": latency_ns), then those within a few edits, nearest
// first.
func Closest(name string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	limit := 1 + len(name)/8
	consider := func(c string) {
		if d := EditDistance(name, c); d <= limit {
			cs = append(cs, cand{c, d})
		}
	}
	for _, f := range registry {
		consider(f.Name)
	}
	for a := range Aliases {
		consider(a)
	}
	// The same last part elsewhere (".comm": sender.comm, target.comm)
	// comes first, shorter names before longer.
	last := name[strings.LastIndexByte(name, '.')+1:]
	for _, f := range registry {
		if last != "" && f.Name != name && (f.Name == last || strings.HasSuffix(f.Name, "."+last)) {
			cs = append(cs, cand{f.Name, -1000 + len(f.Name)})
		}
	}
	// Names that go on from it ("latency": latency_ns).
	for _, f := range registry {
		if len(name) >= 3 && f.Name != name && strings.HasPrefix(f.Name, name) {
			cs = append(cs, cand{f.Name, -500 + len(f.Name)})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if len(out) == n {
			break
		}
		if !seen[c.name] {
			seen[c.name] = true
			out = append(out, c.name)
		}
	}
	return out
}

// EditDistance is the Levenshtein distance of a and b, in bytes: the one
// measure of "closest names" for the filter, templates and count keys.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
