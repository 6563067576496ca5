package audit

import (
	"strings"
)

// logrotate's script directives: each runs its lines with /bin/sh -c.
var logrotateScripts = map[string]bool{
	"prerotate": true, "postrotate": true, "firstaction": true, "lastaction": true, "preremove": true,
}

// parseLogrotate reads one logrotate configuration file: the scripts of its
// log blocks, and the paths it includes. Structural errors (a brace that
// does not match, a script without endscript) are warnings with their line;
// the rest of the file is still read.
func parseLogrotate(file string, data []byte) (scripts []*script, includes []string, warns []Warning) {
	lines := splitLines(data)
	warn := func(line int, msg string) {
		warns = append(warns, Warning{File: file, Line: line, Msg: msg})
	}
	inBlock, blockLine := false, 0
	pendingPaths, pendingLine := false, 0
	var cur *script
	var body []string

	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(raw)
		if cur != nil {
			if first, _, _ := strings.Cut(line, " "); first == "endscript" {
				cur.text = strings.Join(body, "\n") + "\n"
				scripts = append(scripts, cur)
				cur, body = nil, nil
				continue
			}
			body = append(body, raw)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if l := (longLine{first: n, lines: 1, bytes: len(raw)}); l.tooLong() {
			// A script's lines are bounded where the script is
			// scanned; a directive this long is no honest one.
			warn(n, l.warning(file, "logrotate", n).Msg)
			continue
		}
		fields := strings.Fields(line)
		key := strings.ToLower(fields[0])
		switch {
		case logrotateScripts[key]:
			if !inBlock {
				warn(n, key+" outside a log file block { }")
			}
			cur = &script{file: file, lines: lines, firstLine: n + 1,
				context: "logrotate " + key, intent: IntentNotify}
			if len(fields) > 1 {
				warn(n, "text after "+key+" on the same line is ignored by logrotate")
			}
		case key == "endscript":
			warn(n, "endscript without a script")
		case key == "include":
			if len(fields) < 2 {
				warn(n, "include without a path")
			} else {
				includes = append(includes, fields[1])
			}
		case line == "}" || strings.HasPrefix(line, "}"):
			if !inBlock {
				warn(n, "unexpected } outside a block")
			}
			inBlock = false
		case strings.HasSuffix(line, "{") || (line == "{" && pendingPaths):
			if inBlock {
				warn(n, "nested { : the previous block, opened at line "+itoa(blockLine)+", is not closed")
			} else if line == "{" && !pendingPaths {
				warn(n, "{ without log file names")
			}
			inBlock, blockLine, pendingPaths = true, n, false
		case strings.HasPrefix(line, "/") || strings.HasPrefix(line, "\"") || strings.HasPrefix(line, "'") || strings.HasPrefix(line, "*"):
			// Log file names, possibly over several lines, before the {.
			if inBlock {
				warn(n, "log file names inside a block: missing } ?")
			} else if !pendingPaths {
				pendingPaths, pendingLine = true, n
			}
		default:
			if pendingPaths {
				warn(pendingLine, "log file names without a { block")
				pendingPaths = false
			}
			// Any other directive (weekly, rotate 4, compress, ...).
		}
	}
	if cur != nil {
		warn(cur.firstLine-1, strings.TrimPrefix(cur.context, "logrotate ")+" without endscript: the script is ignored")
	}
	if inBlock {
		warn(blockLine, "block is not closed with }")
	}
	if pendingPaths {
		warn(pendingLine, "log file names without a { block")
	}
	return scripts, includes, warns
}

// splitLines splits a file into lines without their line endings.
func splitLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
