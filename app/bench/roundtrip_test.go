package bench

import (
	"encoding/json"
	"testing"

	"hearth/app/clinic"
)

// TestNewItemIDReadsTheHubsFrame: the byte scan the sockets' readers use
// instead of decoding finds the item of an "item.new" event exactly as the
// hub encodes it, and nothing in any other event.
func TestNewItemIDReadsTheHubsFrame(t *testing.T) {
	const id = "0190a3c4-0000-7000-8000-00000000abcd"
	b, err := json.Marshal(clinic.Event{Seq: 7, Type: "item.new", ItemID: id, Queue: "frontdesk", Priority: "routine"})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := newItemID(b)
	if !ok || string(got[:]) != id {
		t.Fatalf("newItemID(%s) = %q, %v", b, got, ok)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = newItemID(b) }); allocs != 0 {
		t.Errorf("newItemID allocates %.0f times a frame", allocs)
	}
	other, err := json.Marshal(clinic.Event{Seq: 8, Type: "item.updated", ItemID: id, Queue: "frontdesk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{other, []byte(`{"type":"item.new"}`), []byte(`{"type":"item.new","item_id":"0190"}`), nil} {
		if got, ok := newItemID(f); ok {
			t.Errorf("newItemID(%s) = %q, want nothing", f, got)
		}
	}
}

// TestHiddenFastReadsTheForm: the compose page's hidden inputs come back
// unescaped, as a browser would post them.
func TestHiddenFastReadsTheForm(t *testing.T) {
	page := []byte(`<form method="post"><input type="hidden" name="csrf" value="a&#43;b&amp;c&#34;d&#39;e">` +
		`<input type="text" name="body" value="no"><input name="x" type="hidden" value="1"></form>`)
	v := hiddenFast(page)
	if got := v.Get("csrf"); got != `a+b&c"d'e` {
		t.Errorf("csrf = %q", got)
	}
	if v.Has("body") {
		t.Error("a visible input was taken as hidden")
	}
	if got := v.Get("x"); got != "1" {
		t.Errorf("x = %q", got)
	}
}
