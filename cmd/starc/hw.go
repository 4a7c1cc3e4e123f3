package main

import (
	"context"
	"flag"
)

var hwCommand = &command{
	name:  "hw",
	short: "hardware cost of attention on the paper's configurations",
	long:  `Hw is being built (issue B).`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		return func(ctx context.Context, e *env, args []string) error {
			return usagef("not available yet")
		}
	},
}
