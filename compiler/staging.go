package compiler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// Any viewer can choose a staging distribution (the policy's header, or an
// edited openfront-cd cookie), so a staging that guards less than its
// primary is a way around the primary's rules. The primary's web ACL
// already applies to staging; its behaviors' rules and geo restriction do
// not. These are warnings: a migration may mean it.

// stagingWeakens warns where staging distribution sid serves what primary
// pid refuses. Behaviors pair up by where each pattern of either side,
// taken as a path, is routed on both sides: that path is served by both
// behaviors of the pair. The two defaults pair too.
func (k *checker) stagingWeakens(pid string, pd *schema.Distribution, sid string, sd *schema.Distribution, name string, p *schema.ContinuousDeploymentPolicy) {
	if !p.Enabled || !sd.Enabled {
		return // staging serves nothing
	}
	how := chooseStaging(name, p)
	key := "distributions." + sid
	type pair struct{ primary, staging int } // -1: the default behavior
	seen := map[pair]bool{{-1, -1}: true}
	pairs := []pair{{-1, -1}}
	paths := []string{"the default behavior's paths"}
	for _, d := range []*schema.Distribution{pd, sd} {
		for _, b := range d.CacheBehaviors {
			path, err := table.CompilePattern(b.PathPattern)
			if err != nil {
				continue // an error elsewhere
			}
			pr := pair{routeBehavior(pd, path.String()), routeBehavior(sd, path.String())}
			if !seen[pr] {
				seen[pr] = true
				pairs = append(pairs, pr)
				paths = append(paths, path.String())
			}
		}
	}
	for n, pr := range pairs {
		pb, sb := behaviorAt(pd, pr.primary), behaviorAt(sd, pr.staging)
		field := func(f string) []cue.Selector {
			if pr.staging < 0 {
				return sel("distributions", sid, "defaultCacheBehavior", f)
			}
			return sel("distributions", sid, "cacheBehaviors", pr.staging, f)
		}
		where := fmt.Sprintf("staging distribution %q serves %s", sid, paths[n])
		if len(pb.TrustedKeyGroups) > 0 {
			if len(sb.TrustedKeyGroups) == 0 {
				k.warn(key, field("trustedKeyGroups"), "%s without the signed URLs that %q requires %s", where, pid, how)
			} else if extra := missingFrom(pb.TrustedKeyGroups, sb.TrustedKeyGroups); len(extra) > 0 {
				k.warn(key, field("trustedKeyGroups"), "%s to URLs signed by key group %s, which %q does not trust there %s", where, quoteAll(extra), pid, how)
			}
		}
		if sb.ViewerProtocolPolicy == "allow-all" && pb.ViewerProtocolPolicy != "allow-all" {
			k.warn(key, field("viewerProtocolPolicy"), "%s over plain HTTP (allow-all), which %q does not (%s) %s", where, pid, pb.ViewerProtocolPolicy, how)
		}
		if extra := missingFrom(pb.AllowedMethods, sb.AllowedMethods); len(extra) > 0 {
			k.warn(key, field("allowedMethods"), "%s to %s requests, which %q refuses there %s", where, strings.Join(extra, ", "), pid, how)
		}
	}
	if loose := looserGeo(pid, pd.Restrictions.GeoRestriction, sd.Restrictions.GeoRestriction); loose != "" {
		k.warn(key, sel("distributions", sid, "restrictions", "geoRestriction"), "staging distribution %q serves %s %s", sid, loose, how)
	}
}

// chooseStaging says how a viewer reaches staging under the policy.
func chooseStaging(name string, p *schema.ContinuousDeploymentPolicy) string {
	tc := p.TrafficConfig
	switch {
	case tc.SingleHeaderConfig != nil:
		return fmt.Sprintf("(a viewer can choose staging with policy %q's header %s)", name, tc.SingleHeaderConfig.Header)
	case tc.SingleWeightConfig != nil && tc.SingleWeightConfig.SessionStickinessConfig != nil:
		return fmt.Sprintf("(a viewer can choose staging by editing policy %q's openfront-cd cookie)", name)
	default:
		return fmt.Sprintf("(policy %q sends staging a share of requests: a viewer can repeat one until it lands there)", name)
	}
}

// routeBehavior is the index of the behavior of d that serves path, or -1
// for the default.
func routeBehavior(d *schema.Distribution, path string) int {
	for i, b := range d.CacheBehaviors {
		if p, err := table.CompilePattern(b.PathPattern); err == nil && p.Match(path) {
			return i
		}
	}
	return -1
}

func behaviorAt(d *schema.Distribution, i int) *schema.CacheBehavior {
	if i < 0 {
		return &d.DefaultCacheBehavior
	}
	return &d.CacheBehaviors[i]
}

// missingFrom lists what of got is not in have, in got's order.
func missingFrom(have, got []string) []string {
	var out []string
	for _, s := range got {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// looserGeo says which viewers staging's geo restriction serves that
// primary pid's blocks, "" for none.
func looserGeo(pid string, primary, staging schema.GeoRestriction) string {
	blocked := func(cs []string) string {
		if len(cs) == 0 {
			return ""
		}
		return fmt.Sprintf("viewers in %s, which %q's geo restriction blocks", strings.Join(cs, ", "), pid)
	}
	switch primary.RestrictionType {
	case "whitelist":
		if staging.RestrictionType == "whitelist" {
			return blocked(missingFrom(primary.Items, staging.Items))
		}
		return fmt.Sprintf("viewers outside %q's whitelist (%s): its restrictionType is %s", pid, strings.Join(primary.Items, ", "), staging.RestrictionType)
	case "blacklist":
		switch staging.RestrictionType {
		case "whitelist":
			var both []string
			for _, c := range staging.Items {
				if slices.Contains(primary.Items, c) {
					both = append(both, c)
				}
			}
			return blocked(both)
		case "blacklist":
			return blocked(missingFrom(staging.Items, primary.Items))
		}
		return blocked(primary.Items) + ": its restrictionType is none"
	}
	return ""
}
