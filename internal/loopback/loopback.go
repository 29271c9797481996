// Package loopback holds the one rule, shared by the API and the debug
// server, for which requests are addressed to this machine.
package loopback

import (
	"net"
	"strings"
)

// IsHost reports whether host, the Host header of a request, names this
// machine: localhost, a name under .localhost, or a loopback address, with
// or without a port. A server that answers only such requests cannot be
// reached by a web page that points its own domain name at 127.0.0.1 (DNS
// rebinding), because the browser sends that domain name as the Host.
func IsHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
