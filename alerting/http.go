package alerting

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tend-dev/tend/config"
)

// AddSilence is the body of POST /api/v1/silences.
type AddSilence struct {
	// Matchers select the alerts, e.g. ["host=db1", "rule=~disk_.*"].
	Matchers []string `json:"matchers"`
	// Duration is how long the silence lasts from now, e.g. "2h".
	Duration  string `json:"duration"`
	Comment   string `json:"comment"`
	CreatedBy string `json:"created_by,omitempty"`
}

// Mount returns a function adding the silence endpoints to an API mux:
// GET and POST /api/v1/silences, GET /api/v1/silences/{id}, and
// DELETE /api/v1/silences/{id} (or POST .../expire) to expire one.
func Mount(s Silences) func(*http.ServeMux) {
	return func(m *http.ServeMux) {
		m.HandleFunc("GET /api/v1/silences", func(w http.ResponseWriter, r *http.Request) {
			list, err := s.List(r.Context())
			if err != nil {
				problem(w, http.StatusInternalServerError, err.Error(), "")
				return
			}
			reply(w, http.StatusOK, list)
		})
		m.HandleFunc("POST /api/v1/silences", func(w http.ResponseWriter, r *http.Request) {
			var in AddSilence
			dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				problem(w, http.StatusBadRequest, "bad silence: "+err.Error(),
					`send {"matchers": ["host=db1"], "duration": "2h", "comment": "..."}`)
				return
			}
			d, err := config.ParseDuration(in.Duration)
			if err != nil || d <= 0 {
				problem(w, http.StatusBadRequest, "bad duration "+quote(in.Duration),
					"duration takes a positive duration such as 30m or 2h")
				return
			}
			if strings.TrimSpace(in.Comment) == "" {
				problem(w, http.StatusBadRequest, "a silence needs a comment",
					"say why, for whoever finds it")
				return
			}
			sil, err := s.Add(r.Context(), in.Matchers, d, in.Comment, in.CreatedBy)
			if err != nil {
				problem(w, http.StatusBadRequest, err.Error(),
					"matchers are key=value, key!=value or key=~regex")
				return
			}
			reply(w, http.StatusCreated, sil)
		})
		m.HandleFunc("GET /api/v1/silences/{id}", func(w http.ResponseWriter, r *http.Request) {
			sil, err := s.Get(r.Context(), r.PathValue("id"))
			if !found(w, err) {
				return
			}
			reply(w, http.StatusOK, sil)
		})
		expire := func(w http.ResponseWriter, r *http.Request) {
			sil, err := s.Expire(r.Context(), r.PathValue("id"))
			if !found(w, err) {
				return
			}
			reply(w, http.StatusOK, sil)
		}
		m.HandleFunc("DELETE /api/v1/silences/{id}", expire)
		m.HandleFunc("POST /api/v1/silences/{id}/expire", expire)
	}
}

func found(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, ErrNoSilence):
		problem(w, http.StatusNotFound, err.Error(), "see tend silence list")
		return false
	case err != nil:
		problem(w, http.StatusInternalServerError, err.Error(), "")
		return false
	}
	return true
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// problem writes the API's error body: {"error": ..., "hint": ...}.
func problem(w http.ResponseWriter, code int, msg, hint string) {
	reply(w, code, struct {
		Error string `json:"error"`
		Hint  string `json:"hint,omitempty"`
	}{msg, hint})
}
