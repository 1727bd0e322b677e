package inbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
)

// Source of Slack trigger events.
const sourceSlack = "inbound/slack"

// slackWindow is how far a request's timestamp may be from the hub's clock;
// an older request is a replay.
const slackWindow = 5 * time.Minute

// postTimeout bounds posting one answer to a response_url.
const postTimeout = 10 * time.Second

const slackUsage = "Usage: `/tend status`, `/tend metrics NAME`, " +
	"`/tend optimize [TASK...] [--level low|medium|high|aggressive]`"

var metricName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// SlashCommand is the form Slack posts for a slash command.
type SlashCommand struct {
	Command     string
	Text        string
	ResponseURL string
	UserID      string
	UserName    string
	TeamID      string
	ChannelID   string
}

// ParseSlashCommand reads a slash command's form body. It returns an error
// when the form is malformed or lacks the command, user or response_url.
func ParseSlashCommand(body []byte) (SlashCommand, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return SlashCommand{}, fmt.Errorf("parse slash command form: %w", err)
	}
	c := SlashCommand{
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
		UserID:      form.Get("user_id"),
		UserName:    form.Get("user_name"),
		TeamID:      form.Get("team_id"),
		ChannelID:   form.Get("channel_id"),
	}
	if c.Command == "" || c.UserID == "" || c.ResponseURL == "" {
		return SlashCommand{}, errors.New(
			"parse slash command form: command, user_id and response_url are required")
	}
	return c, nil
}

// verifySlack checks Slack's v0 signature, HMAC-SHA256 of
// "v0:<timestamp>:<body>", in constant time, and that the timestamp lies
// within [slackWindow] of now. It returns the signature's hex digest.
func verifySlack(secret []byte, hdr http.Header, body []byte, now time.Time) (string, error) {
	ts := hdr.Get("X-Slack-Request-Timestamp")
	sig := hdr.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return "", errMissingSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", errStaleTimestamp
	}
	// Compare both ways rather than take an absolute value: the difference
	// of a far-off timestamp saturates, and negating the minimum overflows.
	if d := now.Sub(time.Unix(sec, 0)); d > slackWindow || d < -slackWindow {
		return "", errStaleTimestamp
	}
	digest, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return "", errBadSignature
	}
	got, err := hex.DecodeString(digest)
	if err != nil {
		return "", errBadSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "", errBadSignature
	}
	return strings.ToLower(digest), nil
}

// slackMessage is an answer to a slash command.
type slackMessage struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeral(w http.ResponseWriter, text string) {
	writeJSON(w, http.StatusOK, slackMessage{ResponseType: "ephemeral", Text: text})
}

// serveSlack handles POST /hooks/slack.
func (h *Handler) serveSlack(w http.ResponseWriter, r *http.Request) {
	log := h.log.With("remote_addr", r.RemoteAddr)
	body, ok := h.readBody(w, r, log)
	if !ok {
		return
	}
	// Slack checks the certificate of a new command URL with an unsigned
	// ssl_check post that asks for nothing but a 200.
	if form, err := url.ParseQuery(string(body)); err == nil &&
		form.Get("ssl_check") == "1" && form.Get("command") == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	sig, err := verifySlack([]byte(h.s.Slack.SigningSecret), r.Header, body, h.now())
	if err != nil {
		log.Warn("slack command rejected", "reason", err.Error())
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	cmd, err := ParseSlashCommand(body)
	if err != nil {
		log.Warn("bad slack command", "error", err)
		http.Error(w, "bad slash command form", http.StatusBadRequest)
		return
	}
	log = log.With("slack_user", clip(cmd.UserID, 32), "slack_team", clip(cmd.TeamID, 32))
	if !h.responseURLAllowed(cmd.ResponseURL) {
		log.Warn("slack command rejected", "reason", "response_url not on an allowed https host")
		http.Error(w, "response_url not allowed", http.StatusBadRequest)
		return
	}

	// A signed request seen before is a replay within the window: Slack
	// itself never sends a slash command twice.
	claimed, first, err := h.firstTime(r.Context(), "inbound.slack."+sig)
	if err != nil {
		log.Error("deduplicate request", "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	if !first {
		log.Warn("slack command rejected", "reason", "replayed request")
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}

	args := strings.Fields(cmd.Text)
	sub := ""
	if len(args) > 0 {
		sub = strings.ToLower(args[0])
	}
	log.Info("slack command", "command", clip(sub, 16))
	switch sub {
	case "status":
		h.slackJob(w, log, cmd, "Getting tend's status…", func(ctx context.Context) (string, error) {
			return h.cmds.Status(ctx)
		})
	case "metrics":
		if len(args) != 2 || !metricName.MatchString(args[1]) {
			ephemeral(w, "Name one metric, e.g. `/tend metrics host.cpu.usage`.")
			return
		}
		name := args[1]
		h.slackJob(w, log, cmd, "Getting "+name+"…", func(ctx context.Context) (string, error) {
			return h.cmds.Metrics(ctx, name)
		})
	case "optimize":
		h.slackOptimize(w, r, log, cmd, args[1:], sig, claimed)
	default:
		ephemeral(w, slackUsage)
	}
}

// slackJob acknowledges now and posts what fn returns to the command's
// response_url once it is done.
func (h *Handler) slackJob(w http.ResponseWriter, log *slog.Logger, cmd SlashCommand, ack string,
	fn func(ctx context.Context) (string, error)) {
	if h.cmds == nil {
		ephemeral(w, "This hub does not answer that command.")
		return
	}
	started := h.goJob(func(ctx context.Context) {
		text, err := fn(ctx)
		if err != nil {
			log.Error("answer slack command", "error", err)
			text = "tend could not answer; the hub's log says why."
		}
		// The user still hears back when the hub is stopping.
		postCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postTimeout)
		defer cancel()
		if err := h.postSlack(postCtx, cmd.ResponseURL, text); err != nil {
			log.Warn("post slack answer", "error", err)
		}
	})
	if !started {
		ephemeral(w, "tend is busy; try again in a moment.")
		return
	}
	ephemeral(w, ack)
}

// postSlack sends text to a response_url. The URL stays out of errors.
func (h *Handler) postSlack(ctx context.Context, responseURL, text string) error {
	body, err := json.Marshal(slackMessage{ResponseType: "ephemeral", Text: text})
	if err != nil {
		return fmt.Errorf("encode slack answer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("build slack answer request")
	}
	req.Header.Set("Content-Type", "application/json")
	if _, _, err := integrations.Do(ctx, h.client, req, 0); err != nil {
		return fmt.Errorf("post to response_url: %w", err)
	}
	return nil
}

// slackOptimize publishes a trigger; the run's result goes to the command's
// response_url from the integration that reports runs.
func (h *Handler) slackOptimize(w http.ResponseWriter, r *http.Request, log *slog.Logger,
	cmd SlashCommand, args []string, sig string, claimed []string) {
	if len(h.s.Slack.AllowedUsers) > 0 && !contains(h.s.Slack.AllowedUsers, cmd.UserID) {
		log.Info("slack optimize refused", "reason", "user not allowed")
		ephemeral(w, "You are not allowed to start an optimization.")
		return
	}
	opt, err := ParseOptimize(args)
	if err != nil {
		ephemeral(w, "Could not read that: "+err.Error()+".\n"+slackUsage)
		return
	}

	by := cmd.UserName
	if by == "" {
		by = cmd.UserID
	}
	id := "slack-" + sig[:32]
	trig := Trigger{
		Trigger: events.Trigger{Kind: "slack", By: by, ResponseURL: cmd.ResponseURL, EventID: id},
		Tasks:   opt.Tasks,
		Level:   opt.Level,
		Event:   cmd.Command,
		Channel: cmd.ChannelID,
	}
	ev, err := events.New(events.TypeTriggerSlack, sourceSlack, "", trig)
	if err != nil {
		log.Error("encode slack trigger", "error", err)
		http.Error(w, "cannot encode trigger", http.StatusInternalServerError)
		return
	}
	ev.ID = id
	if err := h.publish(r.Context(), ev); err != nil {
		h.forget(claimed)
		log.Error("store trigger", "error", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	log.Info("trigger accepted", "event_type", ev.Type, "event_id", ev.ID)

	what := "default tasks"
	if len(opt.Tasks) > 0 {
		what = strings.Join(opt.Tasks, ", ")
	}
	if opt.Level != "" {
		what += " at level " + opt.Level
	}
	ephemeral(w, "Optimization requested ("+what+"); the result will follow here.")
}

// responseURLAllowed reports whether u is https on a configured host, so a
// signed request cannot make the hub post to an address of its choosing.
func (h *Handler) responseURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" {
		return false
	}
	for _, host := range h.s.Slack.ResponseHosts {
		if strings.EqualFold(u.Host, host) {
			return true
		}
	}
	return false
}
