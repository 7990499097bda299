package cffunc

import "unicode/utf8"

// MaxLogBytes is how much of a run's log is kept, each line with its
// newline: CloudFront truncates a function's log at 10 KB
// (cloudfront-function-restrictions.md, "Logs").
const MaxLogBytes = 10 << 10

// Log is what a run's console.log printed, line by line, as CloudFront's
// TestFunction returns it (FunctionExecutionLogs): openfront route shows
// it. The edge leaves Context.Log nil, and the lines go to the debug log
// only.
type Log struct {
	Lines []string
	// Cut counts the lines cut short or left out past MaxLogBytes.
	Cut  int
	size int
}

func (l *Log) add(s string) {
	room := MaxLogBytes - l.size
	if room <= 0 {
		l.Cut++
		return
	}
	if len(s)+1 > room {
		n := room - 1
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
		l.Cut++
	}
	l.Lines = append(l.Lines, s)
	l.size += len(s) + 1
}
