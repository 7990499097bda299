//go:build !linux

package cffunc

import "time"

// Elsewhere a run's budget stays a wall-clock one.
const budgetClock = "wall-clock time"

func threadClock() (clock int32, ok bool) { return 0, false }

func cpuTime(clock int32) (time.Duration, bool) { return 0, false }
