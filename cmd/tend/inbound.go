package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tend-dev/tend/api"
	"github.com/tend-dev/tend/api/inbound"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations/render"
	"github.com/tend-dev/tend/optimizer"
)

func init() {
	hubHooks = append(hubHooks, mountInbound)
	configChecks = append(configChecks, func(cfg *config.Config) error {
		if cfg.Inbound.Node == nil {
			return nil
		}
		_, err := inbound.Decode(cfg.Inbound)
		return err
	})
}

// mountInbound serves the webhooks configured under inbound:. Everything
// they accept is stored on the bus before they answer.
func mountInbound(h *hub, cfg *config.Config, mounts *[]func(*http.ServeMux)) error {
	if cfg.Inbound.Node == nil {
		return nil
	}
	s, err := inbound.Decode(cfg.Inbound)
	if err != nil {
		return err
	}
	handler, err := inbound.New(s, inbound.Deps{
		Publisher: h.bus,
		Seen:      bus.KV{Bucket: h.bus.Seen},
		Commands:  hubCommands{h: h},
		Logger:    h.log.With("part", "inbound"),
	})
	if err != nil {
		return err
	}
	*mounts = append(*mounts, handler.Register)
	h.extras = append(h.extras, func(ctx context.Context) error {
		<-ctx.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		return handler.Close(cctx)
	})
	return nil
}

// hubCommands answers chat commands from the hub's own state.
type hubCommands struct{ h *hub }

func (c hubCommands) Status(ctx context.Context) (string, error) {
	alerts, err := optimizer.LoadAlerts(ctx, bus.KV{Bucket: c.h.bus.State})
	if err != nil {
		return "", err
	}
	var firing []string
	for _, a := range alerts {
		if a.Status == "firing" {
			firing = append(firing, fmt.Sprintf("• %s %s: %s", a.Severity, a.Rule, a.Summary))
		}
	}
	series := len(c.h.engine.Latest().All())
	text := fmt.Sprintf("tend: %d series watched, %d alerts firing; optimizer %s",
		series, len(firing), c.h.optimizerStatus(ctx))
	if len(firing) > 0 {
		text += "\n" + strings.Join(firing, "\n")
	}
	return text, nil
}

func (c hubCommands) Metrics(ctx context.Context, name string) (string, error) {
	if name == "" {
		var lines []string
		for _, m := range c.h.engine.Latest().All() {
			lines = append(lines, fmt.Sprintf("%s %s %s", m.Name, labelText(m.Labels), render.Number(m.Value)))
		}
		if len(lines) > 40 {
			lines = append(lines[:40], fmt.Sprintf("… and %d more", len(lines)-40))
		}
		return strings.Join(lines, "\n"), nil
	}
	points, err := api.History(ctx, c.h.bus, name, time.Now().Add(-time.Hour), 100000)
	if err != nil {
		return "", err
	}
	if len(points) == 0 {
		return name + ": no data in the last hour", nil
	}
	lo, hi, sum := points[0].Value, points[0].Value, 0.0
	for _, p := range points {
		lo, hi, sum = min(lo, p.Value), max(hi, p.Value), sum+p.Value
	}
	return fmt.Sprintf("%s over the last hour: %d samples, min %s, avg %s, max %s, last %s", name,
		len(points), render.Number(lo), render.Number(sum/float64(len(points))), render.Number(hi),
		render.Number(points[len(points)-1].Value)), nil
}
