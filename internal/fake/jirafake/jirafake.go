// Package jirafake is a stateful stand-in for the JIRA REST API version 2,
// for tests of tend's jira integration and end-to-end tests. It keeps issues,
// comments and a three-status workflow in memory and enforces the rules a
// real JIRA enforces on what tend sends: authentication, a one-line summary
// of at most 255 characters, a description of at most 32,767, known
// transitions only, and errors in JIRA's {"errorMessages":[],"errors":{}}
// shape. Failures and delays can be injected. A Server is safe for
// concurrent use.
package jirafake

import (
	"bytes"
	"encoding/base64"
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
	"unicode/utf16"
)

// Limits JIRA puts on fields, in UTF-16 code units.
const (
	MaxSummary     = 255
	MaxDescription = 32767
	MaxComment     = 32767
)

// Statuses of the fake workflow and their categories.
const (
	StatusToDo       = "To Do"
	StatusInProgress = "In Progress"
	StatusDone       = "Done"
)

// Config sets the credentials the fake accepts. Empty fields get the
// defaults below.
type Config struct {
	// Email and APIToken are accepted as HTTP basic auth (JIRA Cloud).
	Email    string // default "bot@example.com"
	APIToken string // default "jira-api-token"
	// PAT is accepted as a bearer token (JIRA Server/DC).
	PAT string // default "jira-pat"
	// Projects are the project keys that exist. Default: OPS.
	Projects []string
	// NoDelete denies deleting issues (403), as most JIRA projects do for
	// a bot account.
	NoDelete bool
	// DataCenter makes the fake answer like JIRA Server/Data Center:
	// search at /rest/api/2/search only. By default it answers like JIRA
	// Cloud, where that endpoint is gone (410) and /rest/api/2/search/jql
	// replaces it.
	DataCenter bool
}

// Comment is one comment on an issue.
type Comment struct {
	ID   string
	Body string
}

// Issue is one issue as the fake keeps it.
type Issue struct {
	ID           string
	Key          string
	Project      string
	IssueType    string
	Summary      string
	Description  string
	Priority     string
	Labels       []string
	Components   []string
	CustomFields map[string]any
	Status       string
	Created      time.Time
	Updated      time.Time
	Resolved     *time.Time
	Comments     []Comment
	// Transitions lists the names of the transitions applied, in order.
	Transitions []string
}

// Category returns the status category key: new, indeterminate or done.
func (i Issue) Category() string { return category(i.Status) }

func category(status string) string {
	switch status {
	case StatusDone:
		return "done"
	case StatusInProgress:
		return "indeterminate"
	}
	return "new"
}

type transition struct {
	ID, Name, To string
}

// The workflow: open issues may start or finish; done ones may reopen.
var workflow = []transition{
	{"11", "Start Progress", StatusInProgress},
	{"31", "Done", StatusDone},
	{"41", "Reopen", StatusToDo},
}

func available(status string) []transition {
	var out []transition
	for _, t := range workflow {
		if (category(status) == "done") == (t.ID == "41") && t.To != status {
			out = append(out, t)
		}
	}
	return out
}

// Fault is an injected answer.
type Fault struct {
	Status int
	// Header is added to the answer, e.g. Retry-After.
	Header http.Header
	// Body is sent as is; empty gets a JIRA error body.
	Body string
}

// Server is the fake JIRA.
type Server struct {
	*httptest.Server
	cfg Config

	mu      sync.Mutex
	issues  []*Issue
	nextID  int
	nextCmt int
	faults  []Fault
	delay   time.Duration
	hold    time.Duration
	record.Log
	now func() time.Time
}

// New starts a fake JIRA on 127.0.0.1. Call Close when done.
func New(cfg Config) *Server {
	if cfg.Email == "" {
		cfg.Email = "bot@example.com"
	}
	if cfg.APIToken == "" {
		cfg.APIToken = "jira-api-token"
	}
	if cfg.PAT == "" {
		cfg.PAT = "jira-pat"
	}
	if len(cfg.Projects) == 0 {
		cfg.Projects = []string{"OPS"}
	}
	s := &Server{cfg: cfg, nextID: 10000, now: time.Now}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Config returns the credentials the server accepts.
func (s *Server) Config() Config { return s.cfg }

// Fail queues answers: the next len(f) requests get them instead of being
// served.
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

// HoldAnswers makes the server apply each change (any request but a GET)
// at once but hold its answer for d, or until the client gives up: a client
// killed meanwhile has changed JIRA without learning so. 0 answers at once
// again.
func (s *Server) HoldAnswers(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = d
}

// Issues returns a copy of every issue, in creation order.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, i := range s.issues {
		out = append(out, copyIssue(i))
	}
	return out
}

// Issue returns a copy of the issue with key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(key); i != nil {
		return copyIssue(i), true
	}
	return Issue{}, false
}

// SetResolved moves issue key to Done, resolved at t, as if someone closed
// it then. It returns false for an unknown key.
func (s *Server) SetResolved(key string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(key)
	if i == nil {
		return false
	}
	i.Status = StatusDone
	i.Resolved = &t
	i.Updated = t
	return true
}

// Request is one request the server received, authenticated or not.
type Request = record.Request

func copyIssue(i *Issue) Issue {
	c := *i
	c.Labels = append([]string(nil), i.Labels...)
	c.Components = append([]string(nil), i.Components...)
	c.Comments = append([]Comment(nil), i.Comments...)
	c.Transitions = append([]string(nil), i.Transitions...)
	return c
}

func (s *Server) find(key string) *Issue {
	for _, i := range s.issues {
		if i.Key == key || i.ID == key {
			return i
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	s.mu.Lock()
	s.Receive(r.Method, r.URL.Path, string(raw))
	delay, hold := s.delay, s.hold
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
		writeErr(w, http.StatusUnauthorized, []string{"You are not authenticated."}, nil)
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
		writeErr(w, fault.Status, []string{http.StatusText(fault.Status)}, nil)
		return
	}

	if hold <= 0 || r.Method == http.MethodGet {
		s.route(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.route(rec, r)
	select {
	case <-time.After(hold):
	case <-r.Context().Done():
		return
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/rest/api/2")
	parts := strings.Split(strings.Trim(path, "/"), "/")

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && path == "/myself":
		s.Count("GET /myself")
		writeJSON(w, http.StatusOK, map[string]any{"name": "tend", "active": true})
	case r.Method == http.MethodGet && path == "/search":
		s.Count("GET /search")
		if !s.cfg.DataCenter {
			writeErr(w, http.StatusGone, []string{"The requested API has been removed. " +
				"Please migrate to the /rest/api/3/search/jql API."}, nil)
			return
		}
		s.search(w, r)
	case r.Method == http.MethodGet && path == "/search/jql":
		s.Count("GET /search/jql")
		if s.cfg.DataCenter {
			writeErr(w, http.StatusNotFound, []string{"null for uri: " + r.URL.Path}, nil)
			return
		}
		s.search(w, r)
	case r.Method == http.MethodPost && path == "/issue":
		s.Count("POST /issue")
		s.create(w, r)
	case len(parts) == 2 && parts[0] == "issue" && r.Method == http.MethodGet:
		s.Count("GET /issue/{key}")
		s.get(w, parts[1])
	case len(parts) == 2 && parts[0] == "issue" && r.Method == http.MethodDelete:
		s.Count("DELETE /issue/{key}")
		s.delete(w, parts[1])
	case len(parts) == 2 && parts[0] == "issue" && r.Method == http.MethodPut:
		s.Count("PUT /issue/{key}")
		s.edit(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "comment" && r.Method == http.MethodPost:
		s.Count("POST /issue/{key}/comment")
		s.comment(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "transitions" && r.Method == http.MethodGet:
		s.Count("GET /issue/{key}/transitions")
		s.transitions(w, parts[1])
	case len(parts) == 3 && parts[0] == "issue" && parts[2] == "transitions" && r.Method == http.MethodPost:
		s.Count("POST /issue/{key}/transitions")
		s.transition(w, r, parts[1])
	default:
		writeErr(w, http.StatusNotFound, []string{"null for uri: " + r.URL.Path}, nil)
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

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Fields == nil {
		writeErr(w, http.StatusBadRequest, []string{"Can not deserialize the request body."}, nil)
		return
	}
	f := req.Fields
	errs := map[string]string{}
	var in Issue
	in.CustomFields = map[string]any{}

	var project struct{ Key string }
	_ = json.Unmarshal(f["project"], &project)
	if !contains(s.cfg.Projects, project.Key) {
		errs["project"] = "valid project is required"
	}
	in.Project = project.Key

	var typ struct{ Name string }
	_ = json.Unmarshal(f["issuetype"], &typ)
	if typ.Name == "" {
		errs["issuetype"] = "issue type is required"
	}
	in.IssueType = typ.Name

	_ = json.Unmarshal(f["summary"], &in.Summary)
	switch {
	case strings.TrimSpace(in.Summary) == "":
		errs["summary"] = "You must specify a summary of the issue."
	case len16(in.Summary) > MaxSummary:
		errs["summary"] = "Summary must be less than 255 characters."
	case strings.ContainsAny(in.Summary, "\r\n"):
		errs["summary"] = "The summary is invalid because it contains newline characters."
	}

	_ = json.Unmarshal(f["description"], &in.Description)
	if len16(in.Description) > MaxDescription {
		errs["description"] = "You have exceeded the maximum length allowed for this field (32767 characters)."
	}

	if raw, ok := f["priority"]; ok {
		var p struct{ Name string }
		_ = json.Unmarshal(raw, &p)
		if !contains([]string{"Highest", "High", "Medium", "Low", "Lowest"}, p.Name) {
			errs["priority"] = "Specify the Priority (name) in the string format"
		}
		in.Priority = p.Name
	}

	if raw, ok := f["labels"]; ok {
		if err := json.Unmarshal(raw, &in.Labels); err != nil {
			errs["labels"] = "data was not an array"
		}
		for _, l := range in.Labels {
			if strings.ContainsAny(l, " \t\n") {
				errs["labels"] = "The label '" + l + "' contains spaces which is invalid."
			}
		}
	}
	if raw, ok := f["components"]; ok {
		var cs []struct{ Name string }
		_ = json.Unmarshal(raw, &cs)
		for _, c := range cs {
			in.Components = append(in.Components, c.Name)
		}
	}
	for k, raw := range f {
		if strings.HasPrefix(k, "customfield_") {
			var v any
			_ = json.Unmarshal(raw, &v)
			in.CustomFields[k] = v
		}
	}
	if len(errs) > 0 {
		writeErr(w, http.StatusBadRequest, nil, errs)
		return
	}

	s.nextID++
	n := 0
	for _, i := range s.issues {
		if i.Project == in.Project {
			n++
		}
	}
	now := s.now()
	in.ID = strconv.Itoa(s.nextID)
	in.Key = fmt.Sprintf("%s-%d", in.Project, n+1)
	in.Status = StatusToDo
	in.Created, in.Updated = now, now
	s.issues = append(s.issues, &in)
	writeJSON(w, http.StatusCreated, map[string]string{
		"id": in.ID, "key": in.Key, "self": s.URL + "/rest/api/2/issue/" + in.ID,
	})
}

func (s *Server) get(w http.ResponseWriter, key string) {
	i := s.find(key)
	if i == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.issueJSON(i))
}

func (s *Server) delete(w http.ResponseWriter, key string) {
	if s.cfg.NoDelete {
		writeErr(w, http.StatusForbidden, []string{"You do not have permission to delete issues in this project."}, nil)
		return
	}
	for n, i := range s.issues {
		if i.Key == key || i.ID == key {
			s.issues = append(s.issues[:n], s.issues[n+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w)
}

// edit serves PUT /issue/{key} for the label operations
// {"update":{"labels":[{"add":"x"},{"remove":"y"}]}}.
func (s *Server) edit(w http.ResponseWriter, r *http.Request, key string) {
	i := s.find(key)
	if i == nil {
		notFound(w)
		return
	}
	var req struct {
		Update struct {
			Labels []struct {
				Add    string `json:"add"`
				Remove string `json:"remove"`
			} `json:"labels"`
		} `json:"update"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, []string{"Can not deserialize the request body."}, nil)
		return
	}
	for _, op := range req.Update.Labels {
		if op.Add != "" && !contains(i.Labels, op.Add) {
			i.Labels = append(i.Labels, op.Add)
		}
		if op.Remove != "" {
			for n, l := range i.Labels {
				if l == op.Remove {
					i.Labels = append(i.Labels[:n], i.Labels[n+1:]...)
					break
				}
			}
		}
	}
	i.Updated = s.now()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) comment(w http.ResponseWriter, r *http.Request, key string) {
	i := s.find(key)
	if i == nil {
		notFound(w)
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, []string{"Can not deserialize the request body."}, nil)
		return
	}
	switch {
	case strings.TrimSpace(req.Body) == "":
		writeErr(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body can not be empty!"})
		return
	case len16(req.Body) > MaxComment:
		writeErr(w, http.StatusBadRequest, nil, map[string]string{
			"comment": "The entered text is too long. It exceeds the allowed limit of 32767 characters.",
		})
		return
	}
	s.nextCmt++
	c := Comment{ID: strconv.Itoa(s.nextCmt), Body: req.Body}
	i.Comments = append(i.Comments, c)
	i.Updated = s.now()
	writeJSON(w, http.StatusCreated, map[string]string{"id": c.ID, "body": c.Body})
}

func (s *Server) transitions(w http.ResponseWriter, key string) {
	i := s.find(key)
	if i == nil {
		notFound(w)
		return
	}
	var out []map[string]any
	for _, t := range available(i.Status) {
		out = append(out, map[string]any{
			"id": t.ID, "name": t.Name,
			"to": map[string]any{"name": t.To, "statusCategory": map[string]string{"key": category(t.To)}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"transitions": out})
}

func (s *Server) transition(w http.ResponseWriter, r *http.Request, key string) {
	i := s.find(key)
	if i == nil {
		notFound(w)
		return
	}
	var req struct {
		Transition struct {
			ID string `json:"id"`
		} `json:"transition"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, []string{"Can not deserialize the request body."}, nil)
		return
	}
	for _, t := range available(i.Status) {
		if t.ID != req.Transition.ID {
			continue
		}
		now := s.now()
		i.Status = t.To
		i.Updated = now
		i.Transitions = append(i.Transitions, t.Name)
		if category(t.To) == "done" {
			i.Resolved = &now
		} else {
			i.Resolved = nil
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeErr(w, http.StatusBadRequest, []string{
		fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID),
	}, nil)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q, err := parseJQL(r.URL.Query().Get("jql"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, []string{"Error in the JQL Query: " + err.Error()}, nil)
		return
	}
	var hits []*Issue
	for _, i := range s.issues {
		if q.match(i) {
			hits = append(hits, i)
		}
	}
	q.sort(hits)

	max := 50
	if m, err := strconv.Atoi(r.URL.Query().Get("maxResults")); err == nil && m > 0 && m < max {
		max = m
	}
	total := len(hits)
	if len(hits) > max {
		hits = hits[:max]
	}
	out := make([]map[string]any, 0, len(hits))
	for _, i := range hits {
		out = append(out, s.issueJSON(i))
	}
	if strings.HasSuffix(r.URL.Path, "/jql") {
		// The enhanced search pages by token and counts nothing.
		writeJSON(w, http.StatusOK, map[string]any{"issues": out, "isLast": total <= max})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"startAt": 0, "maxResults": max, "total": total, "issues": out,
	})
}

const jiraTime = "2006-01-02T15:04:05.000-0700"

func (s *Server) issueJSON(i *Issue) map[string]any {
	fields := map[string]any{
		"summary":     i.Summary,
		"description": i.Description,
		"labels":      i.Labels,
		"project":     map[string]string{"key": i.Project},
		"issuetype":   map[string]string{"name": i.IssueType},
		"status": map[string]any{
			"name": i.Status, "statusCategory": map[string]string{"key": i.Category()},
		},
		"created":        i.Created.Format(jiraTime),
		"updated":        i.Updated.Format(jiraTime),
		"resolutiondate": nil,
	}
	if i.Resolved != nil {
		fields["resolutiondate"] = i.Resolved.Format(jiraTime)
	}
	if i.Priority != "" {
		fields["priority"] = map[string]string{"name": i.Priority}
	}
	for k, v := range i.CustomFields {
		fields[k] = v
	}
	return map[string]any{
		"id": i.ID, "key": i.Key, "self": s.URL + "/rest/api/2/issue/" + i.ID, "fields": fields,
	}
}

// jql is the subset of JQL the fake understands: clauses joined by AND,
// each `field = value` or `field != value` on project, labels, status,
// statusCategory or key, and an optional ORDER BY created or resolutiondate.
type jql struct {
	clauses []clause
	order   string
	desc    bool
}

type clause struct {
	field, op, value string
}

func parseJQL(s string) (jql, error) {
	var q jql
	s = strings.TrimSpace(s)
	if i := strings.Index(strings.ToUpper(s), " ORDER BY "); i >= 0 {
		ord := strings.Fields(s[i+len(" ORDER BY "):])
		s = s[:i]
		if len(ord) == 0 || len(ord) > 2 {
			return q, fmt.Errorf("bad ORDER BY")
		}
		q.order = strings.ToLower(ord[0])
		if q.order != "created" && q.order != "resolutiondate" && q.order != "key" {
			return q, fmt.Errorf("cannot order by %q", ord[0])
		}
		q.desc = len(ord) == 2 && strings.EqualFold(ord[1], "DESC")
	}
	if s == "" {
		return q, nil
	}
	for _, part := range splitAnd(s) {
		c, err := parseClause(part)
		if err != nil {
			return q, err
		}
		q.clauses = append(q.clauses, c)
	}
	return q, nil
}

func splitAnd(s string) []string {
	var out []string
	for {
		i := strings.Index(strings.ToUpper(s), " AND ")
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+len(" AND "):]
	}
}

func parseClause(s string) (clause, error) {
	s = strings.TrimSpace(s)
	op := "="
	i := strings.Index(s, "!=")
	if i < 0 {
		i = strings.Index(s, "=")
	} else {
		op = "!="
	}
	if i < 0 {
		return clause{}, fmt.Errorf("unsupported clause %q", s)
	}
	field := strings.ToLower(strings.TrimSpace(s[:i]))
	value := strings.TrimSpace(s[i+len(op):])
	if uq, err := strconv.Unquote(value); err == nil {
		value = uq
	} else if strings.ContainsAny(value, ` "'`) {
		return clause{}, fmt.Errorf("bad value in %q", s)
	}
	switch field {
	case "project", "labels", "status", "statuscategory", "key":
	default:
		return clause{}, fmt.Errorf("field %q does not exist or you do not have permission to view it", field)
	}
	return clause{field: field, op: op, value: value}, nil
}

func (q jql) match(i *Issue) bool {
	for _, c := range q.clauses {
		var eq bool
		switch c.field {
		case "project":
			eq = strings.EqualFold(i.Project, c.value)
		case "labels":
			eq = contains(i.Labels, c.value)
		case "status":
			eq = strings.EqualFold(i.Status, c.value)
		case "statuscategory":
			v := strings.ToLower(c.value)
			eq = v == i.Category() || (v == "to do" && i.Category() == "new") ||
				(v == "in progress" && i.Category() == "indeterminate")
		case "key":
			eq = strings.EqualFold(i.Key, c.value)
		}
		if eq != (c.op == "=") {
			return false
		}
	}
	return true
}

func (q jql) sort(hits []*Issue) {
	less := func(a, b *Issue) bool {
		switch q.order {
		case "resolutiondate":
			ta, tb := time.Time{}, time.Time{}
			if a.Resolved != nil {
				ta = *a.Resolved
			}
			if b.Resolved != nil {
				tb = *b.Resolved
			}
			return ta.Before(tb)
		default:
			ia, _ := strconv.Atoi(a.ID)
			ib, _ := strconv.Atoi(b.ID)
			return ia < ib
		}
	}
	sort.SliceStable(hits, func(x, y int) bool {
		if q.desc {
			return less(hits[y], hits[x])
		}
		return less(hits[x], hits[y])
	})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func len16(s string) int { return len(utf16.Encode([]rune(s))) }

func notFound(w http.ResponseWriter) {
	writeErr(w, http.StatusNotFound,
		[]string{"Issue does not exist or you do not have permission to see it."}, nil)
}

func writeErr(w http.ResponseWriter, status int, msgs []string, errs map[string]string) {
	if msgs == nil {
		msgs = []string{}
	}
	if errs == nil {
		errs = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": msgs, "errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
