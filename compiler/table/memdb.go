package table

import memdb "github.com/hashicorp/go-memdb"

// Table and index names of the go-memdb store, one schema function per
// table as Nomad's state store has them.
const (
	tableDistributions          = "distributions"
	tableBehaviors              = "behaviors"
	tableOrigins                = "origins"
	tableOriginGroups           = "originGroups"
	tableKeyGroups              = "keyGroups"
	tableStreamingDistributions = "streamingDistributions"

	indexID = "id"
	// indexAlias holds exact aliases.
	indexAlias = "alias"
	// indexWildcard holds wildcard aliases reversed ("com.example." for
	// "*.example.com") so a prefix query finds every wildcard covering a host.
	indexWildcard = "wildcard"
	// indexDistribution selects the rows of one distribution, in order.
	indexDistribution = "distribution"
)

func dbSchema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableDistributions:          distributionsTable(),
		tableBehaviors:              behaviorsTable(),
		tableOrigins:                originsTable(),
		tableOriginGroups:           originGroupsTable(),
		tableKeyGroups:              keyGroupsTable(),
		tableStreamingDistributions: streamingTable(),
	}}
}

func hostIndexes() map[string]*memdb.IndexSchema {
	return map[string]*memdb.IndexSchema{
		indexID:       {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		indexAlias:    {Name: indexAlias, Unique: true, AllowMissing: true, Indexer: &memdb.StringSliceFieldIndex{Field: "ExactAliases"}},
		indexWildcard: {Name: indexWildcard, Unique: true, AllowMissing: true, Indexer: &memdb.StringSliceFieldIndex{Field: "ReversedWildcards"}},
	}
}

func distributionsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableDistributions, Indexes: hostIndexes()}
}

func streamingTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableStreamingDistributions, Indexes: hostIndexes()}
}

// behaviorsTable keys behaviors by distribution and position, so iterating
// one distribution yields them in precedence order (the default last).
func behaviorsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableBehaviors, Indexes: map[string]*memdb.IndexSchema{
		indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "DistributionID"},
			&memdb.UintFieldIndex{Field: "Position"},
		}}},
		indexDistribution: {Name: indexDistribution, Indexer: &memdb.StringFieldIndex{Field: "DistributionID"}},
	}}
}

func perDistributionTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{
		indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "DistributionID"},
			&memdb.StringFieldIndex{Field: "ID"},
		}}},
		indexDistribution: {Name: indexDistribution, Indexer: &memdb.StringFieldIndex{Field: "DistributionID"}},
	}}
}

func originsTable() *memdb.TableSchema      { return perDistributionTable(tableOrigins) }
func originGroupsTable() *memdb.TableSchema { return perDistributionTable(tableOriginGroups) }

func keyGroupsTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableKeyGroups, Indexes: map[string]*memdb.IndexSchema{
		indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
	}}
}
