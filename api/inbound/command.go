package inbound

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Levels an optimization may run at.
var levels = []string{"low", "medium", "high", "aggressive"}

// Bounds of one command, so a comment cannot ask for thousands of tasks.
const (
	maxTasks    = 16
	commandWord = "/tend"
)

var taskName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Optimize is a parsed request for an optimization run: the tasks asked for
// (none: the hub's default tasks) and the level (empty: the hub's level).
type Optimize struct {
	Tasks []string
	Level string
}

// errNotOptimize marks a /tend line with another subcommand.
var errNotOptimize = errors.New("only /tend optimize is understood here")

// FindOptimize looks for a line "/tend optimize [TASK...] [--level L]" in a
// comment body. The first line starting with /tend counts; quoted lines
// ("> /tend ...") do not. found is false when no line starts with /tend; err
// says why a /tend line could not be read.
func FindOptimize(body string) (cmd Optimize, found bool, err error) {
	for line := range strings.Lines(body) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != commandWord {
			continue
		}
		if len(fields) < 2 || fields[1] != "optimize" {
			return Optimize{}, true, errNotOptimize
		}
		cmd, err := ParseOptimize(fields[2:])
		return cmd, true, err
	}
	return Optimize{}, false, nil
}

// ParseOptimize reads the words after "optimize": task names and an
// optional "--level L" or "--level=L". Task names repeat at most once in
// the result. It returns an error naming the first word it cannot use.
func ParseOptimize(args []string) (Optimize, error) {
	var cmd Optimize
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--level" || a == "-l":
			if i+1 >= len(args) {
				return Optimize{}, errors.New("--level needs a value: low, medium, high or aggressive")
			}
			i++
			if err := cmd.setLevel(args[i]); err != nil {
				return Optimize{}, err
			}
		case strings.HasPrefix(a, "--level="):
			if err := cmd.setLevel(strings.TrimPrefix(a, "--level=")); err != nil {
				return Optimize{}, err
			}
		case strings.HasPrefix(a, "-"):
			return Optimize{}, fmt.Errorf("unknown option %q", clip(a, 32))
		case !taskName.MatchString(a):
			return Optimize{}, fmt.Errorf("bad task name %q", clip(a, 32))
		case contains(cmd.Tasks, a):
		default:
			if len(cmd.Tasks) == maxTasks {
				return Optimize{}, fmt.Errorf("at most %d tasks", maxTasks)
			}
			cmd.Tasks = append(cmd.Tasks, a)
		}
	}
	return cmd, nil
}

func (c *Optimize) setLevel(l string) error {
	if c.Level != "" {
		return errors.New("--level given twice")
	}
	l = strings.ToLower(l)
	if !contains(levels, l) {
		return fmt.Errorf("unknown level %q: want low, medium, high or aggressive", clip(l, 32))
	}
	c.Level = l
	return nil
}

// clip shortens s for a log line or an answer.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back up to a rune boundary so the result stays valid UTF-8.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
