package audit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const debianRoot = "testdata/debian"

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(debianRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func warnStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

func TestParseLogrotate(t *testing.T) {
	type scr struct {
		context string
		first   int
		start   string // the script's first non-blank line, trimmed
	}
	tests := []struct {
		file     string
		scripts  []scr
		includes []string
		warns    []string
	}{
		{file: "etc/logrotate.conf", includes: []string{"/etc/logrotate.d"}},
		// Thirteen log file names on their own lines, then the block.
		{file: "etc/logrotate.d/rsyslog",
			scripts: []scr{{"logrotate postrotate", 23, "invoke-rc.d rsyslog rotate > /dev/null"}}},
		{file: "etc/logrotate.d/nginx",
			scripts: []scr{
				{"logrotate prerotate", 11, "if [ -d /etc/logrotate.d/httpd-prerotate ]; then \\"},
				{"logrotate postrotate", 16, "[ ! -f /run/nginx.pid ] || kill -USR1 `cat /run/nginx.pid`"},
			}},
		{file: "etc/logrotate.d/mydaemon",
			scripts: []scr{{"logrotate postrotate", 7, "kill -HUP $(cat /run/mydaemon.pid)"}}},
		{file: "etc/logrotate.d/fail2ban",
			scripts: []scr{{"logrotate postrotate", 10, "fail2ban-client flushlogs 1>/dev/null"}}},
		// postrotate never closed: its "script" swallowed the }.
		{file: "etc/logrotate.d/broken",
			warns: []string{
				"f:3: postrotate without endscript: the script is ignored",
				"f:1: block is not closed with }",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			scripts, inc, warns := parseLogrotate("f", readFixture(t, tt.file))
			var got []scr
			for _, s := range scripts {
				first := ""
				for _, l := range strings.Split(s.text, "\n") {
					if strings.TrimSpace(l) != "" {
						first = strings.TrimSpace(l)
						break
					}
				}
				got = append(got, scr{s.context, s.firstLine, first})
			}
			if !slices.Equal(got, tt.scripts) {
				t.Errorf("scripts = %+v, want %+v", got, tt.scripts)
			}
			if !slices.Equal(inc, tt.includes) {
				t.Errorf("includes = %q, want %q", inc, tt.includes)
			}
			if g := warnStrings(warns); !slices.Equal(g, tt.warns) {
				t.Errorf("warnings = %q, want %q", g, tt.warns)
			}
		})
	}
}

func TestParseLogrotateStructureErrors(t *testing.T) {
	tests := []struct {
		name, text string
		warns      []string
	}{
		{"stray close", "weekly\n}\n", []string{"f:2: unexpected } outside a block"}},
		{"stray endscript", "/var/log/a {\n  endscript\n}\n", []string{"f:2: endscript without a script"}},
		{"nested block", "/var/log/a {\n/var/log/b {\n}\n", []string{"f:2: nested { : the previous block, opened at line 1, is not closed"}},
		{"names without block", "/var/log/a\nweekly\n", []string{"f:1: log file names without a { block"}},
		{"brace on its own line", "/var/log/a\n{\n  postrotate\n    kill -HUP 1\n  endscript\n}\n", nil},
		{"script outside a block", "postrotate\n  kill -HUP 1\nendscript\n", []string{"f:1: postrotate outside a log file block { }"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, warns := parseLogrotate("f", []byte(tt.text))
			if g := warnStrings(warns); !slices.Equal(g, tt.warns) {
				t.Errorf("warnings = %q, want %q", g, tt.warns)
			}
		})
	}
}

func TestParseCrontab(t *testing.T) {
	type line struct {
		n    int
		text string
	}
	tests := []struct {
		name   string
		file   string // a fixture, or
		text   string // inline
		system bool
		want   []line
		warns  []string
	}{
		{name: "debian /etc/crontab, user field", file: "etc/crontab", system: true, want: []line{
			{19, "cd / && run-parts --report /etc/cron.hourly"},
			{20, "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"},
			{21, "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }"},
			{22, "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }"},
			{23, `pkill -USR1 -f '^/usr/bin/python3 /opt/app/worker\.py'`},
		}},
		{name: "cron.d with @reboot and malformed lines", file: "etc/cron.d/mydaemon", system: true, want: []line{
			{3, `[ -f /run/mydaemon.pid ] && kill -USR2 "$(cat /run/mydaemon.pid)"`},
			{4, "sleep 60 && start-stop-daemon --stop --signal HUP --quiet --pidfile /run/mydaemon.pid --name mydaemon"},
		}, warns: []string{
			`f:5: malformed cron line: bad month field "root"`,
			`f:6: malformed cron line: bad minute field "61"`,
		}},
		{name: "spool crontab, no user field", file: "var/spool/cron/crontabs/root", want: []line{
			{5, "/usr/bin/killall -HUP mydaemon"},
			{6, "systemctl reload nginx"},
			{7, "pgrep -x workerd | xargs -r kill -TERM"},
		}},
		{name: "percent ends the command, \\% is literal",
			text: "0 * * * * kill -HUP $(cat /run/a.pid)%stdin data\n5 * * * * date +\\%s > /tmp/x\n",
			want: []line{{1, "kill -HUP $(cat /run/a.pid)"}, {2, "date +%s > /tmp/x"}}},
		{name: "names, ranges and steps", system: true,
			text: "0 4 1-15/2 jan,jul mon-fri root kill -HUP 1\n@weekly nobody true\n",
			want: []line{{1, "kill -HUP 1"}, {2, "true"}}},
		{name: "too few fields", system: true, text: "0 4 * * * root\n@daily\n",
			warns: []string{"f:1: malformed cron line: want a time, a user and a command", "f:2: malformed cron line: want a time, a user and a command"}},
		{name: "unknown @schedule", text: "@sometimes kill -HUP 1\n",
			warns: []string{"f:1: malformed cron line: unknown schedule @sometimes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.text)
			if tt.file != "" {
				data = readFixture(t, tt.file)
			}
			scripts, warns := parseCrontab("f", data, tt.system)
			var got []line
			for _, s := range scripts {
				got = append(got, line{s.firstLine, s.text})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("commands = %+v, want %+v", got, tt.want)
			}
			if g := warnStrings(warns); !slices.Equal(g, tt.warns) {
				t.Errorf("warnings = %q, want %q", g, tt.warns)
			}
		})
	}
}

func TestExecCommandLine(t *testing.T) {
	tests := []struct{ in, unit, want string }{
		{"/bin/kill -HUP $MAINPID", "a.service", "/bin/kill -HUP $MAINPID"},
		{"-/bin/kill -HUP $MAINPID", "a.service", "/bin/kill -HUP $MAINPID"},
		{"@/bin/kill kill -HUP $MAINPID", "a.service", "/bin/kill -HUP $MAINPID"},
		{"+!/bin/kill -s USR1 $(cat %t/%N.pid)", "a.service", "/bin/kill -s USR1 $(cat /run/a.pid)"},
		{"/bin/kill -HUP $(cat /run/%p-%i.pid) 100%%", "getty@tty1.service", "/bin/kill -HUP $(cat /run/getty-tty1.pid) 100%"},
	}
	for _, tt := range tests {
		if got := execCommandLine(tt.in, tt.unit); got != tt.want {
			t.Errorf("execCommandLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseUnitFile(t *testing.T) {
	entries, warns := parseUnitFile("f", readFixture(t, "lib/systemd/system/badunit.service"))
	var got []string
	for _, e := range entries {
		got = append(got, e.section+"/"+e.key+"="+e.value+"@"+itoa(e.line))
	}
	want := []string{
		"Unit/Description=A unit with a malformed line@2",
		// A continued line: one value, at the line where it starts.
		"Service/ExecReload=/bin/sh -c 'kill -USR1 $(cat /run/badunit.pid) &&  logger reopened'@8",
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	wantWarns := []string{
		"f:4: bad section header [Service",
		"f:5: assignment before any [Section]",
		"f:6: not a Key=Value assignment: this line is not an assignment",
	}
	if g := warnStrings(warns); !slices.Equal(g, wantWarns) {
		t.Errorf("warnings = %q, want %q", g, wantWarns)
	}
}

func TestUnitSenders(t *testing.T) {
	col := &collector{}
	units := loadUnits(&rootFS{root: debianRoot}, col)
	var names []string
	for n := range units {
		names = append(names, n)
	}
	slices.Sort(names)
	// maskedd.service is linked to /dev/null in /etc: masked, not loaded.
	wantNames := []string{"badunit.service", "mydaemon.service", "nginx.service", "notifyd.service", "otherd.service", "rsyslog.service"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("units = %q, want %q", names, wantNames)
	}
	tests := []struct {
		unit string
		want []string
	}{
		{"mydaemon.service", []string{
			"L9 kill SIGHUP mainpid:mydaemon.service stop=false", // ExecReload=/bin/kill -HUP $MAINPID
			"L10 systemd SIGINT unit:mydaemon.service stop=true", // KillSignal=SIGINT, KillMode=control-group
		}},
		// The drop-in resets ExecReload= and sets its own.
		{"otherd.service", []string{"L3 kill SIGUSR2 mainpid:otherd.service stop=false"}},
		// Type=notify-reload: systemd itself sends SIGHUP on reload.
		{"notifyd.service", []string{"L5 systemd SIGHUP mainpid:notifyd.service stop=false"}},
		// nginx -s reload is not recognised; ExecStop is a stop.
		{"nginx.service", []string{"L25 start-stop-daemon SIGQUIT match:start-stop-daemon pidfile=/run/nginx.pid stop=true"}},
		{"badunit.service", []string{"L8 kill SIGUSR1 pidfile:/run/badunit.pid stop=false"}},
		{"rsyslog.service", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range unitSenders(&scanEnv{root: &rootFS{root: debianRoot}, col: col, units: units}, units[tt.unit]) {
			if s.Unit != tt.unit {
				t.Errorf("%s: sender unit = %q", tt.unit, s.Unit)
			}
			got = append(got, senderString(s)+" stop="+map[bool]string{true: "true", false: "false"}[s.Intent == IntentStop])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: senders = %q, want %q", tt.unit, got, tt.want)
		}
	}
	if f := units["otherd.service"].exec["ExecReload"][0].file; !strings.HasSuffix(f, "otherd.service.d/override.conf") {
		t.Errorf("otherd ExecReload comes from %s, want the drop-in", f)
	}
}

// TestCollectSenders reads the whole fixture root: every source, and none
// of the files logrotate, cron and systemd themselves would skip.
func TestCollectSenders(t *testing.T) {
	col := &collector{}
	senders, _ := collectSenders(&rootFS{root: debianRoot}, col, true)
	var got []string
	for _, s := range senders {
		rel := strings.TrimPrefix(s.Source.File, debianRoot)
		got = append(got, rel+":"+senderString(s))
	}
	want := []string{
		"/etc/logrotate.d/dnsmasq:L8 pkill SIGHUP match:pkill -x dnsmasq",
		"/etc/logrotate.d/mydaemon:L7 kill SIGHUP pidfile:/run/mydaemon.pid",
		"/etc/logrotate.d/nginx:L16 kill SIGUSR1 pidfile:/run/nginx.pid",
		"/etc/logrotate.d/rsyslog:L23 invoke-rc.d indirect:rsyslog unknown:rsyslog",
		"/etc/logrotate.d/unbound:L7 systemctl kill SIGHUP unit:unbound.service",
		"/etc/logrotate.d/xinetd:L6 killall SIGUSR1 match:killall xinetd",
		"/etc/logrotate.d/zz-after-broken:L6 kill SIGUSR1 pidfile:/run/app.pid",
		"/etc/logrotate.d/zz-after-broken:L8 service indirect:apache2 unknown:apache2",
		"/etc/logrotate.d/zz-after-broken:L9 /etc/init.d/exim4 indirect:exim4 unknown:exim4",
		`/etc/crontab:L23 pkill SIGUSR1 match:pkill -f ^/usr/bin/python3 /opt/app/worker\.py`,
		"/etc/cron.d/mydaemon:L3 kill SIGUSR2 pidfile:/run/mydaemon.pid",
		"/etc/cron.d/mydaemon:L4 start-stop-daemon SIGHUP match:start-stop-daemon comm=mydaemon pidfile=/run/mydaemon.pid",
		"/var/spool/cron/crontabs/root:L5 killall SIGHUP match:killall mydaemon",
		// Followed into nginx.service's ExecReload=, a program.
		"/var/spool/cron/crontabs/root:L6 systemd ExecReload indirect:nginx.service unknown:nginx.service",
		"/var/spool/cron/crontabs/root:L7 kill SIGTERM match:pgrep -x workerd",
		"/etc/cron.daily/mydaemon-stats:L7 kill SIGUSR2 pidfile:/run/mydaemon.pid",
		"/lib/systemd/system/badunit.service:L8 kill SIGUSR1 pidfile:/run/badunit.pid",
		"/lib/systemd/system/mydaemon.service:L9 kill SIGHUP mainpid:mydaemon.service",
		"/lib/systemd/system/mydaemon.service:L10 systemd SIGINT unit:mydaemon.service",
		"/lib/systemd/system/nginx.service:L25 start-stop-daemon SIGQUIT match:start-stop-daemon pidfile=/run/nginx.pid",
		"/lib/systemd/system/notifyd.service:L5 systemd SIGHUP mainpid:notifyd.service",
		"/etc/systemd/system/otherd.service.d/override.conf:L3 kill SIGUSR2 mainpid:otherd.service",
	}
	if !slices.Equal(got, want) {
		t.Errorf("senders:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// The malformed files are reported with file:line, and reading went on.
	var warns []string
	for _, w := range col.warnings {
		warns = append(warns, strings.TrimPrefix(w.String(), debianRoot))
	}
	for _, w := range []string{
		"/etc/logrotate.d/broken:3: postrotate without endscript: the script is ignored",
		`/etc/cron.d/mydaemon:6: malformed cron line: bad minute field "61"`,
		"/lib/systemd/system/badunit.service:6: not a Key=Value assignment: this line is not an assignment",
	} {
		if !slices.Contains(warns, w) {
			t.Errorf("missing warning %q in %q", w, warns)
		}
	}
}
