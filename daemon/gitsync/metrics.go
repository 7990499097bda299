package gitsync

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors are the syncer's metrics, read from its status at each
// scrape: a node whose remote is down (or whose credentials expired)
// serves its last commit without complaint, and only /status showed it.
//
//	openfront_git_fetches_total{result}                    success, failure
//	openfront_git_fetch_failing                            1 while the last fetch (or its checkout) failed
//	openfront_git_last_fetch_success_timestamp_seconds     the last fetch that worked
func (s *Syncer) Collectors() []prometheus.Collector {
	fetches := func(result string, f func(Status) int) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "openfront_git_fetches_total",
			Help:        "Fetches of the config's git branch (polls, webhooks, retries), by result.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(f(s.Status())) })
	}
	return []prometheus.Collector{
		fetches("success", func(st Status) int { return st.Fetches - st.FetchFailures }),
		fetches("failure", func(st Status) int { return st.FetchFailures }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openfront_git_fetch_failing",
			Help: "1 while the last fetch of the config's git branch, or the checkout of its head, failed: new commits are not deployed.",
		}, func() float64 {
			if s.Status().FetchError != "" {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openfront_git_last_fetch_success_timestamp_seconds",
			Help: "When the config's git branch was last fetched successfully, in Unix seconds.",
		}, func() float64 {
			if t := s.Status().LastFetchOK; !t.IsZero() {
				return float64(t.UnixNano()) / 1e9
			}
			return 0
		}),
	}
}
