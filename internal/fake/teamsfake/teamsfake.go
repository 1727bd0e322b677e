package teamsfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// MaxBytes is the payload size Teams accepts, about 28 KB.
const MaxBytes = 28 * 1024

// AdaptiveCardType is the attachment content type of an Adaptive Card.
const AdaptiveCardType = "application/vnd.microsoft.card.adaptive"

// Kind of webhook a card came through.
const (
	Workflow  = "workflow"
	Connector = "connector"
)

// Card is one accepted post.
type Card struct {
	Kind string
	// Title is the card's first text: the first TextBlock of an Adaptive
	// Card, or a MessageCard's title.
	Title string
	// Raw is the body as posted.
	Raw json.RawMessage
}

// Failure is an answer to give instead of handling a post.
type Failure struct {
	// Status is the HTTP status; 200 when zero (a legacy connector error).
	Status int
	// Body is the answer's text.
	Body string
	// RetryAfter, in seconds, is sent as Retry-After when > 0.
	RetryAfter int
}

// ConnectorThrottled is the legacy connector's answer when Teams behind it
// throttles: HTTP 200 with this text.
func ConnectorThrottled() Failure {
	return Failure{Status: http.StatusOK, Body: "Webhook message delivery failed with error: Microsoft Teams " +
		"endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-fake,cv=fake."}
}

// Server is a fake Teams. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu    sync.Mutex
	hooks map[string]string // path → kind
	cards []Card
	fails []Failure
	hang  chan struct{}
}

// New starts a fake Teams with no webhooks; make them with [Server.WorkflowURL]
// and [Server.ConnectorURL].
func New() *Server {
	s := &Server{hooks: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server, releasing hung calls.
func (s *Server) Close() {
	s.Unhang()
	s.srv.Close()
}

// WorkflowURL returns a new Workflows webhook URL.
func (s *Server) WorkflowURL() string {
	id := randHex()
	path := "/workflows/" + id + "/triggers/manual/paths/invoke"
	s.mu.Lock()
	s.hooks[path] = Workflow
	s.mu.Unlock()
	return s.srv.URL + path + "?api-version=1&sig=" + randHex()
}

// ConnectorURL returns a new legacy connector webhook URL.
func (s *Server) ConnectorURL() string {
	path := "/webhookb2/" + randHex() + "/IncomingWebhook/" + randHex()
	s.mu.Lock()
	s.hooks[path] = Connector
	s.mu.Unlock()
	return s.srv.URL + path
}

// Cards returns the cards accepted so far, oldest first.
func (s *Server) Cards() []Card {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Card(nil), s.cards...)
}

// FailNext makes the next n posts answer f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, f)
	}
}

// Hang makes posts wait until the client gives up or [Server.Unhang].
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
}

// Unhang lets posts through again.
func (s *Server) Unhang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hang := s.hang
	kind, known := s.hooks[r.URL.Path]
	var fail *Failure
	if len(s.fails) > 0 {
		fail = &s.fails[0]
		s.fails = s.fails[1:]
	}
	s.mu.Unlock()

	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost {
		write(w, http.StatusMethodNotAllowed, "", 0)
		return
	}
	if fail != nil {
		st := fail.Status
		if st == 0 {
			st = http.StatusOK
		}
		write(w, st, fail.Body, fail.RetryAfter)
		return
	}
	if !known {
		write(w, http.StatusNotFound, `{"error":{"code":"TriggerNotFound","message":"no such webhook"}}`, 0)
		return
	}
	if kind == Workflow && r.URL.Query().Get("sig") == "" {
		write(w, http.StatusUnauthorized, `{"error":{"code":"DirectApiAuthorizationRequired",`+
			`"message":"the request must be signed"}}`, 0)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, 4*MaxBytes))
	if err != nil {
		return
	}
	if kind == Workflow {
		s.workflow(w, r, body)
		return
	}
	s.connector(w, body)
}

func (s *Server) workflow(w http.ResponseWriter, r *http.Request, body []byte) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		write(w, http.StatusUnsupportedMediaType, errJSON("UnsupportedMediaType", "want application/json"), 0)
		return
	}
	if len(body) > MaxBytes {
		write(w, http.StatusRequestEntityTooLarge, errJSON("MessageSizeTooBig",
			fmt.Sprintf("payload of %d bytes is over %d", len(body), MaxBytes)), 0)
		return
	}
	title, err := checkAdaptive(body)
	if err != nil {
		write(w, http.StatusBadRequest, errJSON("InvalidRequestContent", err.Error()), 0)
		return
	}
	s.keep(Card{Kind: Workflow, Title: title, Raw: json.RawMessage(body)})
	write(w, http.StatusAccepted, "", 0)
}

func (s *Server) connector(w http.ResponseWriter, body []byte) {
	if len(body) > MaxBytes {
		// The connector accepts the call and reports Teams' refusal in the body.
		write(w, http.StatusOK, "Webhook message delivery failed with error: Microsoft Teams endpoint "+
			"returned HTTP error 413 with ContextId tcid=0,server=msgapi-fake,cv=fake.", 0)
		return
	}
	var card struct {
		Type    string `json:"@type"`
		Title   string `json:"title"`
		Summary string `json:"summary"`
		Text    string `json:"text"`
	}
	if err := json.Unmarshal(body, &card); err != nil {
		write(w, http.StatusBadRequest, "Invalid webhook request - Empty Payload", 0)
		return
	}
	if card.Summary == "" && card.Text == "" {
		write(w, http.StatusBadRequest, "Summary or Text is required.", 0)
		return
	}
	if card.Type != "" && card.Type != "MessageCard" {
		write(w, http.StatusBadRequest, "Invalid webhook request - unknown card type", 0)
		return
	}
	s.keep(Card{Kind: Connector, Title: card.Title, Raw: json.RawMessage(body)})
	write(w, http.StatusOK, "1", 0)
}

// checkAdaptive validates a Workflows message and returns its title.
func checkAdaptive(body []byte) (string, error) {
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string            `json:"type"`
				Version string            `json:"version"`
				Body    []json.RawMessage `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", fmt.Errorf("body is not JSON: %v", err)
	}
	if msg.Type != "message" {
		return "", fmt.Errorf("type is %q, want message", msg.Type)
	}
	if len(msg.Attachments) == 0 {
		return "", fmt.Errorf("no attachments")
	}
	title := ""
	for i, a := range msg.Attachments {
		switch {
		case a.ContentType != AdaptiveCardType:
			return "", fmt.Errorf("attachments[%d].contentType is %q, want %s", i, a.ContentType, AdaptiveCardType)
		case a.Content.Type != "AdaptiveCard":
			return "", fmt.Errorf("attachments[%d].content.type is %q, want AdaptiveCard", i, a.Content.Type)
		case a.Content.Version == "":
			return "", fmt.Errorf("attachments[%d].content.version is missing", i)
		case len(a.Content.Body) == 0:
			return "", fmt.Errorf("attachments[%d].content.body is empty", i)
		}
		for _, el := range a.Content.Body {
			var tb struct{ Type, Text string }
			if json.Unmarshal(el, &tb) != nil || tb.Type == "" {
				return "", fmt.Errorf("attachments[%d].content.body holds an element without a type", i)
			}
			if title == "" && tb.Type == "TextBlock" {
				title = tb.Text
			}
		}
	}
	return title, nil
}

func (s *Server) keep(c Card) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cards = append(s.cards, c)
}

func errJSON(code, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return string(b)
}

func write(w http.ResponseWriter, status int, body string, retryAfter int) {
	if strings.HasPrefix(body, "{") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func randHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
