// Package confluencefake is a stateful stand-in for the Confluence REST API
// (version 1 content endpoints), for tests of tend's confluence integration
// and end-to-end tests. It keeps pages with their versions in memory and
// enforces the rules Confluence enforces on what tend sends: authentication,
// a body in well-formed storage format (XHTML), titles unique within a
// space, known spaces and parents, and an update carrying the current
// version plus one (409 otherwise). Failures, delays and concurrent edits
// can be injected. A Server is safe for concurrent use.
package confluencefake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/tend-dev/tend/internal/fake/record"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets what the fake accepts.
type Config struct {
	// Email and APIToken are accepted as HTTP basic auth (Cloud).
	Email    string // default "bot@example.com"
	APIToken string // default "confluence-api-token"
	// PAT is accepted as a bearer token (Server/DC).
	PAT string // default "confluence-pat"
	// Spaces are the space keys that exist. Default: OPS.
	Spaces []string
	// Prefix is the context path the API lives under. Default "/wiki".
	Prefix string
	// NoV1 answers the version 1 content endpoints with 410 Gone, as newer
	// Confluence Cloud sites do; the version 2 pages endpoints always work.
	NoV1 bool
}

// Page is one page as the fake keeps it.
type Page struct {
	ID      string
	Space   string
	Title   string
	Parent  string
	Version int
	Body    string
	Updated time.Time
}

// Fault is an injected answer.
type Fault struct {
	Status int
	Header http.Header
	// Body is sent as is; empty gets Confluence's error shape.
	Body string
}

// Server is the fake Confluence.
type Server struct {
	*httptest.Server
	cfg Config

	mu     sync.Mutex
	pages  []*Page
	nextID int
	faults []Fault
	delay  time.Duration
	edits  []string
	record.Log
}

// New starts a fake Confluence on 127.0.0.1. Its API lives under
// URL+Config.Prefix. Call Close when done.
func New(cfg Config) *Server {
	if cfg.Email == "" {
		cfg.Email = "bot@example.com"
	}
	if cfg.APIToken == "" {
		cfg.APIToken = "confluence-api-token"
	}
	if cfg.PAT == "" {
		cfg.PAT = "confluence-pat"
	}
	if len(cfg.Spaces) == 0 {
		cfg.Spaces = []string{"OPS"}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/wiki"
	}
	s := &Server{cfg: cfg, nextID: 65536}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Config returns what the server accepts.
func (s *Server) Config() Config { return s.cfg }

// BaseURL returns the URL the API lives under, e.g. http://127.0.0.1:1234/wiki.
func (s *Server) BaseURL() string { return s.URL + s.cfg.Prefix }

// Fail queues answers: the next len(f) requests get them.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// SetDelay makes every answer wait d, or until the client gives up.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// EditBeforeUpdates makes the next len(texts) page updates race a person:
// just before each, the page gets texts[i] appended and its version bumped,
// so the update carries a stale version and is answered 409.
func (s *Server) EditBeforeUpdates(texts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.edits = append(s.edits, texts...)
}

// AddPage creates a page directly, e.g. a parent, and returns its id.
func (s *Server) AddPage(space, title, body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(&Page{Space: space, Title: title, Body: body}).ID
}

// Pages returns copies of every page, in creation order.
func (s *Server) Pages() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Page, 0, len(s.pages))
	for _, p := range s.pages {
		out = append(out, *p)
	}
	return out
}

// Page returns a copy of the page with id.
func (s *Server) Page(id string) (Page, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.byID(id); p != nil {
		return *p, true
	}
	return Page{}, false
}

// PageByTitle returns a copy of the page titled title in space.
func (s *Server) PageByTitle(space, title string) (Page, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.byTitle(space, title); p != nil {
		return *p, true
	}
	return Page{}, false
}

// Request is one request the server received, authenticated or not.
type Request = record.Request

func (s *Server) add(p *Page) *Page {
	s.nextID++
	p.ID = strconv.Itoa(s.nextID)
	p.Version = 1
	p.Updated = time.Now()
	s.pages = append(s.pages, p)
	return p
}

func (s *Server) byID(id string) *Page {
	for _, p := range s.pages {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (s *Server) byTitle(space, title string) *Page {
	for _, p := range s.pages {
		if p.Space == space && p.Title == title {
			return p
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	s.mu.Lock()
	s.Receive(r.Method, r.URL.Path, string(raw))
	delay := s.delay
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if !s.authorized(r) {
		writeErr(w, http.StatusUnauthorized, "Basic or bearer authentication required")
		return
	}
	if fault != nil {
		for k, vs := range fault.Header {
			w.Header()[k] = vs
		}
		if fault.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			_, _ = w.Write([]byte(fault.Body))
			return
		}
		writeErr(w, fault.Status, http.StatusText(fault.Status))
		return
	}

	if rest, ok := strings.CutPrefix(r.URL.Path, s.cfg.Prefix+"/api/v2/"); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.serveV2(w, r, rest)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.cfg.Prefix+"/rest/api/content")
	if ok && s.cfg.NoV1 {
		writeErr(w, http.StatusGone, "This API has been removed. Use the v2 API.")
		return
	}
	if !ok {
		writeErr(w, http.StatusNotFound, "no such resource")
		return
	}
	id := strings.Trim(path, "/")

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case id == "" && r.Method == http.MethodGet:
		s.Count("GET /content")
		s.find(w, r)
	case id == "" && r.Method == http.MethodPost:
		s.Count("POST /content")
		s.create(w, r)
	case !strings.Contains(id, "/") && r.Method == http.MethodGet:
		s.Count("GET /content/{id}")
		p := s.byID(id)
		if p == nil {
			writeErr(w, http.StatusNotFound, "No content found with id: ContentId{id="+id+"}")
			return
		}
		writeJSON(w, http.StatusOK, s.pageJSON(p, r.URL.Query().Get("expand")))
	case !strings.Contains(id, "/") && r.Method == http.MethodPut:
		s.Count("PUT /content/{id}")
		s.update(w, r, id)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok == s.cfg.PAT
	}
	if enc, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(enc)
		return err == nil && string(raw) == s.cfg.Email+":"+s.cfg.APIToken
	}
	return false
}

type pageReq struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title"`
	Space struct {
		Key string `json:"key"`
	} `json:"space"`
	Ancestors []struct {
		ID string `json:"id"`
	} `json:"ancestors"`
	Version struct {
		Number int `json:"number"`
	} `json:"version"`
	Body struct {
		Storage struct {
			Value          string `json:"value"`
			Representation string `json:"representation"`
		} `json:"storage"`
	} `json:"body"`
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) (pageReq, bool) {
	var req pageReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "Could not parse the request body")
		return req, false
	}
	if req.Type != "page" {
		writeErr(w, http.StatusBadRequest, "type must be page")
		return req, false
	}
	if msg := checkPage(req.Title, req.Body.Storage.Representation, req.Body.Storage.Value); msg != "" {
		writeErr(w, http.StatusBadRequest, msg)
		return req, false
	}
	return req, true
}

// checkPage applies Confluence's rules on a page's title and body and
// returns what is wrong, or "".
func checkPage(title, representation, body string) string {
	if strings.TrimSpace(title) == "" || len([]rune(title)) > 255 {
		return "Title must be 1 to 255 characters"
	}
	if representation != "storage" {
		return "Unsupported representation: " + representation
	}
	if err := wellFormed(body); err != nil {
		return "Error parsing xhtml: " + err.Error()
	}
	return ""
}

// wellFormed checks that body parses as XHTML: every tag closed and every
// & and < in text escaped. Confluence rejects a storage body otherwise.
func wellFormed(body string) error {
	d := xml.NewDecoder(strings.NewReader("<root>" + body + "</root>"))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decode(w, r)
	if !ok {
		return
	}
	if !contains(s.cfg.Spaces, req.Space.Key) {
		writeErr(w, http.StatusNotFound, "No space with key : "+req.Space.Key)
		return
	}
	if s.byTitle(req.Space.Key, req.Title) != nil {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf(
			"A page with this title already exists: A page already exists with the same TITLE in this space"))
		return
	}
	p := &Page{Space: req.Space.Key, Title: req.Title, Body: req.Body.Storage.Value}
	if len(req.Ancestors) > 0 {
		parent := s.byID(req.Ancestors[len(req.Ancestors)-1].ID)
		if parent == nil || parent.Space != req.Space.Key {
			writeErr(w, http.StatusBadRequest, "The parent ID specified does not exist")
			return
		}
		p.Parent = parent.ID
	}
	writeJSON(w, http.StatusOK, s.pageJSON(s.add(p), "version"))
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, id string) {
	p := s.byID(id)
	if p == nil {
		writeErr(w, http.StatusNotFound, "No content found with id: ContentId{id="+id+"}")
		return
	}
	req, ok := s.decode(w, r)
	if !ok {
		return
	}
	if len(s.edits) > 0 {
		p.Body += s.edits[0]
		p.Version++
		s.edits = s.edits[1:]
	}
	if req.Version.Number != p.Version+1 {
		writeErr(w, http.StatusConflict, fmt.Sprintf(
			"Version must be incremented on update. Current version is: %d", p.Version))
		return
	}
	if other := s.byTitle(p.Space, req.Title); other != nil && other != p {
		writeErr(w, http.StatusBadRequest, "A page with this title already exists")
		return
	}
	p.Title = req.Title
	p.Body = req.Body.Storage.Value
	p.Version = req.Version.Number
	p.Updated = time.Now()
	writeJSON(w, http.StatusOK, s.pageJSON(p, "version"))
}

// find serves GET /rest/api/content?title=&spaceKey=, the lookup by title.
func (s *Server) find(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	space, title := q.Get("spaceKey"), q.Get("title")
	if space != "" && !contains(s.cfg.Spaces, space) {
		writeErr(w, http.StatusNotFound, "No space with key : "+space)
		return
	}
	results := []map[string]any{}
	for _, p := range s.pages {
		if (space == "" || p.Space == space) && (title == "" || p.Title == title) {
			results = append(results, s.pageJSON(p, q.Get("expand")))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"results": results, "start": 0, "limit": 25, "size": len(results),
	})
}

func (s *Server) pageJSON(p *Page, expand string) map[string]any {
	m := map[string]any{
		"id": p.ID, "type": "page", "status": "current", "title": p.Title,
		"space":  map[string]string{"key": p.Space},
		"_links": map[string]string{"webui": "/spaces/" + p.Space + "/pages/" + p.ID},
	}
	if strings.Contains(expand, "version") {
		m["version"] = map[string]any{"number": p.Version}
	}
	if strings.Contains(expand, "body.storage") {
		m["body"] = map[string]any{"storage": map[string]string{"value": p.Body, "representation": "storage"}}
	}
	return m
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "data": map[string]any{}, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
