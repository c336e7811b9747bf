// Package mail sends email through the clinic's own mail server (SMTP), with
// STARTTLS, implicit TLS or neither (for a server on the same machine), and
// an optional sign-in. It knows nothing of the clinic: it is handed a server
// and a message, and answers the server's words when it refuses.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Config is the clinic's mail server.
type Config struct {
	Host     string
	Port     int
	Mode     string // "starttls" (default), "tls", or "none"
	User     string
	Password string
	From     string // the sender address
	// RootCAs is for tests with a private certificate; nil means the system's.
	TLSConfig *tls.Config
}

// Message is one plain-text email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// ErrNotConfigured means the owner has not set a mail server.
var ErrNotConfigured = errors.New("mail: no mail server is set up")

// Send delivers m, within ctx's deadline (30 s if it has none).
func Send(ctx context.Context, c Config, m Message) error {
	if c.Host == "" || c.From == "" {
		return ErrNotConfigured
	}
	if strings.ContainsAny(m.To+m.Subject+c.From, "\r\n") {
		return errors.New("mail: a header holds a line break")
	}
	if c.Port == 0 {
		c.Port = map[string]int{"tls": 465, "none": 25}[c.Mode]
		if c.Port == 0 {
			c.Port = 587
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	tlsCfg := c.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var d net.Dialer
	var conn net.Conn
	var err error
	if c.Mode == "tls" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("mail: cannot reach %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return errors.Join(fmt.Errorf("mail: %w", err), conn.Close())
		}
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return errors.Join(fmt.Errorf("mail: %w", err), conn.Close())
	}
	if err := send(cl, c, m, tlsCfg); err != nil {
		return errors.Join(err, cl.Close())
	}
	return nil
}

// send has one message accepted over cl and says goodbye (QUIT, which
// also closes the connection).
func send(cl *smtp.Client, c Config, m Message, tlsCfg *tls.Config) error {
	if err := cl.Hello("hearth"); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if c.Mode != "tls" && c.Mode != "none" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return errors.New("mail: the server does not offer STARTTLS; choose TLS or ask your provider")
		}
		if err := cl.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
	}
	if c.User != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.User, c.Password, c.Host)); err != nil {
			return fmt.Errorf("mail: the server refused the sign-in: %w", err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := cl.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	host := c.From[strings.LastIndexByte(c.From, '@')+1:]
	hdr := "From: " + c.From + "\r\nTo: " + m.To + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", m.Subject) +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + uuid.NewString() + "@" + host + ">" +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := w.Write([]byte(hdr + body + "\r\n")); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: the server did not accept the message: %w", err)
	}
	return cl.Quit()
}
