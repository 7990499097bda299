package compiler

import (
	"reflect"
	"strconv"

	"openfront.dev/schema"
)

// Continuous deployment, as CloudFront has it (understanding-continuous-
// deployment, continuous-deployment-quotas-considerations): a staging
// distribution has no aliases and serves only what its primary's policy
// sends it; a primary has one staging, a staging one primary; neither
// serves HTTP/3.

// stagingDistribution checks what a staging distribution is alone.
func (k *checker) stagingDistribution(id string, d *schema.Distribution) {
	if !d.Staging {
		return
	}
	key, where := "distributions."+id, "distribution "+strconv.Quote(id)
	if len(d.Aliases) > 0 {
		k.add(key, sel("distributions", id, "aliases"), "%s: a staging distribution has no aliases: viewers reach it only through its primary's continuous deployment policy", where)
	}
	if d.ContinuousDeploymentPolicyID != "" {
		k.add(key, sel("distributions", id, "continuousDeploymentPolicyId"), "%s: a staging distribution cannot have a continuous deployment policy of its own", where)
	}
}

// deployments checks the policies and the distributions that name them.
func (k *checker) deployments(cfg *schema.Config) {
	primaryOf := map[string]string{} // policy name -> primary id
	for _, id := range sortedKeys(cfg.Distributions) {
		d := cfg.Distributions[id]
		name := d.ContinuousDeploymentPolicyID
		if name == "" || d.Staging {
			continue
		}
		key := "distributions." + id
		at := sel("distributions", id, "continuousDeploymentPolicyId")
		if servesHTTP3(d) {
			k.add(key, sel("distributions", id, "httpVersion"), "distribution %q: continuous deployment does not work with HTTP/3 (httpVersion %q); choose http1.1 or http2", id, d.HTTPVersion)
		}
		p := cfg.ContinuousDeploymentPolicies[name]
		switch {
		case p == nil:
			k.add(key, at, "distribution %q: unknown continuous deployment policy %q%s", id, name, nameHint(name, sortedKeys(cfg.ContinuousDeploymentPolicies), "a key of continuousDeploymentPolicies"))
			continue
		case primaryOf[name] != "":
			k.add(key, at, "distribution %q: continuous deployment policy %q is already distribution %q's: a staging distribution has one primary", id, name, primaryOf[name])
			continue
		}
		primaryOf[name] = id
		if s := cfg.Distributions[p.StagingDistributionID]; s != nil && s.Staging {
			if s.HTTPVersion != d.HTTPVersion {
				k.add("distributions."+p.StagingDistributionID, sel("distributions", p.StagingDistributionID, "httpVersion"), "distribution %q: a staging distribution serves its primary's connections: its httpVersion must be %q, distribution %q's", p.StagingDistributionID, d.HTTPVersion, id)
			}
			if field, want := certificateDiffers(d.ViewerCertificate, s.ViewerCertificate); field != "" {
				k.add("distributions."+p.StagingDistributionID, sel("distributions", p.StagingDistributionID, "viewerCertificate", field), "distribution %q: a staging distribution serves its primary's connections, under its primary's certificate and security policy: its viewerCertificate.%s must be %s, distribution %q's", p.StagingDistributionID, field, want, id)
			}
			if !reflect.DeepEqual(d.ViewerMtlsConfig, s.ViewerMtlsConfig) {
				// The handshake is the primary's: staging's settings would
				// never apply, and a test of them would say nothing.
				at := sel("distributions", p.StagingDistributionID)
				if s.ViewerMtlsConfig != nil {
					at = sel("distributions", p.StagingDistributionID, "viewerMtlsConfig")
				}
				k.add("distributions."+p.StagingDistributionID, at, "distribution %q: a staging distribution serves its primary's connections, whose TLS handshake checks client certificates as the primary's viewerMtlsConfig says: its viewerMtlsConfig must be distribution %q's", p.StagingDistributionID, id)
			}
			if p.Enabled && !s.Enabled {
				k.warn("distributions."+p.StagingDistributionID, sel("distributions", p.StagingDistributionID, "enabled"), "distribution %q: a disabled staging distribution serves nothing: continuous deployment policy %q leaves every request to distribution %q", p.StagingDistributionID, name, id)
			}
			k.stagingWeakens(id, d, p.StagingDistributionID, s, name, p)
		}
	}
	stagingOf := map[string]string{} // staging id -> policy name
	for _, name := range sortedKeys(cfg.ContinuousDeploymentPolicies) {
		p := cfg.ContinuousDeploymentPolicies[name]
		key := "continuousDeploymentPolicies." + name
		at := func(parts ...any) []any { return append([]any{"continuousDeploymentPolicies", name}, parts...) }
		where := "continuous deployment policy " + strconv.Quote(name)
		sid := p.StagingDistributionID
		switch s := cfg.Distributions[sid]; {
		case s == nil:
			k.add(key, sel(at("stagingDistributionId")...), "%s: unknown distribution %q%s", where, sid, nameHint(sid, stagingIDs(cfg), "a staging distribution's id"))
		case !s.Staging:
			k.add(key, sel(at("stagingDistributionId")...), "%s: distribution %q is not a staging distribution: set staging: true on it (it then has no aliases of its own)", where, sid)
		case stagingOf[sid] != "":
			k.add(key, sel(at("stagingDistributionId")...), "%s: distribution %q is already continuous deployment policy %q's staging: a staging distribution has one primary", where, sid, stagingOf[sid])
		default:
			stagingOf[sid] = name
		}
		tc := p.TrafficConfig
		switch tc.Type {
		case "SingleWeight":
			if tc.SingleWeightConfig == nil {
				k.add(key, sel(at("trafficConfig", "type")...), "%s: type SingleWeight needs singleWeightConfig", where)
			}
			if tc.SingleHeaderConfig != nil {
				k.add(key, sel(at("trafficConfig", "singleHeaderConfig")...), "%s: singleHeaderConfig needs type SingleHeader", where)
			}
		case "SingleHeader":
			if tc.SingleHeaderConfig == nil {
				k.add(key, sel(at("trafficConfig", "type")...), "%s: type SingleHeader needs singleHeaderConfig", where)
			}
			if tc.SingleWeightConfig != nil {
				k.add(key, sel(at("trafficConfig", "singleWeightConfig")...), "%s: singleWeightConfig needs type SingleWeight", where)
			}
		}
		// API_SessionStickinessConfig: IdleTTL must not exceed MaximumTTL.
		if w := tc.SingleWeightConfig; w != nil && w.SessionStickinessConfig != nil {
			if s := w.SessionStickinessConfig; s.IdleTTL > s.MaximumTTL {
				k.add(key, sel(at("trafficConfig", "singleWeightConfig", "sessionStickinessConfig", "idleTTL")...), "%s: idleTTL %d is longer than maximumTTL %d", where, s.IdleTTL, s.MaximumTTL)
			}
		}
		if primaryOf[name] == "" {
			k.warn(key, sel("continuousDeploymentPolicies", name), "%s: no distribution names it in continuousDeploymentPolicyId: it sends nothing to staging", where)
		}
	}
	for _, id := range sortedKeys(cfg.Distributions) {
		if cfg.Distributions[id].Staging && stagingOf[id] == "" {
			k.warn("distributions."+id, sel("distributions", id, "staging"), "distribution %q: no continuous deployment policy names this staging distribution: it serves nothing", id)
		}
	}
}

// certificateDiffers names the first field of staging's viewer
// certificate that is not primary's, and primary's value, quoted ("" when
// they agree). The edge picks the certificate and TLS security policy by
// the connection's name, the primary's alias, so staging's are never
// used; CloudFront lets a staging distribution change only "cache
// behavior settings, origin settings, custom error responses, geographic
// restrictions, default root object, logging settings, description"
// (understanding-continuous-deployment). cloudFrontDefaultCertificate is
// the default certificate, the same as no certificateName.
func certificateDiffers(primary, staging schema.ViewerCertificate) (field, want string) {
	switch {
	case staging.CertificateName != primary.CertificateName:
		if primary.CertificateName == "" {
			return "certificateName", "unset (the default certificate)"
		}
		return "certificateName", strconv.Quote(primary.CertificateName)
	case staging.MinimumProtocolVersion != primary.MinimumProtocolVersion:
		return "minimumProtocolVersion", strconv.Quote(primary.MinimumProtocolVersion)
	case staging.SSLSupportMethod != primary.SSLSupportMethod:
		return "sslSupportMethod", strconv.Quote(primary.SSLSupportMethod)
	}
	return "", ""
}

// servesHTTP3 reports httpVersion http3 or http2and3.
func servesHTTP3(d *schema.Distribution) bool {
	return d.HTTPVersion == "http3" || d.HTTPVersion == "http2and3"
}

// stagingIDs are the ids of the staging distributions, sorted.
func stagingIDs(cfg *schema.Config) []string {
	var ids []string
	for _, id := range sortedKeys(cfg.Distributions) {
		if cfg.Distributions[id].Staging {
			ids = append(ids, id)
		}
	}
	return ids
}
