package audit

import (
	"strings"
	"testing"
)

// TestWordsDoubled: a variable doubled in a loop of assignments (found by
// FuzzShell: 34 doublings of x=$x$x were 16 GiB, and the audit was killed
// for memory) is expanded up to maxWordBytes, then unknown, with one
// warning; words that many times that long cost the whole audit's budget
// of bytes expanded, not 64 GiB of copying.
func TestWordsDoubled(t *testing.T) {
	doubled := func(n int) string { return "x=1\n" + strings.Repeat("x=$x$x\n", n) }
	for _, tc := range []struct {
		name    string
		script  string
		senders []string
		warn    string // a warning that holds this; "" none
		stopped bool   // the audit stops at its budget
	}{
		{"doubled to 64 KiB", doubled(16) + "kill -HUP $x\n", []string{"L18 kill SIGHUP unknown:" + strings.Repeat("1", 200) + "…[65336 more bytes]"}, "", false},
		{"doubled past 64 KiB", doubled(17) + "kill -HUP 4194305\nkill -HUP $x\n", []string{"L19 kill SIGHUP pid:4194305", "L20 kill SIGHUP unknown:$x"},
			"expands a word to more than 65536 bytes: too complex to follow", false},
		{"doubled 34 times", doubled(34) + "kill -HUP 4194305\n", []string{"L36 kill SIGHUP pid:4194305"},
			"expands a word to more than 65536 bytes", false},
		{"64 KiB words, many", doubled(15) + strings.Repeat("y=$x$x\n", 60000) + "kill -HUP 4194305\n", nil,
			"more than 67108864 bytes of words expanded in the whole audit", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, map[string]string{
				"usr/local/bin/x*": "#!/bin/sh\n" + tc.script,
				"etc/crontab":      "* * * * * root /usr/local/bin/x\n",
			})
			rep, took := runRoot(t, root, true)
			if took > fuzzMaxTime {
				t.Errorf("took %v", took)
			}
			if rep.Incomplete() != tc.stopped {
				t.Errorf("incomplete = %v, want %v", rep.Incomplete(), tc.stopped)
			}
			ws := strings.Join(warnStrings(rep.Warnings), "\\n")
			if tc.warn == "" && ws != "" || !strings.Contains(ws, tc.warn) {
				t.Errorf("warnings %q, want one holding %q", ws, tc.warn)
			}
			if tc.stopped {
				return
			}
			got, _ := scanText(t, tc.script, "")
			if strings.Join(got, "|") != strings.Join(tc.senders, "|") {
				t.Errorf("senders %q, want %q", got, tc.senders)
			}
		})
	}
}
