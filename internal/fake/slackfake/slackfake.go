package slackfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Token is the bot token [New] accepts.
const Token = "xoxb-1111-2222-faketoken"

// Channel is the channel [New] creates, by ID; it is also known as #alerts.
const Channel = "C0ALERTS"

// Limits Slack documents for Block Kit messages.
const (
	MaxBlocks      = 50
	MaxSectionText = 3000
	MaxHeaderText  = 150
	MaxFieldText   = 2000
	MaxFields      = 10
	MaxText        = 40000
)

// Message is one posted message. Replies hold its thread.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	// Updates counts chat.update calls on this message.
	Updates int
	Replies []Message
}

// Request is one call as received, with the token removed.
type Request struct {
	Method string
	// Form holds the parameters, whether sent as a form or as JSON.
	Form url.Values
	// TokenInBody is true when the token came as a parameter rather than
	// in the Authorization header.
	TokenInBody bool
}

// Failure is an answer to give instead of handling a call.
type Failure struct {
	// Status is the HTTP status; 200 when zero.
	Status int
	// Error is the ok:false error code, e.g. "ratelimited"; for webhooks the
	// plain text body.
	Error string
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
}

// Server is a fake Slack. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	tokens   map[string]bool
	channels map[string]string // name → ID
	messages map[string][]*Message
	webhooks map[string]string // path → channel ID
	fails    []Failure
	requests []Request
	seq      int
	hang     chan struct{}
}

// New starts a fake Slack knowing [Token] and [Channel] (#alerts).
func New() *Server {
	s := &Server{
		tokens:   map[string]bool{Token: true},
		channels: map[string]string{"alerts": Channel},
		messages: map[string][]*Message{Channel: nil},
		webhooks: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.api(s.postMessage))
	mux.HandleFunc("POST /api/chat.update", s.api(s.update))
	mux.HandleFunc("POST /services/", s.webhook)
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base, ending in a slash, as slack.OptionAPIURL wants.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close stops the server, releasing any hung calls.
func (s *Server) Close() {
	s.mu.Lock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
	s.mu.Unlock()
	s.srv.Close()
}

// AddChannel makes a channel known by ID and name (without #).
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[name] = id
	if _, ok := s.messages[id]; !ok {
		s.messages[id] = nil
	}
}

// WebhookURL returns a new incoming webhook URL posting to channel (an ID).
func (s *Server) WebhookURL(channel string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	path := "/services/T0FAKE/B0FAKE/" + hex.EncodeToString(b[:])
	s.mu.Lock()
	s.webhooks[path] = channel
	s.mu.Unlock()
	return s.srv.URL + path
}

// FailNext makes the next n calls answer f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, f)
	}
}

// RateLimit makes the next n calls answer 429 ratelimited with Retry-After.
func (s *Server) RateLimit(n, retryAfter int) {
	s.FailNext(n, Failure{Status: http.StatusTooManyRequests, Error: "ratelimited", RetryAfter: retryAfter})
}

// Hang makes every call wait until the client gives up or the server
// closes; Unhang ends it.
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
}

// Unhang lets calls through again.
func (s *Server) Unhang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
}

// Messages returns copies of the top-level messages in channel, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channel]))
	for _, m := range s.messages[channel] {
		c := *m
		c.Replies = append([]Message(nil), m.Replies...)
		out = append(out, c)
	}
	return out
}

// Requests returns the calls received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// takeFailure pops the next injected failure, if any.
func (s *Server) takeFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return Failure{}, false
	}
	f := s.fails[0]
	s.fails = s.fails[1:]
	return f, true
}

func (s *Server) wait(r *http.Request) bool {
	s.mu.Lock()
	h := s.hang
	s.mu.Unlock()
	if h == nil {
		return true
	}
	select {
	case <-h:
		return true
	case <-r.Context().Done():
		return false
	}
}

type answer map[string]any

// api wraps a Web API method: token, parameters, injected failures.
func (s *Server) api(method func(url.Values) (answer, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.wait(r) {
			return
		}
		form, err := readParams(r)
		if err != nil {
			writeJSON(w, http.StatusOK, answer{"ok": false, "error": "invalid_form_data"}, 0)
			return
		}
		token, inBody := bearer(r), false
		if token == "" && form.Get("token") != "" {
			token, inBody = form.Get("token"), true
		}
		form.Del("token")

		name := strings.TrimPrefix(r.URL.Path, "/api/")
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: name, Form: form, TokenInBody: inBody})
		known := s.tokens[token]
		s.mu.Unlock()

		if f, ok := s.takeFailure(); ok {
			status := f.Status
			if status == 0 {
				status = http.StatusOK
			}
			writeJSON(w, status, answer{"ok": false, "error": f.Error}, f.RetryAfter)
			return
		}
		switch {
		case token == "":
			writeJSON(w, http.StatusOK, answer{"ok": false, "error": "not_authed"}, 0)
			return
		case !known:
			writeJSON(w, http.StatusOK, answer{"ok": false, "error": "invalid_auth"}, 0)
			return
		}
		a, code := method(form)
		if code != "" {
			writeJSON(w, http.StatusOK, answer{"ok": false, "error": code}, 0)
			return
		}
		a["ok"] = true
		writeJSON(w, http.StatusOK, a, 0)
	}
}

func (s *Server) postMessage(form url.Values) (answer, string) {
	if code := checkContent(form.Get("text"), form.Get("blocks")); code != "" {
		return nil, code
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channelID(form.Get("channel"))
	if !ok {
		return nil, "channel_not_found"
	}
	s.seq++
	m := &Message{Channel: ch, TS: fmt.Sprintf("1767225600.%06d", s.seq), Text: form.Get("text"),
		Blocks: json.RawMessage(form.Get("blocks"))}

	// A reply to a ts that is no parent lands in the channel, as Slack does
	// when the parent was deleted.
	if parent := s.find(ch, form.Get("thread_ts")); parent != nil {
		m.ThreadTS = parent.TS
		parent.Replies = append(parent.Replies, *m)
	} else {
		s.messages[ch] = append(s.messages[ch], m)
	}
	return answer{"channel": ch, "ts": m.TS, "message": answer{"text": m.Text, "ts": m.TS,
		"thread_ts": m.ThreadTS}}, ""
}

func (s *Server) update(form url.Values) (answer, string) {
	if code := checkContent(form.Get("text"), form.Get("blocks")); code != "" {
		return nil, code
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channelID(form.Get("channel"))
	if !ok {
		return nil, "channel_not_found"
	}
	m := s.find(ch, form.Get("ts"))
	if m == nil || m.TS != form.Get("ts") {
		return nil, "message_not_found"
	}
	m.Text = form.Get("text")
	m.Blocks = json.RawMessage(form.Get("blocks"))
	m.Updates++
	return answer{"channel": ch, "ts": m.TS, "text": m.Text}, ""
}

// channelID resolves an ID, a name or a #name. Callers hold s.mu.
func (s *Server) channelID(c string) (string, bool) {
	if _, ok := s.messages[c]; ok {
		return c, true
	}
	id, ok := s.channels[strings.TrimPrefix(c, "#")]
	return id, ok
}

// find returns the top-level message with ts in channel. Callers hold s.mu.
func (s *Server) find(ch, ts string) *Message {
	if ts == "" {
		return nil
	}
	for _, m := range s.messages[ch] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// webhook answers incoming webhook posts in plain text, as Slack does.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if !s.wait(r) {
		return
	}
	s.mu.Lock()
	ch, ok := s.webhooks[r.URL.Path]
	s.mu.Unlock()
	if f, failed := s.takeFailure(); failed {
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		writeText(w, status, f.Error, f.RetryAfter)
		return
	}
	if !ok {
		writeText(w, http.StatusNotFound, "no_service", 0)
		return
	}

	var msg struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &msg) != nil {
		writeText(w, http.StatusBadRequest, "invalid_payload", 0)
		return
	}
	blocks := ""
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		blocks = string(msg.Blocks)
	}
	if code := checkContent(msg.Text, blocks); code != "" {
		writeText(w, http.StatusBadRequest, code, 0)
		return
	}

	s.mu.Lock()
	s.seq++
	m := &Message{Channel: ch, TS: fmt.Sprintf("1767225600.%06d", s.seq), Text: msg.Text,
		Blocks: json.RawMessage(blocks)}
	s.messages[ch] = append(s.messages[ch], m)
	s.requests = append(s.requests, Request{Method: "webhook", Form: url.Values{"text": {msg.Text},
		"blocks": {blocks}}})
	s.mu.Unlock()
	writeText(w, http.StatusOK, "ok", 0)
}

// checkContent applies Slack's message rules, returning an error code.
func checkContent(text, blocks string) string {
	if text == "" && blocks == "" {
		return "no_text"
	}
	if utf8.RuneCountInString(text) > MaxText {
		return "msg_too_long"
	}
	if blocks == "" {
		return ""
	}
	var bs []struct {
		Type   string                  `json:"type"`
		Text   *struct{ Text string }  `json:"text"`
		Fields []struct{ Text string } `json:"fields"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		return "invalid_blocks_format"
	}
	if len(bs) > MaxBlocks || len(bs) == 0 {
		return "invalid_blocks"
	}
	for _, b := range bs {
		switch b.Type {
		case "header":
			if b.Text == nil || utf8.RuneCountInString(b.Text.Text) > MaxHeaderText {
				return "invalid_blocks"
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return "invalid_blocks"
			}
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > MaxSectionText {
				return "invalid_blocks"
			}
			if len(b.Fields) > MaxFields {
				return "invalid_blocks"
			}
			for _, f := range b.Fields {
				if utf8.RuneCountInString(f.Text) > MaxFieldText {
					return "invalid_blocks"
				}
			}
		case "context", "actions", "divider", "rich_text", "image", "markdown":
		default:
			return "invalid_blocks"
		}
	}
	return ""
}

func readParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if ct != "application/json" {
		return url.ParseQuery(string(body))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			form.Set(k, v)
		default:
			b, _ := json.Marshal(v)
			form.Set(k, string(b))
		}
	}
	return form, nil
}

func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return tok
}

func writeJSON(w http.ResponseWriter, status int, a answer, retryAfter int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func writeText(w http.ResponseWriter, status int, body string, retryAfter int) {
	w.Header().Set("Content-Type", "text/html")
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
