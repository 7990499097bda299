package cli

import (
	"bytes"
	"strings"
	"testing"
)

// The command list lines every summary up in one column, whatever the
// longest command's name, and lists every command.
func TestUsageListsCommandsInOneColumn(t *testing.T) {
	var out bytes.Buffer
	if code := Main([]string{"help"}, &out, &out); code != exitOK {
		t.Fatalf("help exited %d", code)
	}
	_, list, ok := strings.Cut(out.String(), "commands:\n")
	if !ok {
		t.Fatalf("no command list in:\n%s", out.String())
	}
	list, _, _ = strings.Cut(list, "\n\n")
	lines := strings.Split(list, "\n")
	if len(lines) != len(commands) {
		t.Fatalf("%d lines for %d commands:\n%s", len(lines), len(commands), list)
	}
	column := -1
	for _, l := range lines {
		name := strings.Fields(l)[0]
		at := strings.Index(l, commands[name].summary)
		if at < 0 {
			t.Fatalf("line %q lacks %s's summary", l, name)
		}
		if column >= 0 && at != column {
			t.Errorf("%s's summary starts at column %d, the first one's at %d:\n%s", name, at, column, list)
		}
		column = at
	}
}
