package signedurl

// What table_test.go, outside the package, shares with its tests.
var (
	JSCase     = jsCase
	RequestFor = requestFor
)
