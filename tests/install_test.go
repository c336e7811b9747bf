package tests

// Real runs of install.sh: --dry-run, and installs under a --prefix (which
// skip useradd, chown and systemctl), so they need neither root nor systemd.

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hearth/app/testenv"
)

const (
	unitRel = "etc/systemd/system/hearth.service"
	binRel  = "usr/local/bin/hearth"
	dataRel = "var/lib/hearth"
)

// installScript runs `bash install.sh args...` with the Linux layout (whatever
// the host is) and returns its combined output and exit code.
func installScript(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash not installed", testenv.CI)
	}
	script, err := filepath.Abs(filepath.Join("..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// Reading the script here also makes go test's cache notice its edits.
	if text := readText(t, script); !strings.Contains(text, "set -euo pipefail") {
		t.Fatal("install.sh does not start with set -euo pipefail")
	}
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HEARTH_INSTALL_OS=Linux", "HEARTH_DATA=", "HEARTH_ADDR=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("running install.sh: %v", err)
		return "", -1
	}
}

// mustInstall runs install.sh and fails the test unless it succeeds.
func mustInstall(t *testing.T, args ...string) string {
	t.Helper()
	out, code := installScript(t, nil, args...)
	if code != 0 {
		t.Fatalf("install.sh %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func readText(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// otherBinary is a copy of the test binary with a few bytes appended: it
// still runs, but its hash differs, so an upgrade can be seen.
func otherBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hearth")
	src, err := os.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	})
	dst, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Write([]byte("\x00hearth-install-test-upgrade")); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func lines(s string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		m[strings.TrimSpace(l)] = true
	}
	return m
}

var hardening = []string{
	"User=hearth",
	"Group=hearth",
	"Environment=HEARTH_DATA=/var/lib/hearth",
	"EnvironmentFile=-/etc/hearth/hearth.env",
	"ExecStart=/usr/local/bin/hearth serve",
	"Restart=on-failure",
	"NoNewPrivileges=yes",
	"ProtectSystem=strict",
	"PrivateTmp=yes",
	"ProtectHome=yes",
	"PrivateDevices=yes",
	"ProtectKernelTunables=yes",
	"ProtectKernelModules=yes",
	"ProtectControlGroups=yes",
	"RestrictSUIDSGID=yes",
	"LockPersonality=yes",
	"RestrictNamespaces=yes",
	"UMask=0077",
	"LimitCORE=0",
	"TimeoutStopSec=30",
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	out := mustInstall(t, "--dry-run", "--prefix", prefix, "--binary", binPath)
	if !strings.Contains(out, filepath.Join(prefix, unitRel)) {
		t.Errorf("dry run does not name the unit it would write:\n%s", out)
	}
	for _, h := range hardening {
		if !strings.Contains(out, h) {
			t.Errorf("dry run does not show %q", h)
		}
	}
	entries, err := os.ReadDir(prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("dry run created %s", filepath.Join(prefix, e.Name()))
	}

	// Without --prefix it plans the real paths, and still writes nothing.
	const realUnit = "/" + unitRel
	_, statErr := os.Stat(realUnit)
	existed := statErr == nil
	out = mustInstall(t, "--dry-run", "--binary", binPath)
	for _, want := range []string{realUnit, "systemctl enable --now hearth", "useradd --system"} {
		if !existed && !strings.Contains(out, want) {
			t.Errorf("dry run without --prefix does not show %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(realUnit); !existed && err == nil {
		t.Errorf("dry run created %s", realUnit)
	}
}

func TestInstallUnderPrefix(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	out := mustInstall(t, "--prefix", prefix, "--binary", binPath)
	if !strings.Contains(out, "skipping user creation") {
		t.Errorf("a --prefix install does not say it skips system changes:\n%s", out)
	}
	for _, want := range []string{"/var/lib/hearth", "sudo -u hearth hearth backup --data /var/lib/hearth", "journalctl -u hearth"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q", want)
		}
	}

	bin := filepath.Join(prefix, binRel)
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("binary mode %v, want 0755", fi.Mode().Perm())
	}
	v, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(v), "hearth ") {
		t.Errorf("installed binary: hearth version = %q, %v", v, err)
	}

	unit := readText(t, filepath.Join(prefix, unitRel))
	have := lines(unit)
	for _, h := range hardening {
		if !have[h] {
			t.Errorf("unit lacks %q", h)
		}
	}
	for _, want := range []string{"Environment=HEARTH_ADDR=0.0.0.0:8080", "ReadWritePaths=/var/lib/hearth", "WantedBy=multi-user.target"} {
		if !have[want] {
			t.Errorf("unit lacks %q", want)
		}
	}

	data, err := os.Stat(filepath.Join(prefix, dataRel))
	if err != nil {
		t.Fatal(err)
	}
	if !data.IsDir() || data.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v, want a directory with mode 0700", data.Mode())
	}
}

func TestInstallTwiceKeepsData(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	mustInstall(t, "--prefix", prefix, "--binary", binPath)

	data := filepath.Join(prefix, dataRel)
	kept := filepath.Join(data, "hearth.db")
	if err := os.WriteFile(kept, []byte("the clinic's records"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(data, "keys", "clinic.age")
	if err := os.WriteFile(key, []byte("AGE-SECRET-KEY-1TEST"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(kept, old, old); err != nil {
		t.Fatal(err)
	}

	newBin := otherBinary(t)
	out := mustInstall(t, "--prefix", prefix, "--binary", newBin)
	if !strings.Contains(out, "upgrading in place") {
		t.Errorf("second run does not say it upgrades in place:\n%s", out)
	}

	if got := readText(t, kept); got != "the clinic's records" {
		t.Errorf("data file changed: %q", got)
	}
	fi, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o600 {
		t.Errorf("data file touched: mtime %v (want %v), mode %v", fi.ModTime(), old, fi.Mode().Perm())
	}
	if got := readText(t, key); got != "AGE-SECRET-KEY-1TEST" {
		t.Errorf("key file changed: %q", got)
	}

	bin := filepath.Join(prefix, binRel)
	if sha(t, bin) != sha(t, newBin) {
		t.Error("the installed binary was not replaced by the new one")
	}
	if v, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		t.Errorf("upgraded binary does not run: %v %s", err, v)
	}
	// The atomic copy leaves no temporary file behind.
	entries, err := os.ReadDir(filepath.Dir(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "hearth" {
			t.Errorf("leftover file beside the binary: %s", e.Name())
		}
	}
}

func TestInstallLowPortCapability(t *testing.T) {
	t.Parallel()
	low := t.TempDir()
	mustInstall(t, "--prefix", low, "--binary", binPath, "--addr", "0.0.0.0:443")
	unit := lines(readText(t, filepath.Join(low, unitRel)))
	for _, want := range []string{
		"Environment=HEARTH_ADDR=0.0.0.0:443",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
	} {
		if !unit[want] {
			t.Errorf("--addr 0.0.0.0:443: unit lacks %q", want)
		}
	}

	def := t.TempDir()
	mustInstall(t, "--prefix", def, "--binary", binPath)
	text := readText(t, filepath.Join(def, unitRel))
	if strings.Contains(text, "CAP_NET_BIND_SERVICE") {
		t.Error("default port 8080: unit grants CAP_NET_BIND_SERVICE")
	}
	if !lines(text)["CapabilityBoundingSet="] {
		t.Error("default port 8080: unit lacks an empty CapabilityBoundingSet=")
	}
}

func TestInstallRejectsUnknownOption(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	for _, args := range [][]string{
		{"--frobnicate"},
		{"--prefix", prefix, "--binary", binPath, "--addr", "no-port"},
		{"--prefix", prefix, "--binary"},
	} {
		out, code := installScript(t, nil, args...)
		if code == 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("install.sh %v: exit %d, want non-zero with usage:\n%s", args, code, out)
		}
	}
	out, code := installScript(t, nil, "--frobnicate")
	if !strings.Contains(out, "--frobnicate") {
		t.Errorf("error does not name the unknown option (exit %d):\n%s", code, out)
	}
	if out, code := installScript(t, nil, "--help"); code != 0 || !strings.Contains(out, "--uninstall") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(prefix); len(entries) != 0 {
		t.Errorf("a rejected run created files under the prefix: %v", entries)
	}
}

func TestInstallUnitPassesSystemdVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		// Not required even in CI: CI's Debian machine need not run systemd.
		testenv.Missing(t, "systemd-analyze not installed")
	}
	prefix := t.TempDir()
	mustInstall(t, "--prefix", prefix, "--binary", binPath, "--addr", "0.0.0.0:443", "--backup-dir", "/mnt/hearth-backups")
	unit := readText(t, filepath.Join(prefix, unitRel))
	unit = strings.Replace(unit, "ExecStart=/usr/local/bin/hearth serve", "ExecStart="+binPath+" serve", 1)
	p := filepath.Join(t.TempDir(), "hearth.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
	// Unknown keys and bad values are only warnings: fail on them too.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "hearth.service:") {
			t.Errorf("systemd-analyze: %s", l)
		}
	}
}

func TestInstallUninstallKeepsData(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	mustInstall(t, "--prefix", prefix, "--binary", binPath)
	kept := filepath.Join(prefix, dataRel, "hearth.db")
	if err := os.WriteFile(kept, []byte("records"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustInstall(t, "--prefix", prefix, "--uninstall")
	for _, gone := range []string{binRel, unitRel} {
		if _, err := os.Stat(filepath.Join(prefix, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--uninstall left %s (%v)", gone, err)
		}
	}
	if got := readText(t, kept); got != "records" {
		t.Errorf("--uninstall changed the data: %q", got)
	}
	if !strings.Contains(out, filepath.Join(prefix, dataRel)) {
		t.Errorf("--uninstall does not say where the data is kept:\n%s", out)
	}
}

// The macOS branch cannot run here, but staged under a prefix it must still
// write a well-formed launchd plist running as the dedicated user.
func TestInstallMacOSStaged(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	out, code := installScript(t, []string{"HEARTH_INSTALL_OS=Darwin"}, "--prefix", prefix, "--binary", binPath)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	plist, err := os.ReadFile(filepath.Join(prefix, "Library/LaunchDaemons/org.hearth.plist"))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(plist))
	d.Strict = true
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, plist)
		}
	}
	for _, want := range []string{"<string>org.hearth</string>", "<string>_hearth</string>", "<string>/usr/local/bin/hearth</string>", "<string>/usr/local/var/hearth</string>"} {
		if !bytes.Contains(plist, []byte(want)) {
			t.Errorf("plist lacks %s", want)
		}
	}
	fi, err := os.Stat(filepath.Join(prefix, "usr/local/var/hearth"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("macOS data folder mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestInstallWithDomain: install.sh --domain NAME is the one-line HTTPS
// install: the unit serves HTTPS on 443 with HEARTH_DOMAIN set, and may
// bind ports 80 and 443 through CAP_NET_BIND_SERVICE alone (nothing else
// is widened); a bad name is refused before anything is written.
func TestInstallWithDomain(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	mustInstall(t, "--prefix", prefix, "--binary", binPath, "--domain", "Portal.Maple-Clinic.com")
	text := readText(t, filepath.Join(prefix, unitRel))
	unit := lines(text)
	for _, want := range []string{
		"Environment=HEARTH_ADDR=0.0.0.0:443",
		"Environment=HEARTH_DOMAIN=portal.maple-clinic.com",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
	} {
		if !unit[want] {
			t.Errorf("--domain: unit lacks %q\n%s", want, text)
		}
	}
	if strings.Count(text, "CAP_") != 2 {
		t.Errorf("--domain: the unit names other capabilities:\n%s", text)
	}
	// --addr still wins, and the capability stays for port 80.
	other := t.TempDir()
	mustInstall(t, "--prefix", other, "--binary", binPath, "--domain", "portal.maple-clinic.com", "--addr", "0.0.0.0:8443")
	unit = lines(readText(t, filepath.Join(other, unitRel)))
	if !unit["Environment=HEARTH_ADDR=0.0.0.0:8443"] || !unit["AmbientCapabilities=CAP_NET_BIND_SERVICE"] {
		t.Errorf("--domain with --addr 0.0.0.0:8443: %v", unit)
	}
	for _, bad := range []string{"192.0.2.1", "portal.example.org:443", "*.example.org", "https://portal.example.org", "portal"} {
		dir := t.TempDir()
		out, code := installScript(t, nil, "--prefix", dir, "--binary", binPath, "--domain", bad)
		if code == 0 || !strings.Contains(out, "--domain") {
			t.Errorf("--domain %q: exit %d\n%s", bad, code, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--domain %q: files written: %v", bad, entries)
		}
	}
}
