// Package testenv finds the data tests share: ../shared beside the
// repository (llama.cpp goldens, models, texts) and the converted default
// model. Tests skip when data is missing, except under CI (CI set), where
// missing data is a failure: CI never skips silently.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Shared returns the path of name under ../shared (or $STARC_SHARED),
// skipping or failing the test when it is absent.
func Shared(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("STARC_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared")
	}
	return need(t, filepath.Join(dir, name), "the shared data directory (../shared beside the repository, or $STARC_SHARED)")
}

// DefaultModel returns the converted SmolLM2-135M-Instruct directory
// (models/smollm2-135m-instruct, made by scripts/setup-model.sh).
func DefaultModel(t testing.TB) string {
	t.Helper()
	return need(t, filepath.Join(RepoRoot(), "models", "smollm2-135m-instruct"), "the default model (run scripts/setup-model.sh)")
}

// DefaultGGUF returns the SmolLM2 Q4_1 GGUF kept by scripts/setup-model.sh.
func DefaultGGUF(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("STARC_SMOLLM2_GGUF"); p != "" {
		return need(t, p, "$STARC_SMOLLM2_GGUF")
	}
	return need(t, filepath.Join(RepoRoot(), "models", "SmolLM2-135M-Instruct.Q4_1.gguf"), "the SmolLM2 GGUF (run scripts/setup-model.sh)")
}

func need(t testing.TB, path, what string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing under CI: %v", what, err)
		}
		t.Skipf("%s is missing: %v", what, err)
	}
	return path
}
