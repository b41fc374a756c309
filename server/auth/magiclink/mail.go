package magiclink

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"time"

	"github.com/loom-agent/loom/server/auth/secret"
)

// Mailer sends one plain-text email.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTP sends mail through an SMTP server with net/smtp: STARTTLS whenever
// the server offers it (required when RequireTLS is set), and PLAIN
// authentication when a username is given, which net/smtp refuses to send
// unencrypted except to localhost.
type SMTP struct {
	// Addr is host:port of the SMTP server.
	Addr string
	// From is the sender's address, "Loom <loom@example.com>" or bare.
	From               string
	Username, Password string
	// RequireTLS refuses a server that does not offer STARTTLS.
	RequireTLS bool
}

// sendTimeout bounds one whole SMTP conversation.
const sendTimeout = 30 * time.Second

// Send delivers one message.
func (m SMTP) Send(ctx context.Context, to, subject, body string) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("the sender address %q: %w", m.From, err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("the recipient address: %w", err)
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("the SMTP address %q: %w", m.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("connecting to the SMTP server: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("SMTP STARTTLS: %w", err)
		}
	} else if m.RequireTLS {
		return errors.New("the SMTP server does not offer STARTTLS, and TLS is required")
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("SMTP authentication: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("SMTP RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if _, err := w.Write(message(from, rcpt, subject, body)); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP DATA: %w", err)
	}
	return c.Quit()
}

// message formats a plain-text message. Addresses come from
// mail.ParseAddress and the subject is Q-encoded, so no header can carry
// a line break of its own (header injection).
func message(from, to *mail.Address, subject, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@loom>\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", subject), time.Now().Format(time.RFC1123Z), secret.ID())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	q := quotedprintable.NewWriter(&b)
	q.Write([]byte(body))
	q.Close()
	return b.Bytes()
}
