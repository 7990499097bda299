package origin

import (
	"encoding/json"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// StreamingOriginID names a streaming distribution's s3Origin in errors and keys.
const StreamingOriginID = "s3Origin"

// StreamingOrigin describes a streaming distribution's s3Origin as an S3
// origin, so RTMP reads objects with the same client and signing as the edge.
func StreamingOrigin(sd *table.StreamingDistribution) *table.Origin {
	cfg := sd.Spec.S3Origin.S3OriginConfig
	spec := &schema.Origin{
		ID:                 StreamingOriginID,
		DomainName:         sd.Spec.S3Origin.DomainName,
		ConnectionAttempts: 3,
		ConnectionTimeout:  10,
		S3OriginConfig:     &cfg,
	}
	return &table.Origin{DistributionID: sd.ID, ID: StreamingOriginID, Kind: table.OriginS3, Spec: spec, S3: sd.S3}
}

// StreamingFetcher returns the fetcher for a streaming distribution's
// s3Origin, creating it on first use; its connections are shared by every
// RTMP session of that distribution.
func (p *Pool) StreamingFetcher(sd *table.StreamingDistribution) (Fetcher, error) {
	o := StreamingOrigin(sd)
	key := streamingKey(sd)
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.fetchers[key]; ok {
		return f, nil
	}
	f, err := newS3(o, p.logger())
	if err != nil {
		return nil, &Error{Origin: o.ID, Err: err}
	}
	p.fetchers[key] = f
	return f, nil
}

// streamingKey is where a streaming distribution's fetcher is kept; the
// "streaming/" prefix keeps it apart from a web distribution of the same id.
// The spec is the s3Origin's value, as JSON like specKey's.
func streamingKey(sd *table.StreamingDistribution) fetcherKey {
	b, _ := json.Marshal(sd.Spec.S3Origin)
	return fetcherKey{"streaming/" + sd.ID, StreamingOriginID, string(b)}
}
