package tasks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisInfo reads INFO sections into a key → value map.
func redisInfo(ctx context.Context, c *redis.Client, sections ...string) (map[string]string, error) {
	text, err := c.Info(ctx, sections...).Result()
	if err != nil {
		return nil, fmt.Errorf("read redis info: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out, nil
}

// num returns the numeric field k of info, or an error naming it.
func num(info map[string]string, k string) (float64, error) {
	v, ok := info[k]
	if !ok {
		return 0, fmt.Errorf("redis info has no %s", k)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("redis info %s: %w", k, err)
	}
	return f, nil
}

// infoMeter reads one numeric INFO field.
func infoMeter(c *redis.Client, section, field string) func(context.Context) (float64, error) {
	return func(ctx context.Context) (float64, error) {
		info, err := redisInfo(ctx, c, section)
		if err != nil {
			return 0, err
		}
		return num(info, field)
	}
}
