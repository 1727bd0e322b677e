package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() {
	integrations.Register("smtp", func(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
		return New(spec, deps)
	})
}

// Integration mails events to a fixed list of recipients. It is safe for
// concurrent use: each delivery opens its own SMTP session.
type Integration struct {
	name    string
	cfg     Config
	timeout time.Duration
	tmpl    *render.Templates
	hub     string
	log     *slog.Logger
}

var _ integrations.Integration = (*Integration)(nil)

// New builds an SMTP integration from spec. It reads ca_file if set but
// does no network I/O; a bad setting or template is a [config.Errors]
// naming file and line.
func New(spec config.Integration, deps integrations.Deps) (*Integration, error) {
	var cfg Config
	if err := spec.Settings.Decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(spec.Settings); err != nil {
		return nil, err
	}
	tmpl, err := render.NewTemplates(spec.Settings, cfg.Overrides)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	timeout := spec.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Integration{name: spec.Name, cfg: cfg, timeout: timeout, tmpl: tmpl, hub: deps.Hub, log: deps.Logger}, nil
}

// Deliver implements [integrations.Integration]: one message to every
// recipient. The receipt's Ref is the Message-ID.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return integrations.Receipt{}, integrations.Classify(err)
	}
	msg, id, err := in.message(ev)
	if err != nil {
		return integrations.Receipt{}, err
	}
	client, release, err := in.client(ctx)
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("config", err)
	}
	defer release()

	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			// The connection was closed under go-mail because ctx ended.
			return integrations.Receipt{}, integrations.Classify(fmt.Errorf("send mail: %w", context.Cause(ctx)))
		}
		e := classify(err)
		return integrations.Receipt{Status: e.Status}, e
	}
	in.log.Debug("mail sent", "event_id", ev.ID, "message_id", id, "recipients", len(in.cfg.To))
	return integrations.Receipt{Status: 250, Ref: id}, nil
}

// message builds the mail for ev and returns it with its Message-ID.
func (in *Integration) message(ev events.Event) (*mail.Msg, string, error) {
	v := render.Of(ev)
	subject, err := in.tmpl.Title(v)
	if err != nil {
		in.log.Warn("mail title template failed, using the default", "error", err)
	}
	text, err := in.tmpl.Text(v)
	if err != nil {
		in.log.Warn("mail text template failed, using the default", "error", err)
	}
	html, err := in.tmpl.HTML(v)
	if err != nil {
		in.log.Warn("mail html template failed, using the default", "error", err)
	}

	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(in.cfg.From); err != nil {
		return nil, "", integrations.Permanent("from", fmt.Errorf("set sender: %w", err))
	}
	if err := m.To(in.cfg.To...); err != nil {
		return nil, "", integrations.Permanent("to", fmt.Errorf("set recipients: %w", err))
	}
	// Subjects are one line; go-mail encodes non-ASCII as RFC 2047 words.
	m.Subject(render.Truncate(strings.Join(strings.Fields(subject), " "), 200))
	when := ev.Time
	if when.IsZero() {
		when = time.Now()
	}
	m.SetDateWithValue(when)

	id, parent := ThreadIDs(v)
	m.SetMessageIDWithValue(id)
	if parent != "" {
		m.SetGenHeader(mail.HeaderInReplyTo, "<"+parent+">")
		m.SetGenHeader(mail.HeaderReferences, "<"+parent+">")
	}
	// Mark the mail as machine-made, so auto-responders stay quiet.
	m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(mail.Header("X-Tend-Event"), ev.Type)
	if in.hub != "" {
		m.SetGenHeader(mail.Header("X-Tend-Hub"), in.hub)
	}

	m.SetBodyString(mail.TypeTextPlain, text+"\n")
	m.AddAlternativeString(mail.TypeTextHTML, html)
	return m, "<" + id + ">", nil
}

// ThreadIDs returns the Message-ID (without angle brackets) of the mail
// for v and the ID it replies to, if any. An alert's first firing gets
// fingerprint.start@tend, stable for the alert's life, so a retried send
// is recognised as the same mail; repeats and the resolution reply to it.
// An optimization run threads under its request the same way.
func ThreadIDs(v render.View) (id, parent string) {
	switch {
	case v.Alert != nil && v.Alert.Fingerprint != "":
		root := fmt.Sprintf("%s.%d", token(v.Alert.Fingerprint), v.Alert.StartsAt.Unix())
		switch {
		case v.Alert.Status == events.StatusResolved:
			return root + ".resolved@tend", root + "@tend"
		case v.Alert.Repeat:
			return root + "." + token(v.Event.ID) + "@tend", root + "@tend"
		}
		return root + "@tend", ""
	case v.Run != nil && v.Run.ID != "":
		root := "run." + token(v.Run.ID)
		if v.Run.Status == "requested" {
			return root + "@tend", ""
		}
		return root + "." + token(v.Run.Status) + "@tend", root + "@tend"
	}
	return token(v.Event.ID) + "@tend", ""
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func token(s string) string {
	if s == "" {
		return "_"
	}
	return unsafeID.ReplaceAllString(s, "_")
}

// client makes a go-mail client for one delivery, bounded by the sooner of
// the integration's timeout and ctx's deadline. go-mail heeds ctx only while
// dialing, so the connection is closed if ctx ends later; release stops
// watching ctx and must be called once the delivery is over.
func (in *Integration) client(ctx context.Context) (c *mail.Client, release func(), err error) {
	timeout := in.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	tlsCfg := &tls.Config{
		ServerName:         in.cfg.Host,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            in.cfg.roots,
		InsecureSkipVerify: in.cfg.InsecureSkipVerify, //nolint:gosec // opted in by config, for tests
	}
	var (
		mu   sync.Mutex
		stop = func() bool { return false }
	)
	release = func() {
		mu.Lock()
		defer mu.Unlock()
		stop()
	}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if in.cfg.TLS == "implicit" {
			tconn := tls.Client(conn, tlsCfg)
			if err := tconn.HandshakeContext(dctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			conn = tconn
		}
		mu.Lock()
		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		mu.Unlock()
		return conn, nil
	}

	opts := []mail.Option{
		mail.WithPort(in.cfg.Port),
		mail.WithTimeout(timeout),
		mail.WithTLSConfig(tlsCfg),
		mail.WithDialContextFunc(dial),
	}
	switch {
	case in.cfg.TLS == "implicit":
		// The dialer above speaks TLS itself; this only skips STARTTLS.
		opts = append(opts, mail.WithSSL())
	case in.cfg.StartTLS == StartTLSRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case in.cfg.StartTLS == StartTLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if in.cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(in.cfg.HELO))
	}
	if in.cfg.Username != "" {
		auth := map[string]mail.SMTPAuthType{
			"plain": mail.SMTPAuthPlain, "login": mail.SMTPAuthLogin,
			"cram-md5": mail.SMTPAuthCramMD5, "auto": mail.SMTPAuthAutoDiscover,
		}[in.cfg.Auth]
		opts = append(opts, mail.WithSMTPAuth(auth),
			mail.WithUsername(in.cfg.Username), mail.WithPassword(in.cfg.Password))
	}
	c, err = mail.NewClient(in.cfg.Host, opts...)
	if err != nil {
		return nil, release, fmt.Errorf("make smtp client: %w", err)
	}
	return c, release, nil
}

var replyCode = regexp.MustCompile(`\b([45]\d\d)[ -]`)

// classify maps an SMTP failure to an [*integrations.Error]: a 4xx reply
// is retryable, a 5xx reply permanent, a certificate problem permanent,
// and network trouble retryable. go-mail's errors hold no password.
func classify(err error) *integrations.Error {
	code := 0
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se) && se.ErrorCode() != 0:
		code = se.ErrorCode()
	case errors.As(err, &te):
		code = te.Code
	default:
		// AUTH and STARTTLS failures come as text holding the reply.
		if m := replyCode.FindStringSubmatch(err.Error()); m != nil {
			code, _ = strconv.Atoi(m[1])
		}
	}
	if code >= 400 {
		return &integrations.Error{Reason: "smtp " + strconv.Itoa(code), Status: code, Permanent: code >= 500,
			Err: err}
	}

	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	msg := err.Error()
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return integrations.Permanent("tls", err)
	case strings.Contains(msg, "does not support STARTTLS"):
		return integrations.Permanent("starttls unsupported", err)
	case strings.Contains(msg, "does not support SMTP AUTH"),
		strings.Contains(msg, "authentication mechanism is not supported"):
		return integrations.Permanent("auth unsupported", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return integrations.Retryable("timeout", err)
	}
	return integrations.Classify(err)
}
