package loopback

import "testing"

func TestIsHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:8080": true, "app.localhost": true, "app.localhost:6060": true,
		"127.0.0.1": true, "127.0.0.1:6060": true, "127.8.9.10": true, "[::1]": true, "[::1]:6060": true, "::1": true,
		"": false, "example.com": false, "evil.example:6060": false, "localhost.example.com": false,
		"10.0.0.1:6060": false, "0.0.0.0": false, "[::]:6060": false, "notlocalhost": false,
	} {
		if got := IsHost(host); got != want {
			t.Errorf("IsHost(%q) = %v, want %v", host, got, want)
		}
	}
}
