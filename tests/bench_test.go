package tests

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestBenchRunsSmall runs `hearth bench` at a tiny size: every figure the
// issue names comes back as JSON, and the run drove real traffic. It is one
// of the two tests `go test -short` leaves out (README).
func TestBenchRunsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real server for about 20 seconds")
	}
	cmd := exec.Command(binPath, "bench", "--patients", "300", "--messages", "3000", "--staff", "20", "--writers", "4", "--ingest", "1s", "--roundtrip", "1s", "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hearth bench: %v\n%s", err, out)
	}
	var r map[string]any
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"ingest_per_s", "alert_p99_ms", "inbox_p99_ms_warm", "inbox_p99_ms_cold", "search_p99_ms", "startup_s", "rss_mb", "bytes_per_message", "machine",
		"cpu_us_per_message", "roundtrip_per_s", "roundtrip_alert_p50_ms", "roundtrip_alert_p99_ms"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %q in the JSON", k)
		}
	}
	if v, _ := r["ingest_per_s"].(float64); v <= 0 {
		t.Errorf("no message was acknowledged: %v", r["ingest_per_s"])
	}
	if v, _ := r["roundtrip_per_s"].(float64); v <= 0 {
		t.Errorf("no patient round trip went through: %v", r["roundtrip_per_s"])
	}
	if v, _ := r["cpu_us_per_message"].(float64); v <= 0 {
		t.Errorf("the server's CPU per message was not measured: %v", r["cpu_us_per_message"])
	}
	d, _ := r["detail"].(map[string]any)
	if d == nil || d["alert_missed"].(float64) != 0 || d["sockets"].(float64) != 20 || d["roundtrip_alert_missed"].(float64) != 0 || d["roundtrip_sockets"].(float64) != 20 {
		t.Errorf("detail: %v", d)
	}
	// The round-trip alert's parts: one each per completed round trip,
	// every frame heard, so each item has a first and a last arrival.
	n := d["roundtrips"].(float64)
	for _, k := range []string{"roundtrip_compose", "roundtrip_alert_first", "roundtrip_alert_spread"} {
		l, _ := d[k].(map[string]any)
		if l == nil || l["n"].(float64) != n {
			t.Errorf("%s = %v, want %v samples (one per round trip)", k, d[k], n)
		}
	}
	if c, _ := d["roundtrip_compose"].(map[string]any); c == nil || c["p50"].(float64) <= 0 {
		t.Errorf("the time from a round trip's start to its POST was not measured: %v", d["roundtrip_compose"])
	}
}
