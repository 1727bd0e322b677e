package e2e

import (
	"bufio"
	"os"
	"testing"

	"github.com/tend-dev/tend/events"
)

// ReadEvents reads a JSON Lines file of CloudEvents; a missing file is
// empty. A line that is not an event fails the test.
func ReadEvents(t testing.TB, path string) []events.Event {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []events.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		ev, err := events.Unmarshal(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}
