package cffunc

import (
	"time"

	"golang.org/x/sys/unix"
)

// budgetClock is what a run's budget counts.
const budgetClock = "CPU time"

// threadClock is the CPU clock of the calling thread, which another
// thread of the process can read: MAKE_THREAD_CPUCLOCK(tid,
// CPUCLOCK_SCHED) of the kernel's posix-timers.h, what glibc's
// pthread_getcpuclockid gives (CLOCK_THREAD_CPUTIME_ID reads only the
// caller's own).
func threadClock() (clock int32, ok bool) {
	return int32(^unix.Gettid()<<3 | 6), true
}

// cpuTime is the CPU time a thread's clock has counted.
func cpuTime(clock int32) (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
