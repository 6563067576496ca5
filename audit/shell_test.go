package audit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// selString is a compact form of a selector for test expectations.
func selString(s Selector) string {
	switch s.Kind {
	case SelPID:
		return fmt.Sprintf("pid:%d", s.PID)
	case SelPidfile:
		return "pidfile:" + s.Path
	case SelMainPID:
		return "mainpid:" + s.Unit
	case SelUnit:
		return "unit:" + s.Unit
	case SelMatch:
		m := s.Match
		var b []string
		b = append(b, m.Tool)
		for _, f := range []struct {
			on   bool
			flag string
		}{{m.Exact, "-x"}, {m.Full, "-f"}, {m.IgnoreCase, "-i"}, {m.Regex, "-r"}, {m.Newest, "-n"}, {m.Oldest, "-o"}, {m.Single, "-s"}, {m.RequireHandler, "-H"}} {
			if f.on {
				b = append(b, f.flag)
			}
		}
		if m.Pattern != "" {
			b = append(b, m.Pattern)
		}
		if m.Comm != "" {
			b = append(b, "comm="+m.Comm)
		}
		if m.Exe != "" {
			b = append(b, "exe="+m.Exe)
		}
		if m.Pidfile != "" {
			b = append(b, "pidfile="+m.Pidfile)
		}
		if len(m.EUsers) > 0 {
			b = append(b, "user="+strings.Join(m.EUsers, ","))
		}
		return "match:" + strings.Join(b, " ")
	}
	return "unknown:" + s.Text
}

// senderString renders a sender as "L<line> <tool> <signal> <targets>".
func senderString(s Sender) string {
	sig := "?" + s.SigText
	if s.Signal != 0 {
		sig = sigOf(s.Signal).Name
	}
	if s.Indirect != "" {
		sig = "indirect:" + s.Indirect
	}
	var t []string
	for _, sel := range s.Targets {
		t = append(t, selString(sel))
	}
	return fmt.Sprintf("L%d %s %s %s", s.Source.Line, s.Tool, sig, strings.Join(t, " "))
}

func scanText(t *testing.T, text, unit string) ([]string, []Warning) {
	t.Helper()
	sc := &script{file: "test", lines: splitLines([]byte(text)), firstLine: 1, text: text, context: "test", unit: unit}
	snd, warns := scanScript(sc)
	var out []string
	for _, s := range snd {
		out = append(out, senderString(s))
	}
	return out, warns
}

func TestScanScript(t *testing.T) {
	tests := []struct {
		name string
		unit string // set: the script is a unit's command, $MAINPID is known
		text string
		want []string
	}{
		{"debian rsyslog: invoke-rc.d rotate is indirect",
			"", "invoke-rc.d rsyslog rotate > /dev/null",
			[]string{"L1 invoke-rc.d indirect:rsyslog.service unknown:rsyslog"}},
		{"invoke-rc.d with options",
			"", "invoke-rc.d --quiet exim4 reload",
			[]string{"L1 invoke-rc.d indirect:exim4.service unknown:exim4"}},
		{"service reload is indirect, service restart sends nothing",
			"", "service apache2 reload > /dev/null\nservice apache2 restart",
			[]string{"L1 service indirect:apache2.service unknown:apache2"}},
		{"init script action is indirect",
			"", "/etc/init.d/exim4 reopen-logs >/dev/null 2>&1 || true",
			[]string{"L1 /etc/init.d/exim4 indirect:exim4.service unknown:exim4"}},
		{"systemctl reload is indirect",
			"", "systemctl reload nginx",
			[]string{"L1 systemctl reload indirect:nginx.service unknown:nginx"}},
		{"kill -HUP $(cat pidfile)",
			"", "kill -HUP $(cat /run/mydaemon.pid)",
			[]string{"L1 kill SIGHUP pidfile:/run/mydaemon.pid"}},
		{"old nginx: test || kill -USR1 `cat pidfile`",
			"", "[ ! -f /var/run/nginx.pid ] || kill -USR1 `cat /var/run/nginx.pid`",
			[]string{"L1 kill SIGUSR1 pidfile:/var/run/nginx.pid"}},
		{"kill -s with quoted substitution of a variable",
			"", "PIDFILE=/run/app.pid\nif [ -s \"$PIDFILE\" ]; then\n\tkill -s USR1 \"$(cat \"$PIDFILE\")\"\nfi",
			[]string{"L3 kill SIGUSR1 pidfile:/run/app.pid"}},
		{"${VAR:-default}",
			"", `kill -HUP "$(cat ${PIDFILE:-/run/default.pid} 2>/dev/null)"`,
			[]string{"L1 kill SIGHUP pidfile:/run/default.pid"}},
		{"bash $(< file)",
			"", `if [ -s /run/a.pid ]; then kill -HUP "$(< /run/a.pid)"; fi`,
			[]string{"L1 kill SIGHUP pidfile:/run/a.pid"}},
		{"PID in a variable",
			"", "PID=$(cat /run/a.pid)\nkill -HUP $PID",
			[]string{"L2 kill SIGHUP pidfile:/run/a.pid"}},
		{"for loop over pgrep",
			"", "for p in $(pgrep -x workerd); do\n  kill -HUP $p\ndone",
			[]string{"L2 kill SIGHUP match:pgrep -x workerd"}},
		{"head -1 of a pidfile piped",
			"", "kill -HUP $(cat /run/a.pid | head -n 1)",
			[]string{"L1 kill SIGHUP pidfile:/run/a.pid"}},
		{"pidof",
			"", "kill -HUP $(pidof -s sshd)",
			[]string{"L1 kill SIGHUP match:pidof -s sshd"}},
		{"systemctl show MainPID",
			"", "kill -USR1 $(systemctl show -p MainPID --value foo)",
			[]string{"L1 kill SIGUSR1 mainpid:foo.service"}},
		{"literal PID, numeric signal, two PIDs",
			"", "kill -9 1234 $(cat /run/b.pid)",
			[]string{"L1 kill SIGKILL pid:1234 pidfile:/run/b.pid"}},
		{"util-linux --signal and -- ",
			"", "/usr/bin/kill --signal SIGUSR2 -- $(cat /run/c.pid)",
			[]string{"L1 kill SIGUSR2 pidfile:/run/c.pid"}},
		{"kill -n (bash) and default TERM",
			"", "kill -n 10 $(cat /run/a.pid)\nkill $(cat /run/b.pid)",
			[]string{"L1 kill SIGUSR1 pidfile:/run/a.pid", "L2 kill SIGTERM pidfile:/run/b.pid"}},
		{"$MAINPID in a unit",
			"mydaemon.service", "/bin/kill -HUP $MAINPID",
			[]string{"L1 kill SIGHUP mainpid:mydaemon.service"}},
		{"${MAINPID} in a unit",
			"otherd.service", "/usr/bin/kill --signal USR2 ${MAINPID}",
			[]string{"L1 kill SIGUSR2 mainpid:otherd.service"}},
		{"$MAINPID outside a unit is unknown",
			"", "kill -HUP $MAINPID",
			[]string{"L1 kill SIGHUP unknown:$MAINPID"}},
		{"signal from a variable is unknown",
			"", "kill -$SIG $(cat /run/a.pid)",
			[]string{"L1 kill ?-$SIG pidfile:/run/a.pid"}},
		{"systemctl kill -s HUP",
			"", "systemctl kill -s HUP unbound.service",
			[]string{"L1 systemctl kill SIGHUP unit:unbound.service"}},
		{"systemctl kill --kill-whom=main, unit name completed",
			"", "systemctl --signal=SIGUSR1 kill --kill-whom=main rsyslog",
			[]string{"L1 systemctl kill SIGUSR1 mainpid:rsyslog.service"}},
		{"systemctl --user kill cannot be resolved",
			"", "systemctl --user kill -s HUP pipewire",
			[]string{"L1 systemctl kill SIGHUP unknown:pipewire"}},
		{"killall -USR1",
			"", "/usr/bin/killall -USR1 xinetd 2>/dev/null || true",
			[]string{"L1 killall SIGUSR1 match:killall xinetd"}},
		{"killall -s, -e, two names",
			"", "killall -q -s HUP -e averyveryverylongdaemonname other",
			[]string{"L1 killall SIGHUP match:killall -x averyveryverylongdaemonname", "L1 killall SIGHUP match:killall -x other"}},
		{"killall by path",
			"", "killall -HUP /usr/sbin/named",
			[]string{"L1 killall SIGHUP match:killall exe=/usr/sbin/named"}},
		{"pkill -HUP -x",
			"", "pkill -HUP -x dnsmasq",
			[]string{"L1 pkill SIGHUP match:pkill -x dnsmasq"}},
		{"pkill defaults to TERM; -f with a quoted regex",
			"", "pkill -f '^/usr/bin/python3 /opt/app/worker\\.py'",
			[]string{`L1 pkill SIGTERM match:pkill -f ^/usr/bin/python3 /opt/app/worker\.py`}},
		{"pkill --signal, -u, -F",
			"", "pkill --signal USR1 -u www-data -F /run/php-fpm.pid",
			[]string{"L1 pkill SIGUSR1 match:pkill pidfile=/run/php-fpm.pid user=www-data"}},
		{"pkill with combined flags",
			"", "pkill -USR2 -nx gunicorn",
			[]string{"L1 pkill SIGUSR2 match:pkill -x -n gunicorn"}},
		{"pgrep piped to xargs kill",
			"", "pgrep -x workerd | xargs -r kill -TERM",
			[]string{"L1 kill SIGTERM match:pgrep -x workerd"}},
		{"cat pidfile piped to xargs kill",
			"", "cat /run/a.pid | xargs kill -HUP",
			[]string{"L1 kill SIGHUP pidfile:/run/a.pid"}},
		{"sh -c is parsed too",
			"", "/bin/sh -c 'kill -HUP $(cat /run/a.pid) && logger done'",
			[]string{"L1 kill SIGHUP pidfile:/run/a.pid"}},
		{"su -c",
			"", "su - postgres -c 'pkill -HUP -u postgres postgres'",
			[]string{"L1 pkill SIGHUP match:pkill postgres user=postgres"}},
		{"sudo and env wrappers",
			"", "sudo -u root env LANG=C /usr/bin/pkill --signal HUP nginx",
			[]string{"L1 pkill SIGHUP match:pkill nginx"}},
		{"start-stop-daemon --stop --signal",
			"", "start-stop-daemon --stop --signal 1 --quiet --pidfile /run/a.pid --exec /usr/sbin/a",
			[]string{"L1 start-stop-daemon SIGHUP match:start-stop-daemon exe=/usr/sbin/a pidfile=/run/a.pid"}},
		{"start-stop-daemon --retry schedule",
			"", "start-stop-daemon --quiet --stop --retry QUIT/5 --pidfile /run/nginx.pid",
			[]string{"L1 start-stop-daemon SIGQUIT match:start-stop-daemon pidfile=/run/nginx.pid"}},
		{"multi-line script keeps line numbers",
			"", "set -e\n\n# reopen logs\n[ -s /run/a.pid ] &&\n    kill -USR1 $(cat /run/a.pid)\ntrue",
			[]string{"L5 kill SIGUSR1 pidfile:/run/a.pid"}},

		// Not senders: what a regex would have matched wrongly.
		{"kill -0 only checks", "", "[ -f /run/a.pid ] && kill -0 $(cat /run/a.pid)", nil},
		{"kill -l lists", "", "kill -l HUP", nil},
		{"quoted text is not a command", "", "echo 'kill -HUP 1'\nlogger \"pkill -HUP nginx\"", nil},
		{"a comment is not a command", "", "# kill -HUP $(cat /run/a.pid)", nil},
		{"command -v kill runs nothing", "", "command -v pkill >/dev/null", nil},
		{"start-stop-daemon --start sends nothing", "", "start-stop-daemon --start --pidfile /run/a.pid --exec /usr/sbin/a", nil},
		{"other reload helpers are not recognised", "", "fail2ban-client flushlogs 1>/dev/null\n/usr/lib/rsyslog/rsyslog-rotate", nil},
		{"service restart and invoke-rc.d start send no signal", "", "service nginx restart\ninvoke-rc.d nginx start", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := scanText(t, tt.text, tt.unit)
			if len(warns) > 0 {
				t.Errorf("unexpected warnings: %v", warns)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("script:\n%s\ngot  %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestScanScriptSyntaxError(t *testing.T) {
	// sh runs the lines before a syntax error; the audit still sees them,
	// and reports the error with its line.
	text := "kill -HUP $(cat /run/a.pid)\nif [ -f x ]; then\n  echo (\nfi\nkillall -USR1 b"
	got, warns := scanText(t, text, "")
	want := []string{"L1 kill SIGHUP pidfile:/run/a.pid", "L5 killall SIGUSR1 match:killall b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(warns) != 1 || warns[0].Line != 3 || !strings.Contains(warns[0].Msg, "shell syntax error") {
		t.Errorf("warnings = %v, want one shell syntax error at line 3", warns)
	}
}

func TestNestingTooDeep(t *testing.T) {
	deep := func(open string, n int) string { return strings.Repeat(open, n) + "x" + strings.Repeat(")", n) }
	for _, tc := range []struct {
		name string
		text string
		want int
	}{
		{"plain", "kill -HUP $(cat /run/x.pid)", 0},
		{"16 levels", deep("$(", 16), 0},
		{"17 levels", deep("$(", 17), 1},
		{"params", strings.Repeat("${a:-", 17) + "1" + strings.Repeat("}", 17), 1},
		{"on line 3", "a\nb\n" + deep("(", 20), 3},
		{"case patterns do not go negative", "case $1 in a) x;; b) y;; esac\n" + deep("$(", 16), 0},
	} {
		if got := nestingTooDeep(tc.text); got != tc.want {
			t.Errorf("%s: line %d, want %d", tc.name, got, tc.want)
		}
	}
}
