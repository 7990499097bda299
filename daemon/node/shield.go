package node

import (
	"errors"
	"fmt"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/shield"
)

// setShield makes the node part of a fleet with Origin Shield, from
// --region, --origin-shield and --origin-shield-secret.
func (n *Node) setShield() error {
	o := n.opts
	if o.Region == "" && o.ShieldURLs == "" && o.ShieldSecretFile == "" {
		return nil
	}
	c := &shield.Config{Region: o.Region}
	var err error
	if c.URLs, err = shield.ParseURLs(o.ShieldURLs); err != nil {
		return fmt.Errorf("--origin-shield: %w", err)
	}
	if o.ShieldSecretFile == "" {
		return errors.New("--origin-shield-secret: a node that asks or is a shield needs the fleet's shared secret FILE")
	}
	if c.Secret, err = shield.ReadSecret(o.ShieldSecretFile); err != nil {
		return fmt.Errorf("--origin-shield-secret: %w", err)
	}
	n.shield = c
	n.handler.SetShield(c)
	return nil
}

// sayMissingShields logs, for a new table, the shield regions of its
// origins this node has no shield for: it asks those origins itself.
func (n *Node) sayMissingShields(t *table.Table) {
	var regions []string
	for d := range t.Distributions() {
		for _, o := range d.Origins {
			if r := o.Spec.ShieldRegion(); r != "" {
				regions = append(regions, r)
			}
		}
	}
	missing := n.shield.Missing(regions)
	key := fmt.Sprint(missing)
	if prev := n.saidMissing.Swap(&key); len(missing) == 0 || prev != nil && *prev == key {
		return
	}
	n.log.Warn("origins with originShield in regions this node has no --origin-shield URL for: it asks them directly", "regions", missing, "region", n.opts.Region)
}
