package core

import (
	"context"
	"testing"
)

func TestDurabilityMarks(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name               string
		ctx                context.Context
		relaxed, unhurried bool
	}{
		{"unmarked", ctx, false, false},
		{"relaxed", Relaxed(ctx), true, false},
		{"unhurried", Unhurried(ctx), true, true},
		{"relaxed, then unhurried", Unhurried(Relaxed(ctx)), true, true},
		{"unhurried, then relaxed", Relaxed(Unhurried(ctx)), true, false},
	} {
		if got := IsRelaxed(c.ctx); got != c.relaxed {
			t.Errorf("%s: IsRelaxed = %v, want %v", c.name, got, c.relaxed)
		}
		if got := IsUnhurried(c.ctx); got != c.unhurried {
			t.Errorf("%s: IsUnhurried = %v, want %v", c.name, got, c.unhurried)
		}
	}
}
