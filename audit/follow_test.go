package audit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const bookwormRoot = "testdata/bookworm"

// writeRoot writes files (path -> content) under a new root; a path
// ending in "*" is made executable (the "*" is dropped).
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(root, p)
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, []byte(content), mode))
	}
	return root
}

// chainString is a sender's source chain without the root prefix, its
// signal and its targets: "/etc/a:3 → /usr/bin/b:2 kill SIGHUP pidfile:/run/x.pid".
func chainString(root string, s Sender) string {
	src := strings.ReplaceAll(s.Source.String(), root, "")
	sig := "?" + s.SigText
	if s.Signal != 0 {
		sig = sigOf(s.Signal).Name
	}
	var t []string
	for _, sel := range s.Targets {
		if sel.Kind == SelUnknown {
			t = append(t, "unresolved: "+strings.ReplaceAll(sel.Reason, root, ""))
			continue
		}
		t = append(t, selString(sel))
	}
	if s.Indirect != "" {
		sig = "-"
	}
	return src + " " + s.Tool + " " + sig + " " + strings.Join(t, " ")
}

func TestFollow(t *testing.T) {
	elf := "\x7fELF\x02\x01\x01\x00binary"
	tests := []struct {
		name  string
		files map[string]string
		cmd   string // a logrotate postrotate line at /etc/logrotate.d/t:3
		want  []string
	}{
		{"script by path, with its arguments",
			map[string]string{"usr/lib/x/rotate*": "#!/bin/sh\n# comment\nkill -$1 $(cat /run/$2.pid)\n"},
			"/usr/lib/x/rotate USR1 xd",
			[]string{"/etc/logrotate.d/t:3 → /usr/lib/x/rotate:3 kill SIGUSR1 pidfile:/run/xd.pid"}},
		{"script found in PATH, through env and a function",
			map[string]string{"usr/sbin/xd-rotate*": "#!/usr/bin/env bash\nhup() {\n\tpkill -HUP -x \"$1\"\n}\nhup xd\n"},
			"xd-rotate",
			[]string{"/etc/logrotate.d/t:3 → /usr/sbin/xd-rotate:5 → /usr/sbin/xd-rotate:3 pkill SIGHUP match:pkill -x xd"}},
		{"sh FILE reads a script that is not executable",
			map[string]string{"opt/r.sh": "killall -USR2 xd\n"},
			"sh -e /opt/r.sh",
			[]string{"/etc/logrotate.d/t:3 → /opt/r.sh:1 killall SIGUSR2 match:killall xd"}},
		{"a script that is not executable is not run",
			map[string]string{"opt/r.sh": "#!/bin/sh\nkillall -USR2 xd\n"},
			"/opt/r.sh", nil},
		{"a program, a missing file and a builtin send nothing the audit can see",
			map[string]string{"usr/bin/prog*": elf, "usr/bin/test*": "#!/bin/sh\nkill -HUP 1\n"},
			"prog; /usr/bin/missing; test -f /x", nil},
		{"another interpreter is unresolved, saying so",
			map[string]string{"usr/bin/fail2ban-client*": "#!/usr/bin/python3\nimport os\n"},
			"fail2ban-client flushlogs 1>/dev/null",
			[]string{"/etc/logrotate.d/t:3 /usr/bin/fail2ban-client - unresolved: runs /usr/bin/fail2ban-client, a script for python3: the audit follows shell scripts only, so what it sends is not known"}},
		{"a relative path is unresolved",
			nil, "./rotate.sh",
			[]string{"/etc/logrotate.d/t:3 ./rotate.sh - unresolved: runs ./rotate.sh, a path relative to the working directory, which is only known when it runs"}},
		{"depth is bounded",
			map[string]string{
				"bin/a*": "#!/bin/sh\n/bin/b\n", "bin/b*": "#!/bin/sh\n/bin/c\n", "bin/c*": "#!/bin/sh\n/bin/d\n",
				"bin/d*": "#!/bin/sh\n/bin/e\n", "bin/e*": "#!/bin/sh\nkill -HUP 1\n"},
			"/bin/a",
			[]string{"/etc/logrotate.d/t:3 → /bin/a:2 → /bin/b:2 → /bin/c:2 → /bin/d:2 /bin/e - unresolved: runs /bin/e, not followed: scripts and sh -c nested deeper than 4"}},
		{"a script that runs itself is read once",
			map[string]string{"bin/loop*": "#!/bin/sh\nkill -USR1 7\n/bin/loop\n"},
			"/bin/loop",
			[]string{"/etc/logrotate.d/t:3 → /bin/loop:2 kill SIGUSR1 pid:7"}},
		{"init script: only the branch of the action, through its function",
			map[string]string{"etc/init.d/xd*": "#!/bin/sh\nPIDF=/run/xd.pid\nrot() {\n\tkill -USR1 $(cat $PIDF)\n}\ncase \"$1\" in\n\tstop) kill -TERM $(cat $PIDF) ;;\n\treload|force-reload) kill -HUP $(cat $PIDF) ;;\n\trotate) rot ;;\nesac\n"},
			"invoke-rc.d xd rotate; /etc/init.d/xd reload; service xd force-reload",
			[]string{
				"/etc/logrotate.d/t:3 → /etc/init.d/xd:9 → /etc/init.d/xd:4 kill SIGUSR1 pidfile:/run/xd.pid",
				"/etc/logrotate.d/t:3 → /etc/init.d/xd:8 kill SIGHUP pidfile:/run/xd.pid",
				"/etc/logrotate.d/t:3 → /etc/init.d/xd:8 kill SIGHUP pidfile:/run/xd.pid",
			}},
		{"init script without the action sends nothing",
			map[string]string{"etc/init.d/xd*": "#!/bin/sh\ncase \"$1\" in\n\treload) kill -HUP 1 ;;\n\t*) echo usage; exit 3 ;;\nesac\n"},
			"invoke-rc.d xd rotate", nil},
		{"invoke-rc.d reload goes to the unit when it can reload",
			map[string]string{
				"lib/systemd/system/xd.service":  "[Service]\nExecStart=/usr/sbin/xd\nExecReload=/bin/kill -HUP $MAINPID\n",
				"etc/init.d/xd*":                 "#!/bin/sh\ncase \"$1\" in\n\treload) kill -USR2 1 ;;\nesac\n",
				"lib/systemd/system/nd.service":  "[Service]\nType=notify-reload\nReloadSignal=SIGUSR2\n",
				"lib/systemd/system/nor.service": "[Service]\nExecStart=/usr/sbin/nor\n",
				"etc/init.d/nor*":                "#!/bin/sh\ncase \"$1\" in\n\treload) kill -USR1 9 ;;\nesac\n"},
			"invoke-rc.d xd reload; systemctl reload nd; service nor reload; invoke-rc.d nor force-reload",
			[]string{
				"/etc/logrotate.d/t:3 → /lib/systemd/system/xd.service:3 kill SIGHUP mainpid:xd.service",
				"/etc/logrotate.d/t:3 → /lib/systemd/system/nd.service:3 systemd SIGUSR2 mainpid:nd.service",
				// nor.service cannot reload: service falls back to the
				// init script; force-reload restarts it.
				"/etc/logrotate.d/t:3 → /etc/init.d/nor:3 kill SIGUSR1 pid:9",
			}},
		{"systemctl reload: a unit without reload, a program, a sysv script, nothing at all",
			map[string]string{
				"lib/systemd/system/nor.service": "[Service]\nExecStart=/usr/sbin/nor\n",
				"lib/systemd/system/pr.service":  "[Service]\nExecReload=/usr/sbin/pr -s reload\n",
				"usr/sbin/pr*":                   elf,
				"etc/init.d/sv*":                 "#!/bin/sh\ncase \"$1\" in\n\treload) kill -HUP 5 ;;\nesac\n"},
			"systemctl reload nor pr; systemctl try-reload-or-restart nor; systemctl reload sv gone",
			[]string{
				"/etc/logrotate.d/t:3 systemctl reload - unresolved: systemctl reload nor: nor.service defines no ExecReload= and is not Type=notify-reload, so systemctl refuses to reload it and sends nothing",
				"/etc/logrotate.d/t:3 → /lib/systemd/system/pr.service:2 systemd ExecReload - unresolved: pr.service's ExecReload= runs the program /usr/sbin/pr: which signal it sends, if any, is decided inside it",
				"/etc/logrotate.d/t:3 → /etc/init.d/sv:3 kill SIGHUP pid:5",
				"/etc/logrotate.d/t:3 systemctl reload - unresolved: systemctl reload gone: neither gone.service nor /etc/init.d/gone exists in the audited system, so what it would send is not known",
			}},
		{"units that reload each other are followed once each",
			map[string]string{
				"lib/systemd/system/a.service": "[Service]\nExecReload=/bin/systemctl reload b\nExecReload=/bin/kill -HUP $MAINPID\n",
				"lib/systemd/system/b.service": "[Service]\nExecReload=/bin/systemctl reload a\n"},
			"systemctl reload a",
			[]string{"/etc/logrotate.d/t:3 → /lib/systemd/system/a.service:3 kill SIGHUP mainpid:a.service"}},
		{"a unit whose init script is missing",
			map[string]string{"lib/systemd/system/xd.service": "[Service]\nExecStart=/usr/sbin/xd\n"},
			"invoke-rc.d xd rotate",
			[]string{"/etc/logrotate.d/t:3 invoke-rc.d - unresolved: invoke-rc.d xd rotate: rotate is not a systemctl verb, so it runs /etc/init.d/xd rotate, which does not exist: the command fails"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"etc/logrotate.d/t": "/var/log/t.log {\n\tpostrotate\n\t\t" + tt.cmd + "\n\tendscript\n}\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			root := writeRoot(t, files)
			// The same with followed scans remembered and without.
			for _, memo := range []bool{true, false} {
				col := &collector{}
				senders, _ := collectSenders(&rootFS{root: root}, col, memo)
				var got []string
				for _, s := range senders {
					if strings.HasPrefix(s.Source.File, root+"/etc/logrotate.d/") {
						got = append(got, chainString(root, s))
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("memo %v: senders:\n got %s\nwant %s", memo, strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
				}
				for _, w := range col.warnings {
					t.Errorf("memo %v: warning: %s", memo, w)
				}
			}
		})
	}
}

// TestFollowFromUnitsAndCron: a unit's ExecReload= and a cron line run
// scripts too; a followed ExecReload script still sees $MAINPID.
func TestFollowFromUnitsAndCron(t *testing.T) {
	root := writeRoot(t, map[string]string{
		"lib/systemd/system/xd.service": "[Service]\nExecStart=/usr/sbin/xd\nExecReload=/usr/lib/xd/reload\n",
		"usr/lib/xd/reload*":            "#!/bin/sh\nexec kill -HUP \"$MAINPID\"\n",
		"etc/cron.d/xd":                 "0 * * * * root /usr/lib/xd/stats\n",
		"usr/lib/xd/stats*":             "#!/bin/dash\nkill -USR2 $(cat /run/xd.pid)\n",
	})
	senders, _ := collectSenders(&rootFS{root: root}, &collector{}, true)
	var got []string
	for _, s := range senders {
		got = append(got, chainString(root, s)+" unit="+s.Unit)
	}
	want := []string{
		"/etc/cron.d/xd:1 → /usr/lib/xd/stats:2 kill SIGUSR2 pidfile:/run/xd.pid unit=",
		"/lib/systemd/system/xd.service:3 → /usr/lib/xd/reload:2 kill SIGHUP mainpid:xd.service unit=xd.service",
	}
	if !slices.Equal(got, want) {
		t.Errorf("senders:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// bookwormHost runs what the bookworm fixture (Debian 12's own rsyslog,
// nginx-common and logrotate files) configures: nginx's master is the PID
// in run/nginx.pid and handles USR1, as nginx does; rsyslogd is in
// rsyslog.service's cgroup.
func bookwormHost(rsyslogCatches []int) []fakeProcess {
	return []fakeProcess{
		{pid: 1, comm: "systemd", argv: []string{"/sbin/init"}, caught: []int{sigHUP, sigTERM}, nsInit: true, start: 1},
		{pid: 3100, ppid: 1, comm: "nginx", argv: []string{"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"},
			unit: "nginx.service", caught: []int{sigHUP, sigINT, sigQUIT, sigUSR1, sigUSR2, sigTERM}, start: 100},
		{pid: 3101, ppid: 3100, comm: "nginx", argv: []string{"nginx: worker process"}, unit: "nginx.service",
			caught: []int{sigHUP, sigINT, sigQUIT, sigUSR1, sigUSR2, sigTERM}, start: 101},
		{pid: 3200, ppid: 1, comm: "rsyslogd", argv: []string{"/usr/sbin/rsyslogd", "-n", "-iNONE"}, unit: "rsyslog.service",
			caught: rsyslogCatches, start: 110},
	}
}

func TestRunBookworm(t *testing.T) {
	for _, tt := range []struct {
		name     string
		catches  []int
		rsyslog  string
		rsReason string
	}{
		{"rsyslogd handles SIGHUP", []int{sigHUP, sigINT, sigTERM}, "ok", ""},
		{"rsyslogd lost its SIGHUP handler", []int{sigINT, sigTERM}, "fatal", "no handler: the default action of SIGHUP is terminate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(Options{Root: bookwormRoot, Proc: writeFakeProc(t, bookwormHost(tt.catches))})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range rep.Warnings {
				t.Errorf("warning: %s", w)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, strings.ReplaceAll(f.Risk+" "+f.Source.String()+" "+f.Signal.Name+" "+
					itoa(f.Target.PID)+" "+f.Source.Command(), bookwormRoot, ""))
				if f.Target.PID == 3200 && f.Reason != tt.rsReason {
					t.Errorf("rsyslog reason %q, want %q", f.Reason, tt.rsReason)
				}
			}
			want := []string{
				// Debian's nginx stanza: invoke-rc.d nginx rotate runs the
				// init script's rotate) branch, which calls rotate_logs.
				"ok /etc/logrotate.d/nginx:16 → /etc/init.d/nginx:189 → /etc/init.d/nginx:82 SIGUSR1 3100 start-stop-daemon --stop --signal USR1 --quiet --pidfile $PID --name $NAME",
				// Debian's rsyslog stanza runs /usr/lib/rsyslog/rsyslog-rotate.
				tt.rsyslog + " /etc/logrotate.d/rsyslog:16 → /usr/lib/rsyslog/rsyslog-rotate:4 SIGHUP 3200 systemctl kill -s HUP rsyslog.service",
				"ok /lib/systemd/system/nginx.service:25 SIGQUIT 3100 ExecStop=-/sbin/start-stop-daemon --quiet --stop --retry QUIT/5 --pidfile /run/nginx.pid",
			}
			if tt.rsyslog == "fatal" {
				want[0], want[1] = want[1], want[0]
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			if rep.Fatal() != (tt.rsyslog == "fatal") {
				t.Errorf("Fatal() = %v", rep.Fatal())
			}
		})
	}
}
