package confluencefake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveV2 answers the version 2 endpoints tend uses: spaces by key, pages
// by id, by space and title, creation and update. The caller holds s.mu.
func (s *Server) serveV2(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "spaces" && r.Method == http.MethodGet:
		s.Count("GET /v2/spaces")
		var out []map[string]string
		for _, k := range strings.Split(r.URL.Query().Get("keys"), ",") {
			if i := index(s.cfg.Spaces, k); i >= 0 {
				out = append(out, map[string]string{"id": spaceID(i), "key": k})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": nonNil(out)})
	case len(parts) == 1 && parts[0] == "pages" && r.Method == http.MethodGet:
		s.Count("GET /v2/pages")
		q := r.URL.Query()
		var out []map[string]any
		for _, p := range s.pages {
			if (q.Get("space-id") == "" || spaceID(index(s.cfg.Spaces, p.Space)) == q.Get("space-id")) &&
				(q.Get("title") == "" || p.Title == q.Get("title")) {
				out = append(out, s.pageV2(p, q.Get("body-format")))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": nonNil(out), "_links": map[string]string{}})
	case len(parts) == 1 && parts[0] == "pages" && r.Method == http.MethodPost:
		s.Count("POST /v2/pages")
		s.createV2(w, r)
	case len(parts) == 2 && parts[0] == "pages" && r.Method == http.MethodGet:
		s.Count("GET /v2/pages/{id}")
		p := s.byID(parts[1])
		if p == nil {
			writeErrV2(w, http.StatusNotFound, "Page not found")
			return
		}
		writeJSON(w, http.StatusOK, s.pageV2(p, r.URL.Query().Get("body-format")))
	case len(parts) == 2 && parts[0] == "pages" && r.Method == http.MethodPut:
		s.Count("PUT /v2/pages/{id}")
		s.updateV2(w, r, parts[1])
	default:
		writeErrV2(w, http.StatusNotFound, "no such resource")
	}
}

type pageReqV2 struct {
	ID       string `json:"id"`
	SpaceID  string `json:"spaceId"`
	Status   string `json:"status"`
	Title    string `json:"title"`
	ParentID string `json:"parentId"`
	Body     struct {
		Representation string `json:"representation"`
		Value          string `json:"value"`
	} `json:"body"`
	Version struct {
		Number int `json:"number"`
	} `json:"version"`
}

func decodeV2(w http.ResponseWriter, r *http.Request) (pageReqV2, bool) {
	var req pageReqV2
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErrV2(w, http.StatusBadRequest, "Could not parse the request body")
		return req, false
	}
	if msg := checkPage(req.Title, req.Body.Representation, req.Body.Value); msg != "" {
		writeErrV2(w, http.StatusBadRequest, msg)
		return req, false
	}
	return req, true
}

func (s *Server) createV2(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeV2(w, r)
	if !ok {
		return
	}
	i, err := strconv.Atoi(strings.TrimPrefix(req.SpaceID, "1000"))
	if !strings.HasPrefix(req.SpaceID, "1000") || err != nil || i < 0 || i >= len(s.cfg.Spaces) {
		writeErrV2(w, http.StatusBadRequest, "Space with id "+req.SpaceID+" not found")
		return
	}
	space := s.cfg.Spaces[i]
	if s.byTitle(space, req.Title) != nil {
		writeErrV2(w, http.StatusBadRequest, "A page with this title already exists in this space")
		return
	}
	p := &Page{Space: space, Title: req.Title, Body: req.Body.Value}
	if req.ParentID != "" {
		parent := s.byID(req.ParentID)
		if parent == nil || parent.Space != space {
			writeErrV2(w, http.StatusBadRequest, "The parent ID specified does not exist")
			return
		}
		p.Parent = parent.ID
	}
	writeJSON(w, http.StatusOK, s.pageV2(s.add(p), ""))
}

func (s *Server) updateV2(w http.ResponseWriter, r *http.Request, id string) {
	p := s.byID(id)
	if p == nil {
		writeErrV2(w, http.StatusNotFound, "Page not found")
		return
	}
	req, ok := decodeV2(w, r)
	if !ok {
		return
	}
	if req.ID != id || req.Status != "current" {
		writeErrV2(w, http.StatusBadRequest, "id and status: current are required")
		return
	}
	if len(s.edits) > 0 {
		p.Body += s.edits[0]
		p.Version++
		s.edits = s.edits[1:]
	}
	if req.Version.Number != p.Version+1 {
		writeErrV2(w, http.StatusConflict,
			"Version must be incremented on update. Current version is: "+strconv.Itoa(p.Version))
		return
	}
	if other := s.byTitle(p.Space, req.Title); other != nil && other != p {
		writeErrV2(w, http.StatusBadRequest, "A page with this title already exists in this space")
		return
	}
	p.Title, p.Body, p.Version, p.Updated = req.Title, req.Body.Value, req.Version.Number, time.Now()
	writeJSON(w, http.StatusOK, s.pageV2(p, ""))
}

func (s *Server) pageV2(p *Page, bodyFormat string) map[string]any {
	m := map[string]any{
		"id": p.ID, "status": "current", "title": p.Title, "parentId": p.Parent,
		"spaceId": spaceID(index(s.cfg.Spaces, p.Space)),
		"version": map[string]any{"number": p.Version},
	}
	if bodyFormat == "storage" {
		m["body"] = map[string]any{"storage": map[string]string{"value": p.Body, "representation": "storage"}}
	}
	return m
}

func spaceID(i int) string { return "1000" + strconv.Itoa(i) }

func index(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeErrV2(w http.ResponseWriter, status int, title string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{
		{
			"status": status,
			"code":   strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_")),
			"title":  title,
		},
	}})
}
