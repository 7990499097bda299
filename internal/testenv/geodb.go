package testenv

import (
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/internal/testenv/geodb"
)

// The geo database helpers, from testenv/geodb.

// Place is a city database's record for an address.
type Place = geodb.Place

// WriteGeoDB writes a tiny MaxMind database mapping CIDRs to records.
func WriteGeoDB(t testing.TB, path string, records map[string]mmdbtype.Map) {
	t.Helper()
	geodb.WriteGeoDB(t, path, records)
}

// Country is a country database's record.
func Country(iso string) mmdbtype.Map { return geodb.Country(iso) }

// ASN is an ASN database's record.
func ASN(number uint32, org string) mmdbtype.Map { return geodb.ASN(number, org) }
