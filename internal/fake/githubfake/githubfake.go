// Package githubfake is a stateful stand-in for the GitHub REST API (and a
// GitHub Enterprise server, under /api/v3), for tests of tend's github
// integration and end-to-end tests. It keeps issues, pull requests,
// comments, labels and commit statuses in memory and enforces the rules
// GitHub enforces on what tend sends: a token, a body of at most 65,536
// characters (422 with GitHub's validation error shape), a title of at most
// 256, valid commit status states. Primary and secondary rate limits and
// other failures can be injected. A Server is safe for concurrent use.
package githubfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/tend-dev/tend/internal/fake/record"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits GitHub puts on fields, in characters.
const (
	MaxBody              = 65536
	MaxTitle             = 256
	MaxStatusDescription = 140
)

// Config sets what the fake accepts.
type Config struct {
	// Token is the accepted token, sent as "Bearer" or "token". Default
	// "gh-token".
	Token string
	// Repos are the repositories that exist, "owner/name". Default
	// tend-dev/app.
	Repos []string
}

// Comment is one comment on an issue or pull request.
type Comment struct {
	ID   int64
	Body string
}

// Issue is an issue, or a pull request when Pull is set.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string // open or closed
	StateReason string
	Labels      []string
	Assignees   []string
	Pull        bool
	Created     time.Time
	Updated     time.Time
	Closed      *time.Time
	Comments    []Comment
	// Reopened counts how often the issue went from closed to open.
	Reopened int
}

// Status is one commit status.
type Status struct {
	SHA, State, Context, Description, TargetURL string
}

// Fault is an injected answer.
type Fault struct {
	Status int
	Header http.Header
	// Body is sent as is; empty gets {"message": status text}.
	Body string
}

// SecondaryLimit returns the answer GitHub gives when a secondary rate
// limit is hit: 403 with Retry-After.
func SecondaryLimit(retryAfter int) Fault {
	return Fault{
		Status: http.StatusForbidden,
		Header: http.Header{"Retry-After": {strconv.Itoa(retryAfter)}},
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before ` +
			`you try again.","documentation_url":"https://docs.github.com/rest/overview/` +
			`rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
	}
}

// PrimaryLimit returns the answer GitHub gives when the hourly quota is
// spent: 403 with x-ratelimit-remaining 0 and the reset time.
func PrimaryLimit(reset time.Time) Fault {
	return Fault{
		Status: http.StatusForbidden,
		Header: http.Header{
			"X-Ratelimit-Limit":     {"5000"},
			"X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset":     {strconv.FormatInt(reset.Unix(), 10)},
		},
		Body: `{"message":"API rate limit exceeded for installation.",` +
			`"documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`,
	}
}

type repo struct {
	issues   []*Issue
	statuses []Status
}

// Server is the fake GitHub.
type Server struct {
	*httptest.Server
	cfg Config

	mu      sync.Mutex
	repos   map[string]*repo
	nextCmt int64
	faults  []Fault
	delay   time.Duration
	record.Log
}

// New starts a fake GitHub on 127.0.0.1. Call Close when done.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = "gh-token"
	}
	if len(cfg.Repos) == 0 {
		cfg.Repos = []string{"tend-dev/app"}
	}
	s := &Server{cfg: cfg, repos: map[string]*repo{}}
	for _, r := range cfg.Repos {
		s.repos[r] = &repo{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Config returns what the server accepts.
func (s *Server) Config() Config { return s.cfg }

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

// AddPull opens a pull request in repo and returns its number.
func (s *Server) AddPull(repoName, title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		r = &repo{}
		s.repos[repoName] = r
	}
	now := time.Now()
	is := &Issue{Number: len(r.issues) + 1, Title: title, State: "open", Pull: true, Created: now, Updated: now}
	r.issues = append(r.issues, is)
	return is.Number
}

// Issues returns copies of the issues and pull requests of repo.
func (s *Server) Issues(repoName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		return nil
	}
	out := make([]Issue, 0, len(r.issues))
	for _, is := range r.issues {
		out = append(out, copyIssue(is))
	}
	return out
}

// Issue returns a copy of issue n of repo.
func (s *Server) Issue(repoName string, n int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repoName]; r != nil && n >= 1 && n <= len(r.issues) {
		return copyIssue(r.issues[n-1]), true
	}
	return Issue{}, false
}

// SetClosed closes issue n as if someone had closed it at t.
func (s *Server) SetClosed(repoName string, n int, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil || n < 1 || n > len(r.issues) {
		return false
	}
	r.issues[n-1].State = "closed"
	r.issues[n-1].Closed = &t
	r.issues[n-1].Updated = t
	return true
}

// Statuses returns the commit statuses set on sha in repo, oldest first.
func (s *Server) Statuses(repoName, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	if r := s.repos[repoName]; r != nil {
		for _, st := range r.statuses {
			if st.SHA == sha {
				out = append(out, st)
			}
		}
	}
	return out
}

// Request is one request the server received, authenticated or not.
type Request = record.Request

func copyIssue(is *Issue) Issue {
	c := *is
	c.Labels = append([]string(nil), is.Labels...)
	c.Assignees = append([]string(nil), is.Assignees...)
	c.Comments = append([]Comment(nil), is.Comments...)
	return c
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
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	if !ok || tok != s.cfg.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
		})
		return
	}
	if fault != nil {
		for k, vs := range fault.Header {
			w.Header()[k] = vs
		}
		body := fault.Body
		if body == "" {
			body = fmt.Sprintf(`{"message":%q}`, http.StatusText(fault.Status))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(fault.Status)
		_, _ = w.Write([]byte(body))
		return
	}
	w.Header().Set("X-Ratelimit-Limit", "5000")
	w.Header().Set("X-Ratelimit-Remaining", "4999")
	w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))

	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	p := strings.Split(strings.Trim(path, "/"), "/")

	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "/rate_limit" {
		s.Count("GET /rate_limit")
		writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{}})
		return
	}
	if len(p) == 2 && p[0] == "search" && p[1] == "issues" {
		s.Count("GET /search/issues")
		s.search(w, r)
		return
	}
	if len(p) < 3 || p[0] != "repos" {
		notFound(w)
		return
	}
	name := p[1] + "/" + p[2]
	rp := s.repos[name]
	if rp == nil {
		notFound(w)
		return
	}
	rest := p[3:]
	key := r.Method + " " + pattern(rest)
	s.Count(key)
	switch key {
	case "GET ":
		writeJSON(w, http.StatusOK, map[string]any{"full_name": name, "id": 1})
	case "POST issues":
		s.create(w, r, name, rp)
	case "GET issues":
		s.list(w, r, name, rp)
	case "GET issues/{n}", "PATCH issues/{n}", "POST issues/{n}/comments", "DELETE issues/{n}/labels/{name}":
		n, _ := strconv.Atoi(rest[1])
		if n < 1 || n > len(rp.issues) {
			notFound(w)
			return
		}
		is := rp.issues[n-1]
		switch key {
		case "GET issues/{n}":
			writeJSON(w, http.StatusOK, s.issueJSON(name, is))
		case "PATCH issues/{n}":
			s.edit(w, r, name, is)
		case "POST issues/{n}/comments":
			s.comment(w, r, is)
		default:
			s.unlabel(w, name, is, rest[3])
		}
	case "POST statuses/{sha}":
		s.status(w, r, rp, rest[1])
	default:
		notFound(w)
	}
}

func pattern(rest []string) string {
	out := make([]string, len(rest))
	for i, seg := range rest {
		switch {
		case i == 1 && rest[0] == "issues":
			out[i] = "{n}"
		case i == 1 && rest[0] == "statuses":
			out[i] = "{sha}"
		case i == 3 && rest[2] == "labels":
			out[i] = "{name}"
		default:
			out[i] = seg
		}
	}
	return strings.Join(out, "/")
}

type issueReq struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
	Assignees   *[]string `json:"assignees"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, name string, rp *repo) {
	var req issueReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	if req.Title == nil || strings.TrimSpace(*req.Title) == "" {
		invalid(w, "title", "missing_field", "title wasn't supplied")
		return
	}
	if msg := checkText(req); msg != "" {
		invalid(w, strings.Fields(msg)[0], "custom", msg)
		return
	}
	now := time.Now()
	is := &Issue{Number: len(rp.issues) + 1, Title: *req.Title, State: "open", Created: now, Updated: now}
	if req.Body != nil {
		is.Body = *req.Body
	}
	if req.Labels != nil {
		is.Labels = append(is.Labels, *req.Labels...)
	}
	if req.Assignees != nil {
		is.Assignees = append(is.Assignees, *req.Assignees...)
	}
	rp.issues = append(rp.issues, is)
	writeJSON(w, http.StatusCreated, s.issueJSON(name, is))
}

func checkText(req issueReq) string {
	if req.Title != nil && utf8.RuneCountInString(*req.Title) > MaxTitle {
		return "title is too long (maximum is 256 characters)"
	}
	if req.Body != nil && utf8.RuneCountInString(*req.Body) > MaxBody {
		return "body is too long (maximum is 65536 characters)"
	}
	return ""
}

func (s *Server) edit(w http.ResponseWriter, r *http.Request, name string, is *Issue) {
	var req issueReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	if msg := checkText(req); msg != "" {
		invalid(w, strings.Fields(msg)[0], "custom", msg)
		return
	}
	if req.State != nil {
		switch *req.State {
		case "open":
			if is.State == "closed" {
				is.Reopened++
			}
			is.State, is.Closed, is.StateReason = "open", nil, "reopened"
		case "closed":
			if is.State != "closed" {
				now := time.Now()
				is.Closed = &now
			}
			is.State, is.StateReason = "closed", "completed"
		default:
			invalid(w, "state", "invalid", "state is not included in the list")
			return
		}
	}
	if req.StateReason != nil && is.State == "closed" {
		is.StateReason = *req.StateReason
	}
	if req.Title != nil {
		is.Title = *req.Title
	}
	if req.Body != nil {
		is.Body = *req.Body
	}
	if req.Labels != nil {
		is.Labels = append([]string(nil), *req.Labels...)
	}
	is.Updated = time.Now()
	writeJSON(w, http.StatusOK, s.issueJSON(name, is))
}

func (s *Server) comment(w http.ResponseWriter, r *http.Request, is *Issue) {
	var req struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	switch {
	case req.Body == nil || *req.Body == "":
		invalid(w, "body", "missing_field", "body wasn't supplied")
		return
	case utf8.RuneCountInString(*req.Body) > MaxBody:
		invalid(w, "body", "custom", "body is too long (maximum is 65536 characters)")
		return
	}
	s.nextCmt++
	c := Comment{ID: s.nextCmt, Body: *req.Body}
	is.Comments = append(is.Comments, c)
	is.Updated = time.Now()
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "body": c.Body})
}

func (s *Server) unlabel(w http.ResponseWriter, name string, is *Issue, label string) {
	for i, l := range is.Labels {
		if l == label {
			is.Labels = append(is.Labels[:i], is.Labels[i+1:]...)
			writeJSON(w, http.StatusOK, labelsJSON(is.Labels))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Label does not exist"})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, rp *repo, sha string) {
	var req struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	switch {
	case req.State != "error" && req.State != "failure" && req.State != "pending" && req.State != "success":
		invalid(w, "state", "invalid", "state is not included in the list")
		return
	case utf8.RuneCountInString(req.Description) > MaxStatusDescription:
		invalid(w, "description", "custom", "description is too long (maximum is 140 characters)")
		return
	case len(sha) < 7:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "No commit found for SHA: " + sha})
		return
	}
	if req.Context == "" {
		req.Context = "default"
	}
	st := Status{SHA: sha, State: req.State, Context: req.Context, Description: req.Description, TargetURL: req.TargetURL}
	rp.statuses = append(rp.statuses, st)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": len(rp.statuses), "state": st.State, "context": st.Context, "description": st.Description,
	})
}

// list serves GET /repos/{o}/{r}/issues with the state, labels, sort
// (created or updated), direction and per_page parameters. Pull requests are included, marked by
// a pull_request key, as on GitHub.
func (s *Server) list(w http.ResponseWriter, r *http.Request, name string, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var labels []string
	if l := q.Get("labels"); l != "" {
		labels = strings.Split(l, ",")
	}
	var hits []*Issue
	for _, is := range rp.issues {
		if (state == "all" || state == is.State) && hasAll(is.Labels, labels) {
			hits = append(hits, is)
		}
	}
	// GitHub lists newest first unless asked otherwise.
	asc := q.Get("direction") == "asc"
	byUpdate := q.Get("sort") == "updated"
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if !asc {
			a, b = b, a
		}
		if byUpdate && !a.Updated.Equal(b.Updated) {
			return a.Updated.Before(b.Updated)
		}
		return a.Number < b.Number
	})
	per := 30
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 && n <= 100 {
		per = n
	}
	if len(hits) > per {
		hits = hits[:per]
	}
	out := make([]map[string]any, 0, len(hits))
	for _, is := range hits {
		out = append(out, s.issueJSON(name, is))
	}
	writeJSON(w, http.StatusOK, out)
}

// search serves GET /search/issues for queries made of repo:, label:,
// is:issue, is:pr, is:open, is:closed and in:body "text" qualifiers.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var repoName, body string
	var labels []string
	kind, state := "", ""
	q := r.URL.Query().Get("q")
	for q = strings.TrimSpace(q); q != ""; q = strings.TrimSpace(q) {
		var tok string
		if strings.HasPrefix(q, `"`) {
			end := strings.Index(q[1:], `"`)
			if end < 0 {
				invalid(w, "q", "invalid", "unbalanced quotes")
				return
			}
			tok, q = q[:end+2], q[end+2:]
		} else {
			tok, q, _ = strings.Cut(q, " ")
		}
		switch {
		case strings.HasPrefix(tok, "repo:"):
			repoName = tok[5:]
		case strings.HasPrefix(tok, "label:"):
			labels = append(labels, strings.Trim(tok[6:], `"`))
		case tok == "is:issue", tok == "is:pr":
			kind = tok[3:]
		case tok == "is:open", tok == "is:closed":
			state = tok[3:]
		case tok == "in:body":
		default:
			body = strings.Trim(tok, `"`)
		}
	}
	var items []map[string]any
	for n, rp := range s.repos {
		if repoName != "" && n != repoName {
			continue
		}
		for _, is := range rp.issues {
			if (kind == "issue" && is.Pull) || (kind == "pr" && !is.Pull) ||
				(state != "" && is.State != state) || !hasAll(is.Labels, labels) ||
				!strings.Contains(is.Body, body) {
				continue
			}
			items = append(items, s.issueJSON(n, is))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total_count": len(items), "incomplete_results": false, "items": items,
	})
}

func (s *Server) issueJSON(name string, is *Issue) map[string]any {
	m := map[string]any{
		"number":         is.Number,
		"title":          is.Title,
		"body":           is.Body,
		"state":          is.State,
		"labels":         labelsJSON(is.Labels),
		"created_at":     is.Created.UTC().Format(time.RFC3339),
		"updated_at":     is.Updated.UTC().Format(time.RFC3339),
		"html_url":       fmt.Sprintf("%s/%s/issues/%d", s.URL, name, is.Number),
		"comments":       len(is.Comments),
		"repository_url": s.URL + "/repos/" + name,
	}
	if is.StateReason != "" {
		m["state_reason"] = is.StateReason
	}
	if is.Closed != nil {
		m["closed_at"] = is.Closed.UTC().Format(time.RFC3339)
	}
	if is.Pull {
		m["pull_request"] = map[string]string{"url": fmt.Sprintf("%s/repos/%s/pulls/%d", s.URL, name, is.Number)}
	}
	return m
}

func labelsJSON(labels []string) []map[string]string {
	out := make([]map[string]string, 0, len(labels))
	for _, l := range labels {
		out = append(out, map[string]string{"name": l})
	}
	return out
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func invalid(w http.ResponseWriter, field, code, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed",
		"errors": []map[string]string{
			{"resource": "Issue", "code": code, "field": field, "message": msg},
		},
		"documentation_url": "https://docs.github.com/rest",
	})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{
		"message": "Not Found", "documentation_url": "https://docs.github.com/rest",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
