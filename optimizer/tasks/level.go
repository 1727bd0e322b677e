package tasks

import (
	"fmt"
	"strings"
)

// Level says how far a task may go. Each level includes the steps of the
// levels below it.
type Level int

// Levels, from the gentlest to the strongest.
const (
	Low Level = iota
	Medium
	High
	Aggressive
)

var levelNames = []string{"low", "medium", "high", "aggressive"}

// ParseLevel reads "low", "medium", "high" or "aggressive" (any case). It
// returns [ErrBadLevel] for anything else.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Level(i), nil
		}
	}
	return Low, fmt.Errorf("%w %q: want one of %s", ErrBadLevel, s, strings.Join(levelNames, ", "))
}

// String returns the level's name.
func (l Level) String() string {
	if l < Low || int(l) >= len(levelNames) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
