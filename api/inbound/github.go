package inbound

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/tend-dev/tend/events"
)

// Source of GitHub trigger events.
const sourceGitHub = "inbound/github"

// dispatchAction is the repository_dispatch event_type that asks for a run.
const dispatchAction = "tend-optimize"

var (
	// GitHub delivery ids are UUIDs; anything else is refused before it
	// becomes a key in the seen store.
	deliveryID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	commitSHA  = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
)

// trusted are the author associations allowed to start a run from a comment.
var trusted = []string{"OWNER", "MEMBER", "COLLABORATOR"}

// serveGitHub handles POST /hooks/github.
func (h *Handler) serveGitHub(w http.ResponseWriter, r *http.Request) {
	kind := clip(r.Header.Get(github.EventTypeHeader), 64)
	delivery := clip(r.Header.Get(github.DeliveryIDHeader), 80)
	log := h.log.With("github_event", kind, "event_id", delivery, "remote_addr", r.RemoteAddr)

	body, ok := h.readBody(w, r, log)
	if !ok {
		return
	}
	payload, status, err := h.verifyGitHub(r.Header, body)
	if err != nil {
		log.Warn("github webhook rejected", "reason", err.Error())
		http.Error(w, http.StatusText(status), status)
		return
	}
	if !deliveryID.MatchString(delivery) {
		log.Warn("github webhook rejected", "reason", "missing or malformed delivery id")
		http.Error(w, "missing or malformed X-GitHub-Delivery", http.StatusBadRequest)
		return
	}

	if kind == "ping" {
		log.Info("github webhook ping")
		writeJSON(w, http.StatusOK, answer{Status: "pong"})
		return
	}
	if !h.events[kind] {
		log.Debug("github event ignored", "reason", "event not enabled")
		writeJSON(w, http.StatusOK, answer{Status: "ignored", Reason: "event not enabled"})
		return
	}
	trig, why, err := GitHubTrigger(kind, payload, h.s.GitHub)
	if err != nil {
		log.Warn("bad github payload", "error", err)
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if trig == nil {
		log.Info("github event ignored", "reason", why)
		writeJSON(w, http.StatusOK, answer{Status: "ignored", Reason: why})
		return
	}

	trig.Trigger.EventID = delivery
	ev, err := events.New(events.TypeTriggerGitHub, sourceGitHub, "", trig)
	if err != nil {
		log.Error("encode github trigger", "error", err)
		http.Error(w, "cannot encode trigger", http.StatusInternalServerError)
		return
	}
	ev.ID = delivery
	h.store(w, r, log, ev, githubKeys(delivery, payload))
}

// githubKeys are the seen keys of one delivery: its id, so a redelivery
// starts nothing twice, and its payload digest, so a captured signed body
// replayed under a fresh delivery id (the header is not signed) does not
// either. Two repository_dispatch calls with identical payloads therefore
// count as one; a client adds a nonce to client_payload to ask twice.
func githubKeys(delivery string, payload []byte) []string {
	sum := sha256.Sum256(payload)
	return []string{
		"inbound.github.delivery." + delivery,
		"inbound.github.body." + hex.EncodeToString(sum[:16]),
	}
}

// store claims keys, publishes ev and answers: 202 once stored, 200 for a
// duplicate, 503 when the seen store or the bus fails (keys claimed are
// released so the sender's retry is not taken for a duplicate).
func (h *Handler) store(w http.ResponseWriter, r *http.Request, log *slog.Logger,
	ev events.Event, keys []string) {
	claimed, first, err := h.firstTime(r.Context(), keys...)
	if err != nil {
		h.forget(claimed)
		log.Error("deduplicate request", "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	if !first {
		h.forget(claimed)
		log.Info("duplicate request ignored", "event_type", ev.Type)
		writeJSON(w, http.StatusOK, answer{Status: "duplicate", EventID: ev.ID})
		return
	}
	if err := h.publish(r.Context(), ev); err != nil {
		h.forget(claimed)
		log.Error("store trigger", "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	log.Info("trigger accepted", "event_type", ev.Type)
	writeJSON(w, http.StatusAccepted, answer{Status: "accepted", EventID: ev.ID})
}

// verifyGitHub checks X-Hub-Signature-256 over the raw body, in constant
// time, and returns the JSON payload (the body, or its "payload" form
// field). On failure it returns the status to answer and a reason that
// holds no secret.
func (h *Handler) verifyGitHub(hdr http.Header, body []byte) ([]byte, int, error) {
	sig := hdr.Get(github.SHA256SignatureHeader)
	if sig == "" {
		return nil, http.StatusUnauthorized, errMissingSignature
	}
	// go-github also takes sha1= and sha512=; only SHA-256 is accepted.
	if !strings.HasPrefix(sig, "sha256=") {
		return nil, http.StatusUnauthorized, errBadSignature
	}
	ct, _, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil || (ct != "application/json" && ct != "application/x-www-form-urlencoded") {
		return nil, http.StatusUnsupportedMediaType, errors.New("content type is not JSON or form")
	}
	if ct == "application/x-www-form-urlencoded" {
		if _, err := url.ParseQuery(string(body)); err != nil {
			return nil, http.StatusBadRequest, errors.New("malformed form body")
		}
	}

	req := &http.Request{Header: http.Header{}, Body: nopCloser{bytes.NewReader(body)}}
	req.Header.Set("Content-Type", hdr.Get("Content-Type"))
	req.Header.Set(github.SHA256SignatureHeader, sig)
	payload, err := github.ValidatePayload(req, []byte(h.s.GitHub.Secret))
	if err != nil {
		return nil, http.StatusUnauthorized, errBadSignature
	}
	if len(payload) == 0 {
		return nil, http.StatusBadRequest, errors.New("empty payload")
	}
	return payload, 0, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// GitHubTrigger turns a verified GitHub event payload into a trigger. It
// returns nil and the reason when the event asks for nothing (an outside
// contributor's comment, a push to another branch), and an error when the
// payload cannot be read. g filters branches, events and workflows.
func GitHubTrigger(kind string, payload []byte, g *GitHub) (*Trigger, string, error) {
	if g == nil {
		g = &GitHub{}
	}
	trig, why, err := githubTrigger(kind, payload, g)
	if trig == nil || len(g.Repos) == 0 {
		return trig, why, err
	}
	for _, r := range g.Repos {
		if strings.EqualFold(r, trig.Trigger.Repo) {
			return trig, "", nil
		}
	}
	return nil, "repository " + clip(trig.Trigger.Repo, 100) + " not configured", nil
}

func githubTrigger(kind string, payload []byte, g *GitHub) (*Trigger, string, error) {
	switch kind {
	case "issue_comment":
		var ev github.IssueCommentEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, "", fmt.Errorf("decode issue_comment: %w", err)
		}
		return commentTrigger(&ev)
	case "push":
		var ev github.PushEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, "", fmt.Errorf("decode push: %w", err)
		}
		return pushTrigger(&ev, g)
	case "workflow_run":
		var ev github.WorkflowRunEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, "", fmt.Errorf("decode workflow_run: %w", err)
		}
		return workflowTrigger(&ev, g)
	case "repository_dispatch":
		var ev github.RepositoryDispatchEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, "", fmt.Errorf("decode repository_dispatch: %w", err)
		}
		return dispatchTrigger(&ev)
	}
	return nil, "event not handled", nil
}

func commentTrigger(ev *github.IssueCommentEvent) (*Trigger, string, error) {
	if ev.GetAction() != "created" {
		return nil, "comment " + clip(ev.GetAction(), 32), nil
	}
	cmd, found, err := FindOptimize(ev.GetComment().GetBody())
	if !found {
		return nil, "no /tend command", nil
	}
	// tend's own report comments must never start another run.
	if ev.GetComment().GetUser().GetType() == "Bot" {
		return nil, "command from a bot", nil
	}
	if assoc := ev.GetComment().GetAuthorAssociation(); !contains(trusted, assoc) {
		return nil, "command from outside contributor " + clip(ev.GetComment().GetUser().GetLogin(), 64) +
			" (" + clip(assoc, 32) + ")", nil
	}
	if err != nil {
		return nil, "bad command: " + err.Error(), nil
	}
	repo := ev.GetRepo().GetFullName()
	if repo == "" || ev.GetIssue().GetNumber() <= 0 {
		return nil, "", errors.New("issue_comment without repository or issue number")
	}
	return &Trigger{
		Trigger: events.Trigger{
			Kind:  "github",
			By:    ev.GetComment().GetUser().GetLogin(),
			Repo:  repo,
			Issue: ev.GetIssue().GetNumber(),
		},
		Tasks:       cmd.Tasks,
		Level:       cmd.Level,
		Event:       "issue_comment",
		PullRequest: ev.GetIssue().IsPullRequest(),
	}, "", nil
}

func pushTrigger(ev *github.PushEvent, g *GitHub) (*Trigger, string, error) {
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	switch {
	case !ok:
		return nil, "push to a tag", nil
	case ev.GetDeleted():
		return nil, "branch deleted", nil
	case !contains(g.Branches, branch):
		return nil, "push to branch " + clip(branch, 64) + " not configured", nil
	}
	repo := ev.GetRepo().GetFullName()
	if repo == "" || !commitSHA.MatchString(ev.GetAfter()) {
		return nil, "", errors.New("push without repository or commit")
	}
	by := ev.GetSender().GetLogin()
	if by == "" {
		by = ev.GetPusher().GetName()
	}
	return &Trigger{
		Trigger: events.Trigger{Kind: "github", By: by, Repo: repo, SHA: ev.GetAfter()},
		Event:   "push",
		Ref:     branch,
	}, "", nil
}

func workflowTrigger(ev *github.WorkflowRunEvent, g *GitHub) (*Trigger, string, error) {
	run := ev.GetWorkflowRun()
	switch {
	case ev.GetAction() != "completed":
		return nil, "workflow run " + clip(ev.GetAction(), 32), nil
	case !contains(g.Branches, run.GetHeadBranch()):
		return nil, "workflow run on branch " + clip(run.GetHeadBranch(), 64) + " not configured", nil
	case len(g.Workflows) > 0 && !contains(g.Workflows, run.GetName()):
		return nil, "workflow " + clip(run.GetName(), 64) + " not configured", nil
	}
	repo := ev.GetRepo().GetFullName()
	if repo == "" || !commitSHA.MatchString(run.GetHeadSHA()) {
		return nil, "", errors.New("workflow_run without repository or commit")
	}
	by := run.GetActor().GetLogin()
	if by == "" {
		by = ev.GetSender().GetLogin()
	}
	return &Trigger{
		Trigger:    events.Trigger{Kind: "github", By: by, Repo: repo, SHA: run.GetHeadSHA()},
		Event:      "workflow_run",
		Ref:        run.GetHeadBranch(),
		Workflow:   run.GetName(),
		Conclusion: run.GetConclusion(),
	}, "", nil
}

// dispatchPayload is the client_payload of a tend-optimize dispatch.
type dispatchPayload struct {
	Tasks []string `json:"tasks"`
	Level string   `json:"level"`
	SHA   string   `json:"sha"`
	Issue int      `json:"issue"`
}

func dispatchTrigger(ev *github.RepositoryDispatchEvent) (*Trigger, string, error) {
	if ev.GetAction() != dispatchAction {
		return nil, "dispatch type " + clip(ev.GetAction(), 64), nil
	}
	var p dispatchPayload
	if len(ev.ClientPayload) > 0 && string(ev.ClientPayload) != "null" {
		if err := json.Unmarshal(ev.ClientPayload, &p); err != nil {
			return nil, "", fmt.Errorf("decode client_payload: %w", err)
		}
	}
	args := append([]string(nil), p.Tasks...)
	if p.Level != "" {
		args = append(args, "--level="+p.Level)
	}
	cmd, err := ParseOptimize(args)
	if err != nil {
		return nil, "", fmt.Errorf("client_payload: %w", err)
	}
	repo := ev.GetRepo().GetFullName()
	switch {
	case repo == "":
		return nil, "", errors.New("repository_dispatch without repository")
	case p.SHA != "" && !commitSHA.MatchString(p.SHA):
		return nil, "", errors.New("client_payload: sha is not a commit id")
	case p.Issue < 0:
		return nil, "", errors.New("client_payload: issue must be positive")
	}
	return &Trigger{
		Trigger: events.Trigger{
			Kind:  "github",
			By:    ev.GetSender().GetLogin(),
			Repo:  repo,
			Issue: p.Issue,
			SHA:   p.SHA,
		},
		Tasks: cmd.Tasks,
		Level: cmd.Level,
		Event: "repository_dispatch",
		Ref:   ev.GetBranch(),
	}, "", nil
}
