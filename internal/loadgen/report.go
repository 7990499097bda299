package loadgen

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

var jsonUnmarshal = json.Unmarshal

// Runs are labelled TEST/SIZE/TARGET ("h1/1k/nginx"); Report puts each
// TEST/SIZE on a row, the subject's figures against every other target's.
// A ratio is taken within each round (the targets of one round ran back to
// back) and the row shows the median over rounds, so a slow minute on a
// shared machine moves both sides of a ratio alike. With four rounds or
// more the CPU ratio also shows its quartiles over rounds: how far one
// round's figure can be trusted.

// Report renders runs as a Markdown table comparing subject with the rest.
func Report(runs []Run, subject string) string {
	type key struct{ test, size string }
	var rows []key
	byRow := map[key]map[string][]Run{} // target -> runs in round order
	for _, r := range runs {
		parts := strings.SplitN(r.Label, "/", 3)
		if len(parts) != 3 {
			continue
		}
		k := key{parts[0], parts[1]}
		if byRow[k] == nil {
			byRow[k] = map[string][]Run{}
			rows = append(rows, k)
		}
		byRow[k][parts[2]] = append(byRow[k][parts[2]], r)
	}
	var b strings.Builder
	b.WriteString("| test | object | target | req/s (median) | server CPU µs/req | " + subject + " ÷ target, req/s | target ÷ " + subject + ", CPU/req (quartiles) | rounds | errors |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range rows {
		targets := byRow[k]
		names := make([]string, 0, len(targets))
		for n := range targets {
			names = append(names, n)
		}
		// The subject last, the baselines before it in name order.
		slices.SortFunc(names, func(a, c string) int {
			if (a == subject) != (c == subject) {
				if a == subject {
					return 1
				}
				return -1
			}
			return strings.Compare(a, c)
		})
		subj := targets[subject]
		for _, n := range names {
			rs := targets[n]
			ratio, cpuRatio := "", ""
			if n != subject && len(subj) > 0 {
				ratio = fmt.Sprintf("%.2f×", median(roundRatios(subj, rs, func(r Run) float64 { return r.RPS }, false)))
				cpu := roundRatios(subj, rs, func(r Run) float64 { return r.ServerUSPerReq }, true)
				cpuRatio = fmt.Sprintf("%.2f×", median(cpu))
				if len(cpu) >= 4 {
					cpuRatio += fmt.Sprintf(" (%.2f–%.2f)", quantile(cpu, 0.25), quantile(cpu, 0.75))
				}
			}
			var errs int64
			for _, r := range rs {
				errs += r.Errors
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.2f | %s | %s | %d | %d |\n", k.test, k.size, n,
				median(field(rs, func(r Run) float64 { return r.RPS })),
				median(field(rs, func(r Run) float64 { return r.ServerUSPerReq })),
				ratio, cpuRatio, len(rs), errs)
		}
	}
	return b.String()
}

// roundRatios pairs subject and baseline runs by round: subject/baseline,
// or baseline/subject when inverse (for costs, where less is better).
func roundRatios(subject, baseline []Run, f func(Run) float64, inverse bool) []float64 {
	var out []float64
	for _, s := range subject {
		for _, b := range baseline {
			if b.Round != s.Round || f(b) == 0 || f(s) == 0 {
				continue
			}
			if inverse {
				out = append(out, f(b)/f(s))
			} else {
				out = append(out, f(s)/f(b))
			}
		}
	}
	return out
}

func field(rs []Run, f func(Run) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// quantile is the p-quantile of v, interpolated between the two nearest
// values (0 for none).
func quantile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := p * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[i]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}
