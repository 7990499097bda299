//go:build race

package cache

// raceEnabled: heap figures mean nothing under the race detector.
const raceEnabled = true
