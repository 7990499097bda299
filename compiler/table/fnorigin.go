package table

import (
	"fmt"
	"sort"

	"openfront.dev/internal/cffunc"
	"openfront.dev/schema"
)

// A viewer-request function's origin helpers
// (helper-functions-origin-modification.md) send its request elsewhere:
// retarget makes a copy of the behavior with that target, and the rest of
// the request path (cache, failover, origin metrics) runs as for any
// behavior. The copy keeps the behavior's CacheScope and cache key: as in
// CloudFront the origin is not part of the key, so what chose it must be
// (a cookie or header the behavior keys on).

// ViewerRequest runs b's viewer-request function on req as the edge does,
// with c (its Origins are d): the response the function generated, or else
// the behavior the request goes on with, b with the target the function's
// origin helpers asked for. req then holds the request as the function
// returned it. The edge (daemon/edge) and openfront route and vet's route
// tests all run a function through here, so what they explain is what is served.
func (d *Distribution) ViewerRequest(b *Behavior, c cffunc.Context, req *cffunc.Request) (*Behavior, *cffunc.Response, error) {
	c.Origins = d
	resp, err := b.ViewerRequest.ViewerRequest(c, req)
	if err != nil || resp != nil {
		return nil, resp, err
	}
	if req.Origin != nil {
		return retarget(d, b, req.Origin)
	}
	return b, nil, nil
}

// retarget is b sending to what c asks for. An id d does not have, or an
// update openfront cannot make, is a ValidationError (502): the function
// returned what cannot be served.
func retarget(d *Distribution, b *Behavior, c *cffunc.OriginChange) (*Behavior, *cffunc.Response, error) {
	nb := *b
	switch {
	case c.Select != "":
		if o := d.Origins[c.Select]; o != nil {
			nb.Origin, nb.Group = o, nil
		} else if g := d.OriginGroups[c.Select]; g != nil {
			nb.Origin, nb.Group = nil, g
		} else {
			return nil, nil, &cffunc.ValidationError{Msg: fmt.Sprintf("selectRequestOriginById: no origin %q", c.Select)}
		}
	case c.Group != nil:
		p, s := d.Origins[c.Group.Primary], d.Origins[c.Group.Secondary]
		if p == nil || s == nil {
			return nil, nil, &cffunc.ValidationError{Msg: fmt.Sprintf("createRequestOriginGroup: no origin %q or %q", c.Group.Primary, c.Group.Secondary)}
		}
		nb.Origin, nb.Group = nil, NewOriginGroup(d.ID, p.ID+","+s.ID, p, s, c.Group.StatusCodes)
	}
	if u := c.Update; u != nil {
		// Of a group only the primary is updated, as in CloudFront.
		base := nb.Origin
		if nb.Group != nil {
			base = nb.Group.Primary
		}
		o, err := updatedOrigin(base, u)
		if err != nil {
			return nil, nil, err
		}
		if nb.Group != nil {
			g := *nb.Group
			g.Primary = o
			nb.Group = &g
		} else {
			nb.Origin = o
		}
	}
	return &nb, nil, nil
}

// defaultCustomOrigin is a custom origin's settings where a function
// names a domain for an origin that is not custom: CloudFront's defaults.
var defaultCustomOrigin = schema.CustomOriginConfig{HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "https-only",
	OriginReadTimeout: 30, OriginKeepaliveTimeout: 5, OriginSSLProtocols: []string{"TLSv1.2"}}

// updatedOrigin is base with u's settings: a custom origin, keeping base's
// id (its metrics and logs name the origin the function changed, so a
// function naming a new domain per request adds no label values).
func updatedOrigin(base *Origin, u *cffunc.OriginUpdate) (*Origin, error) {
	spec := *base.Spec
	var coc schema.CustomOriginConfig
	switch {
	case spec.CustomOriginConfig != nil:
		coc = *spec.CustomOriginConfig
	case u.DomainName != "":
		coc = defaultCustomOrigin
		spec.S3OriginConfig, spec.LocalOriginConfig, spec.LiveOriginConfig = nil, nil, nil
	default:
		return nil, &cffunc.ValidationError{Msg: fmt.Sprintf("updateRequestOrigin: origin %q is a %s origin: openfront updates custom origins, or makes one of a domainName", base.ID, base.Kind)}
	}
	if u.DomainName != "" {
		spec.DomainName = u.DomainName
	}
	if u.OriginPath != nil {
		spec.OriginPath = *u.OriginPath
	}
	if u.CustomHeaders != nil {
		spec.CustomHeaders = make([]schema.CustomHeader, 0, len(u.CustomHeaders))
		for n, v := range u.CustomHeaders {
			spec.CustomHeaders = append(spec.CustomHeaders, schema.CustomHeader{HeaderName: n, HeaderValue: v})
		}
		sort.Slice(spec.CustomHeaders, func(i, j int) bool { return spec.CustomHeaders[i].HeaderName < spec.CustomHeaders[j].HeaderName })
	}
	if u.ConnectionAttempts != 0 {
		spec.ConnectionAttempts = u.ConnectionAttempts
	}
	if u.ConnectionTimeout != 0 {
		spec.ConnectionTimeout = u.ConnectionTimeout
	}
	if spec.ConnectionTimeout == 0 {
		spec.ConnectionTimeout = 10
	}
	if u.ReadTimeout != 0 {
		coc.OriginReadTimeout = u.ReadTimeout
	}
	if u.KeepaliveTimeout != 0 {
		coc.OriginKeepaliveTimeout = u.KeepaliveTimeout
	}
	switch u.Protocol {
	case "http":
		coc.OriginProtocolPolicy = "http-only"
	case "https":
		coc.OriginProtocolPolicy = "https-only"
	}
	if u.Port != 0 {
		// The port of the protocol the origin is reached by.
		if coc.OriginProtocolPolicy != "https-only" {
			coc.HTTPPort = u.Port
		}
		if coc.OriginProtocolPolicy != "http-only" {
			coc.HTTPSPort = u.Port
		}
	}
	if u.SSLProtocols != nil {
		coc.OriginSSLProtocols = u.SSLProtocols
	}
	spec.CustomOriginConfig = &coc
	return &Origin{DistributionID: base.DistributionID, ID: base.ID, Kind: OriginCustom, Spec: &spec, FromFunction: true}, nil
}
