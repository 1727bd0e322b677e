package confluence

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tend-dev/tend/integrations"
)

// The page operations below speak version 1 or version 2 of the REST API.
// With api: auto they start with version 1; a 410 Gone (Confluence Cloud
// has been retiring version 1) moves this integration to version 2 for good.

func (in *Integration) get(ctx context.Context, id string) (*page, error) {
	var p *page
	err := in.either(ctx, func() (err error) {
		p, err = in.getV1(ctx, id)
		return err
	}, func() (err error) {
		p, err = in.getV2(ctx, id)
		return err
	})
	return p, err
}

func (in *Integration) byTitle(ctx context.Context, title string) (*page, error) {
	var p *page
	err := in.either(ctx, func() (err error) {
		p, err = in.byTitleV1(ctx, title)
		return err
	}, func() (err error) {
		p, err = in.byTitleV2(ctx, title)
		return err
	})
	return p, err
}

func (in *Integration) create(ctx context.Context, title, body string) (*page, error) {
	var p *page
	err := in.either(ctx, func() (err error) {
		p, err = in.createV1(ctx, title, body)
		return err
	}, func() (err error) {
		p, err = in.createV2(ctx, title, body)
		return err
	})
	return p, err
}

func (in *Integration) update(ctx context.Context, p *page, title, body string) error {
	return in.either(ctx, func() error {
		return in.updateV1(ctx, p, title, body)
	}, func() error {
		return in.updateV2(ctx, p, title, body)
	})
}

func (in *Integration) either(ctx context.Context, v1, v2 func() error) error {
	if in.v2.Load() {
		return v2()
	}
	err := v1()
	if status(err) != http.StatusGone || in.cfg.API != APIAuto {
		return err
	}
	if in.v2.CompareAndSwap(false, true) {
		in.log.Info("confluence answers only the version 2 API; using it from now on")
	}
	return v2()
}

func (in *Integration) getV2(ctx context.Context, id string) (*page, error) {
	var p page
	q := url.Values{"body-format": {"storage"}}
	if _, err := in.do(ctx, http.MethodGet, "/api/v2/pages/"+url.PathEscape(id), q, nil, &p); err != nil {
		return nil, fmt.Errorf("get page %s: %w", id, err)
	}
	return &p, nil
}

func (in *Integration) byTitleV2(ctx context.Context, title string) (*page, error) {
	space, err := in.space(ctx)
	if err != nil {
		return nil, err
	}
	var res struct {
		Results []page `json:"results"`
	}
	q := url.Values{"space-id": {space}, "title": {title}, "body-format": {"storage"}}
	if _, err := in.do(ctx, http.MethodGet, "/api/v2/pages", q, nil, &res); err != nil {
		return nil, fmt.Errorf("find page by title: %w", err)
	}
	for i := range res.Results {
		if res.Results[i].Title == title {
			return &res.Results[i], nil
		}
	}
	return nil, nil
}

type pageV2 struct {
	ID       string   `json:"id,omitempty"`
	SpaceID  string   `json:"spaceId,omitempty"`
	Status   string   `json:"status"`
	Title    string   `json:"title"`
	ParentID string   `json:"parentId,omitempty"`
	Body     bodyV2   `json:"body"`
	Version  *version `json:"version,omitempty"`
}

type bodyV2 struct {
	Representation string `json:"representation"`
	Value          string `json:"value"`
}

func (in *Integration) createV2(ctx context.Context, title, body string) (*page, error) {
	space, err := in.space(ctx)
	if err != nil {
		return nil, err
	}
	req := pageV2{
		SpaceID: space, Status: "current", Title: title, ParentID: in.cfg.Parent,
		Body: bodyV2{Representation: "storage", Value: body},
	}
	var p page
	if _, err := in.do(ctx, http.MethodPost, "/api/v2/pages", nil, req, &p); err != nil {
		return nil, fmt.Errorf("create page: %w", err)
	}
	if p.ID == "" {
		return nil, integrations.Retryable("bad answer", fmt.Errorf("create page: %w", errNoID))
	}
	return &p, nil
}

func (in *Integration) updateV2(ctx context.Context, p *page, title, body string) error {
	req := pageV2{
		ID: p.ID, Status: "current", Title: title,
		Body:    bodyV2{Representation: "storage", Value: body},
		Version: &version{Number: p.Version.Number + 1},
	}
	if _, err := in.do(ctx, http.MethodPut, "/api/v2/pages/"+url.PathEscape(p.ID), nil, req, nil); err != nil {
		return fmt.Errorf("update page %s: %w", p.ID, err)
	}
	return nil
}

// space returns the id of the configured space, which version 2 wants
// instead of its key, asking once.
func (in *Integration) space(ctx context.Context) (string, error) {
	in.spaceMu.Lock()
	defer in.spaceMu.Unlock()
	if in.spaceID != "" {
		return in.spaceID, nil
	}
	var res struct {
		Results []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"results"`
	}
	q := url.Values{"keys": {in.cfg.Space}}
	if _, err := in.do(ctx, http.MethodGet, "/api/v2/spaces", q, nil, &res); err != nil {
		return "", fmt.Errorf("look up space %s: %w", in.cfg.Space, err)
	}
	for _, r := range res.Results {
		if r.Key == in.cfg.Space && r.ID != "" {
			in.spaceID = r.ID
			return r.ID, nil
		}
	}
	return "", integrations.Permanent("unknown space", fmt.Errorf("no space with key %s", in.cfg.Space))
}

var errNoID = errors.New("answer has no id")
