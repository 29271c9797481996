package pgtest

// Names and the sweep of leftover databases, for the tests.
var (
	DBName  = dbName
	Sweep   = sweep
	HostTag = hostTag
	Alive   = alive
)
