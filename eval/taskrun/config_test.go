package taskrun

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"starc/eval"
)

func testConfig() Config {
	return Config{Model: "m-1234", Data: "generated", Seed: 42, Template: "base", Tasks: []string{"niah_single_1"},
		Lengths: []int{1024}, Samples: 2, Cells: []eval.Cell{{Method: "full"}, {Method: "starc", Budget: 64}},
		Attention: map[string]string{"kv": "dense", "window": "64"}}
}

func TestClaimWritesThenAcceptsTheSameRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := Claim(dir, testConfig()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := Claim(dir, testConfig()); err != nil {
		t.Fatalf("rerun of the same configuration refused: %v", err)
	}
	after, _ := os.ReadFile(ConfigPath(dir))
	if string(before) != string(after) {
		t.Fatal("a rerun rewrote config.json")
	}
}

func TestClaimRefusesAnotherRun(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		field  string
	}{
		{"seed", func(c *Config) { c.Seed = 7 }, "seed was 42, now 7"},
		{"cells", func(c *Config) { c.Cells = c.Cells[:1] }, "cells was"},
		{"samples", func(c *Config) { c.Samples = 3 }, "samples was 2, now 3"},
		{"attention knob", func(c *Config) { c.Attention = map[string]string{"kv": "pim", "window": "64"} }, `attention.kv was "dense", now "pim"`},
		{"attention knob added", func(c *Config) {
			c.Attention = map[string]string{"kv": "dense", "window": "64", "layout": "gqa"}
		}, "attention.layout was unset"},
		{"model", func(c *Config) { c.Model = "other" }, "model was"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Claim(dir, testConfig()); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig()
			tc.change(&cfg)
			err := Claim(dir, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want an error naming %q", err, tc.field)
			}
		})
	}
}

func TestClaimRefusesForeignDirectories(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if err := Claim(dir, testConfig()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a non-empty directory without config.json was claimed: %v", err)
	}
	if _, err := os.Stat(ConfigPath(dir)); err == nil {
		t.Fatal("config.json written into a foreign directory")
	}
	other := t.TempDir()
	os.WriteFile(ConfigPath(other), []byte(`{"format":"something-else"}`), 0o644)
	if err := Claim(other, testConfig()); err == nil || !strings.Contains(err.Error(), "not a starc eval configuration") {
		t.Fatalf("a foreign config.json was accepted: %v", err)
	}
	if b, _ := os.ReadFile(ConfigPath(other)); string(b) != `{"format":"something-else"}` {
		t.Fatal("a foreign config.json was overwritten")
	}
}

func TestReadConfigRoundTripsTasks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	tasks := []Task{{"niah_single_2", 0}, {"niah_single_2", 100}, {"vt", -1}, {"niah_single_1", 7}}
	cfg.Tasks = nil
	for _, task := range tasks {
		cfg.Tasks = append(cfg.Tasks, task.Dir())
	}
	if err := Claim(dir, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back := got.RunTasks(); !reflect.DeepEqual(back, tasks) {
		t.Fatalf("tasks %v read back as %v", tasks, back)
	}
	if _, err := ReadConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no starc eval run") {
		t.Fatalf("an empty directory: %v", err)
	}
}
