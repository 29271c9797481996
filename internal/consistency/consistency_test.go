package consistency_test

import (
	"context"
	"testing"

	"customerd/internal/consistency"
)

func TestParse(t *testing.T) {
	for _, s := range []string{"0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		l, err := consistency.Parse(s)
		if err != nil || l.String() != s {
			t.Errorf("Parse(%q) = %v, %v", s, l, err)
		}
	}
	for _, s := range []string{"", "0", "/1", "1/", "x/1", "1/1/1", "123456789/0", "-1/0", "0/+1"} {
		if _, err := consistency.Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
}

func TestRecord(t *testing.T) {
	consistency.Record(context.Background(), 5) // no recorder: nothing happens
	ctx, r := consistency.WithRecorder(context.Background())
	if !consistency.Recording(ctx) || consistency.Recording(context.Background()) {
		t.Fatal("Recording")
	}
	consistency.Record(ctx, 7)
	consistency.Record(ctx, 3)
	if r.Token() != 7 {
		t.Fatalf("token %v, want the highest, 0/7", r.Token())
	}
	if consistency.AtLeast(consistency.WithAtLeast(ctx, 9)) != 9 || consistency.AtLeast(ctx) != 0 {
		t.Fatal("AtLeast")
	}
}
