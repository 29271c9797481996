//go:build !race

package rpc_test

// raceDetector reports whether the tests run under the race detector,
// which makes the server several times slower.
const raceDetector = false
