package smtpfake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Username and Password are the credentials the server accepts.
const (
	Username = "tend"
	Password = "s3cret-smtp-pass"
)

// Stages at which a failure can be injected.
const (
	StageMail = "mail"
	StageRcpt = "rcpt"
	StageData = "data"
)

// Mail is one accepted message.
type Mail struct {
	// TLS is true when the session was encrypted.
	TLS  bool
	From string
	To   []string
	Data []byte
}

// Message parses the mail's header and body.
func (m Mail) Message() (*mail.Message, error) {
	return mail.ReadMessage(bytes.NewReader(m.Data))
}

// Failure is an SMTP reply to give instead of accepting a command.
type Failure struct {
	// Stage is StageMail, StageRcpt or StageData.
	Stage string
	// Code is the reply code, e.g. 451 or 550.
	Code    int
	Message string
}

// Server is a fake SMTP server. It is safe for concurrent use.
type Server struct {
	srv      *smtp.Server
	ln       net.Listener
	certPEM  []byte
	implicit bool

	mu    sync.Mutex
	mails []Mail
	fails []Failure
	hang  chan struct{}
}

// New starts a server offering STARTTLS. It panics if it cannot listen, as
// httptest.NewServer does.
func New() *Server { return start(false) }

// NewTLS starts a server speaking TLS from the first byte (implicit TLS,
// as on port 465).
func NewTLS() *Server { return start(true) }

func start(implicit bool) *Server {
	cert, certPEM, err := selfSigned()
	if err != nil {
		panic("smtpfake: make certificate: " + err.Error())
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("smtpfake: listen: " + err.Error())
	}
	s := &Server{certPEM: certPEM, implicit: implicit}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 50
	if implicit {
		ln = tls.NewListener(ln, tlsCfg)
	} else {
		s.srv.TLSConfig = tlsCfg
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

// Host is the address the server listens on, 127.0.0.1.
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host(), strconv.Itoa(s.Port())) }

// CertPEM is the server's self-signed certificate, for a client to trust.
func (s *Server) CertPEM() []byte { return append([]byte(nil), s.certPEM...) }

// Close stops the server and releases hung sessions.
func (s *Server) Close() {
	s.Unhang()
	_ = s.srv.Close()
}

// Mailbox returns the accepted messages, oldest first.
func (s *Server) Mailbox() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// FailNext makes the next n commands at f.Stage answer f.Code.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, f)
	}
}

// Hang makes new sessions wait after EHLO until the client gives up, the
// server closes or [Server.Unhang].
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
}

// Unhang lets sessions through again.
func (s *Server) Unhang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
}

// failure pops an injected failure for stage.
func (s *Server) failure(stage string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.fails {
		if f.Stage != stage {
			continue
		}
		s.fails = append(s.fails[:i], s.fails[i+1:]...)
		class := f.Code / 100
		return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCode{class, 0, 0}, Message: f.Message}
	}
	return nil
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	hang := b.s.hang
	b.s.mu.Unlock()
	if hang != nil {
		<-hang
	}
	_, tls := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tls: tls}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	tls    bool
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != Username || password != Password || (identity != "" && identity != username) {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.failure(StageMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.failure(StageRcpt); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "bad address"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.failure(StageData); err != nil {
		return err
	}
	if _, err := mail.ReadMessage(bytes.NewReader(data)); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: fmt.Sprintf("message not parsable: %v", err)}
	}
	ss.s.mu.Lock()
	_, tls := ss.conn.TLSConnectionState()
	ss.s.mails = append(ss.s.mails, Mail{TLS: tls || ss.tls, From: ss.from, To: append([]string(nil), ss.to...), Data: data})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost that is its
// own CA, so a client can trust it through a CA file.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtpfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	if der == nil {
		return tls.Certificate{}, nil, errors.New("empty certificate")
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
