package weights

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config.json or model.safetensors that exists but cannot be read as a
// file is reported as what it is, not as missing.
func TestCheckpointNamesWhatTheFileIs(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"config.json missing", func(t *testing.T, dir string) { remove(t, dir, "config.json") }, "missing config.json"},
		{"config.json a directory", func(t *testing.T, dir string) { replaceWithDir(t, dir, "config.json") }, "config.json is a directory, not a file"},
		{"config.json a symlink loop", func(t *testing.T, dir string) { symlinkLoop(t, dir, "config.json") }, "config.json: stat"},
		{"config.json a dangling symlink", func(t *testing.T, dir string) { dangling(t, dir, "config.json") }, "config.json: a symbolic link to nothing"},
		{"model.safetensors a directory", func(t *testing.T, dir string) { replaceWithDir(t, dir, "model.safetensors") }, "model.safetensors is a directory, not a file"},
		{"model.safetensors a symlink loop", func(t *testing.T, dir string) { symlinkLoop(t, dir, "model.safetensors") }, "model.safetensors: stat"},
		{"model.safetensors a dangling symlink", func(t *testing.T, dir string) { dangling(t, dir, "model.safetensors") }, "model.safetensors: a symbolic link to nothing"},
		{"model.safetensors missing", func(t *testing.T, dir string) { remove(t, dir, "model.safetensors") }, "no model.safetensors or model.safetensors.index.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{
				"config.json":       []byte(testConfig),
				"model.safetensors": shard(t, f32Tensor("a", 1, 2)),
			})
			tc.setup(t, dir)
			_, err := OpenCheckpoint(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if msg := strings.ReplaceAll(err.Error(), dir, "DIR"); !strings.Contains(tc.want, "missing") && strings.Contains(msg, "missing") {
				t.Errorf("err = %v: says missing", err)
			}
		})
	}
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func replaceWithDir(t *testing.T, dir, name string) {
	t.Helper()
	remove(t, dir, name)
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlinkLoop(t *testing.T, dir, name string) {
	t.Helper()
	remove(t, dir, name)
	if err := os.Symlink(name, filepath.Join(dir, name)); err != nil {
		t.Skip("no symlinks:", err)
	}
}

func dangling(t *testing.T, dir, name string) {
	t.Helper()
	remove(t, dir, name)
	if err := os.Symlink("nowhere", filepath.Join(dir, name)); err != nil {
		t.Skip("no symlinks:", err)
	}
}
