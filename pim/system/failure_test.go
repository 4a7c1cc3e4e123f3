package system

import (
	"context"
	"strings"
	"testing"
)

func TestRunFailureModes(t *testing.T) {
	mistral, _ := ModelByName("mistral-7b")
	base := func() Config { return Config{Model: mistral, Lin: 2048, Lout: 16, Batch: 16, AttAccCompat: true} }
	badCap := DGXAttAcc(true)
	badCap.PIM.Rows = 1 << 13 // organisation gives 8 GiB per stack, stated 16 GiB
	zeroChannels := DGXAttAcc(true)
	zeroChannels.PIM.Channels = 0
	smallDevice := DGXAttAcc(true)
	smallDevice.AttAccs, smallDevice.StacksPerAcc = 1, 1
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"Lout too small", func(c *Config) { c.Lout = 1 }, "Lout must be >= 2"},
		{"Lout too large", func(c *Config) { c.Lout = 1<<22 + 2 }, "decode steps"},
		{"negative Lin", func(c *Config) { c.Lin = -1 }, "Lin must be in 0..4194304, got -1"},
		{"zero batch", func(c *Config) { c.Batch = 0 }, "batch must be in 1..65536, got 0"},
		{"unknown method", func(c *Config) { c.Method = "h2o" }, `unknown method "h2o" (valid: full, quest, sparq, starc, sparse)`},
		{"sparse without table", func(c *Config) { c.Method = MethodSTARC }, "needs a budget table"},
		{"full with table", func(c *Config) { c.Method, c.BudgetTable = MethodFull, []int{16} }, "takes no budget table"},
		{"non-positive budget", func(c *Config) { c.BudgetTable = []int{16, 0} }, "step 2: budget must be in 1..8388608 tokens, got 0"},
		{"budget past any context", func(c *Config) { c.BudgetTable = []int{16, 9223372036854775807} }, "step 2: budget must be in 1..8388608 tokens, got 9223372036854775807"},
		{"table shorter than the run", func(c *Config) { c.BudgetTable = []int{16, 32} }, "budget table has 2 budgets for 15 decode steps (Lout 16): lower Lout to 3"},
		{"Lin past any context", func(c *Config) { c.Lin = 1 << 40 }, "Lin must be in 0..4194304"},
		{"batch past any run", func(c *Config) { c.Batch = 1 << 40 }, "batch must be in 1..65536"},
		{"layers past any model", func(c *Config) { c.Model.Layers = 1 << 40 }, "layers (config.json num_hidden_layers) must be in 1..4096, got 1099511627776"},
		{"capacity does not add up", func(c *Config) { c.Hardware = &badCap }, "PIM stack capacity does not add up"},
		{"zero channels", func(c *Config) { c.Hardware = &zeroChannels }, "PIM.Channels must be positive"},
		// 1 stack of 16 GiB; Mistral in compat mode needs 2·32·32·128·2 B = 512 KiB per token.
		{"context does not fit", func(c *Config) { c.Hardware = &smallDevice; c.Lin = 32768 }, "context does not fit"},
		{"context does not fit at paper scale", func(c *Config) { c.Lin, c.Lout, c.Batch = 2048, 32000, 64 }, "context does not fit"},
		{"invalid model", func(c *Config) { c.Model.KVHeads = 0 }, "kv_heads (config.json num_key_value_heads) must be in 1..4096, got 0"},
		{"no heads per GPU", func(c *Config) { c.Model.Heads, c.Model.KVHeads = 4, 4 }, "leaves none per GPU"},
		{"head dim the closed form does not model", func(c *Config) { c.AttAccCompat = false; c.Model.HeadDim = 64 }, "head dim 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.edit(&cfg)
			_, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "system: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if strings.Contains(err.Error(), "Config.") {
				t.Errorf("error %q leaks an internal hint", err)
			}
		})
	}
}

// TestCapacityBoundary: the KV cache of the longest context must fit the PIM
// capacity computed from the organisation, 8 × 5 × 16 GiB = 640 GiB.
func TestCapacityBoundary(t *testing.T) {
	mistral, _ := ModelByName("mistral-7b")
	if got, want := DGXAttAcc(true).CapacityBytes(), int64(640)<<30; got != want {
		t.Fatalf("capacity %d, want %d", got, want)
	}
	perToken := int64(2 * 32 * 32 * 128 * 2) // compat: K and V of 32 heads in 32 layers
	batch := int64(16)
	maxTokens := (int64(640) << 30) / (perToken * batch) // 81920
	for _, tc := range []struct {
		lout int
		fits bool
	}{{int(maxTokens) - 2048 + 1, true}, {int(maxTokens) - 2048 + 2, false}} {
		_, err := Run(context.Background(), Config{Model: mistral, Lin: 2048, Lout: tc.lout, Batch: int(batch), AttAccCompat: true,
			Cycles: func(R int) (int64, Counts) { return 1000, attaccCounts(R) }})
		if (err == nil) != tc.fits {
			t.Errorf("Lout %d (max L %d): err = %v, fits want %v", tc.lout, 2048+tc.lout-1, err, tc.fits)
		}
	}
}
