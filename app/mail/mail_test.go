package mail_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"hearth/app/mail"
	"hearth/app/mail/mailtest"
)

func TestSendWithSTARTTLSAndSignIn(t *testing.T) {
	s, pool := mailtest.Start(t, "clinic", "s3cret-pass")
	cfg := mail.Config{Host: "127.0.0.1", Port: s.Port(), User: "clinic", Password: "s3cret-pass", From: "front@maple.example",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	err := mail.Send(context.Background(), cfg, mail.Message{To: "ada@example.com", Subject: "Una respuesta de la clínica", Body: "Hola Ada,\nhay una respuesta."})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Messages()
	if len(got) != 1 || !strings.Contains(got[0], "To: ada@example.com") || !strings.Contains(got[0], "hay una respuesta") || !strings.Contains(got[0], "=?utf-8?q?") {
		t.Fatalf("received: %q", got)
	}
}

func TestSendRefusedSignInSaysWhy(t *testing.T) {
	s, pool := mailtest.Start(t, "clinic", "right")
	cfg := mail.Config{Host: "127.0.0.1", Port: s.Port(), User: "clinic", Password: "wrong", From: "front@maple.example",
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	err := mail.Send(context.Background(), cfg, mail.Message{To: "ada@example.com", Subject: "x", Body: "y"})
	if err == nil || !strings.Contains(err.Error(), "refused the sign-in") || !strings.Contains(err.Error(), "535") {
		t.Fatalf("wrong password: %v", err)
	}
	if len(s.Messages()) != 0 {
		t.Fatal("a message went through")
	}
}

func TestSendServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	err = mail.Send(context.Background(), mail.Config{Host: "127.0.0.1", Port: port, From: "a@b.example"}, mail.Message{To: "x@y.example"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("server down: %v", err)
	}
	if err := mail.Send(context.Background(), mail.Config{}, mail.Message{}); err != mail.ErrNotConfigured {
		t.Fatalf("no server: %v", err)
	}
	if err := mail.Send(context.Background(), mail.Config{Host: "h", From: "a@b.example"}, mail.Message{To: "x@y.example\r\nBcc: z@z"}); err == nil {
		t.Fatal("a header injection was sent")
	}
}

// A relay on the same machine may be spoken to in the clear.
func TestSendModeNoneToLocalRelay(t *testing.T) {
	s, _ := mailtest.Start(t, "", "")
	cfg := mail.Config{Host: "127.0.0.1", Port: s.Port(), From: "a@b.example", Mode: "none"}
	if err := mail.Send(context.Background(), cfg, mail.Message{To: "x@y.example", Subject: "s", Body: "b"}); err != nil {
		t.Fatalf("mode none to a local relay: %v", err)
	}
}
