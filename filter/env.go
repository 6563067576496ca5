package filter

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"

	"github.com/sigtrace/sigtrace/fields"
	"github.com/sigtrace/sigtrace/signals"
)

// env is what expr's checker sees: every registry field at its dotted
// path (`target.comm` is the field comm of an object target), the
// aliases (sig), and the signal names as integer constants. Only the
// types matter: values come from the registry's getters, never from env.
var env = buildEnv()

// constants are the names that stand for numbers: SIGHUP..SIGSYS as
// Linux names them (signals.Name), their other names (SIGIOT, SIGPOLL,
// SIGCLD), and SIGRTMIN and SIGRTMAX, so `SIGRTMIN+3` is 37.
var constants = buildConstants()

// names are every name a filter may use for a field, sorted, for
// suggestions.
var names = buildNames()

func buildConstants() map[string]int64 {
	c := map[string]int64{"SIGRTMIN": signals.RTMin, "SIGRTMAX": signals.RTMax}
	for n := 1; n < 32; n++ {
		name := signals.Name(n)
		if _, err := signals.Parse(name); err == nil && !strings.HasPrefix(name, "SIG3") {
			c[name] = int64(n)
		}
	}
	for _, alias := range []string{"SIGIOT", "SIGPOLL", "SIGCLD"} {
		if n, err := signals.Parse(alias); err == nil {
			c[alias] = int64(n)
		}
	}
	return c
}

func exprType(t fields.Type) types.Type {
	switch t {
	case fields.Int, fields.Duration:
		return types.Int64
	case fields.Uint:
		return types.Uint64
	case fields.String:
		return types.String
	case fields.Bool:
		return types.Bool
	case fields.Time:
		return types.TypeOf(time.Time{})
	}
	return types.Any
}

func buildEnv() types.Map {
	root := types.Map{}
	put := func(name string, t types.Type) {
		parts := strings.Split(name, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(types.Map)
			if !ok {
				// A list of objects whose elements' fields have their
				// own entries (sender.ancestry): the object wins.
				sub = types.Map{}
				m[p] = sub
			}
			m = sub
		}
		last := parts[len(parts)-1]
		if _, isObj := m[last].(types.Map); isObj {
			return
		}
		m[last] = t
	}
	for _, f := range fields.All() {
		switch f.Type {
		case fields.List:
			if f.Elem == fields.Object {
				put(f.Name, types.Map{})
			} else {
				put(f.Name, types.Array(exprType(f.Elem)))
			}
		default:
			put(f.Name, exprType(f.Type))
		}
	}
	for alias, full := range fields.Aliases {
		root[alias] = exprType(fields.Lookup(full).Type)
	}
	for name := range buildConstants() {
		root[name] = types.Int64
	}
	return root
}

func buildNames() []string {
	var out []string
	for _, f := range fields.All() {
		out = append(out, f.Name)
	}
	for alias := range fields.Aliases {
		out = append(out, alias)
	}
	sort.Strings(out)
	return out
}

// isPrefix reports whether name is an object some fields are in
// (`target`, `sender.ancestry`).
func isPrefix(name string) bool {
	p := name + "."
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, p) })
}

// suggest returns up to three names close to name: the fields whose last
// part it is (comm: sender.comm, target.comm, ...), else those within a
// small edit distance of it.
func suggest(name string) []string {
	if strings.HasPrefix(strings.ToUpper(name), "SIG") || strings.ToUpper(name) == name {
		var best []string
		bestD := 3
		for c := range constants {
			d := fields.EditDistance(strings.ToUpper(name), c)
			if up := strings.ToUpper(name); "SIG"+up == c || up == c {
				d = 0
			}
			switch {
			case d < bestD:
				best, bestD = []string{c}, d
			case d == bestD:
				best = append(best, c)
			}
		}
		if len(best) > 0 {
			sort.Strings(best)
			return best[:min(3, len(best))]
		}
	}
	var tail []string
	for _, n := range names {
		if strings.HasSuffix(n, "."+name) {
			tail = append(tail, n)
		}
	}
	if len(tail) > 0 {
		// The shallowest first: sender.comm before reraise_of.sender.comm.
		sort.SliceStable(tail, func(i, j int) bool {
			return strings.Count(tail[i], ".") < strings.Count(tail[j], ".")
		})
		return tail[:min(3, len(tail))]
	}
	type cand struct {
		name string
		d    int
	}
	limit := max(2, len(name)/3)
	var cs []cand
	for _, n := range names {
		if d := fields.EditDistance(name, n); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		out = append(out, c.name)
	}
	return out
}
