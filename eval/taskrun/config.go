package taskrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"starc/eval"
)

// Config is what makes a run's predictions what they are. It is written
// to OUT/config.json; a rerun into the same directory must describe the
// same run (threads and output format may differ: they change speed and
// presentation, not answers).
type Config struct {
	Format  string `json:"format"` // "starc-taskrun"
	Version int    `json:"version"`
	// Model identifies the checkpoint: its directory's base name and a
	// hash of its config.json and the first bytes of its weights.
	Model string `json:"model"`
	// Data is where the samples come from: "generated" (starc's RULER
	// generators, with Seed and Template) or the RULER data directory read.
	Data     string      `json:"data"`
	Seed     int64       `json:"seed"`
	Template string      `json:"template"` // model template of generated prompts: "base" or "chat"
	Tasks    []string    `json:"tasks"`
	Lengths  []int       `json:"lengths"`
	Depths   []int       `json:"depths,omitempty"` // needle depths in % (niah tasks), empty = RULER's random depths
	Samples  int         `json:"samples"`
	Cells    []eval.Cell `json:"cells"`
	// Attention is every knob of the sparse methods and of where the KV
	// cache lives, as "name": "value" strings.
	Attention map[string]string `json:"attention"`
}

const (
	configFormat  = "starc-taskrun"
	configVersion = 1
)

// ConfigPath is where a run's configuration lives in its directory.
func ConfigPath(dir string) string { return filepath.Join(dir, "config.json") }

// Claim makes dir the home of the run cfg: it creates dir and writes
// config.json, or checks that an existing config.json describes the same
// run. A directory holding another run is refused, naming the first field
// that differs.
func Claim(dir string, cfg Config) error {
	cfg.Format, cfg.Version = configFormat, configVersion
	want, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	want = append(want, '\n')
	path := ConfigPath(dir)
	have, err := os.ReadFile(path)
	switch {
	case err == nil:
		if bytes.Equal(have, want) {
			return nil
		}
		var old Config
		if err := json.Unmarshal(have, &old); err != nil {
			return fmt.Errorf("%s: not a starc eval configuration (%v); use another --out", path, err)
		}
		if old.Format != configFormat {
			return fmt.Errorf("%s: not a starc eval configuration (format %q); use another --out", path, old.Format)
		}
		if field, was, now := firstDifference(old, cfg); field != "" {
			return fmt.Errorf("%s holds a run of another configuration: %s was %s, now %s; use another --out or the same flags",
				dir, field, was, now)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
	default:
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if entries, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("--out: %w", err)
	} else if len(entries) > 0 {
		return fmt.Errorf("--out %s: the directory is not empty and holds no config.json; use an empty or new directory", dir)
	}
	return writeFileAtomic(path, want)
}

// ReadConfig reads the configuration of the run in dir.
func ReadConfig(dir string) (Config, error) {
	var cfg Config
	path := ConfigPath(dir)
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("%s holds no starc eval run: %w", dir, err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Format != configFormat {
		return cfg, fmt.Errorf("%s: not a starc eval configuration", path)
	}
	return cfg, nil
}

// RunTasks is the run's tasks as Task values (Config keeps their
// directory names).
func (c Config) RunTasks() []Task {
	out := make([]Task, len(c.Tasks))
	for i, dir := range c.Tasks {
		out[i] = Task{Name: dir, Depth: -1}
		if j := strings.LastIndex(dir, "_depth"); j > 0 {
			if d, err := strconv.Atoi(dir[j+len("_depth"):]); err == nil && d >= 0 && d <= 100 {
				out[i] = Task{Name: dir[:j], Depth: d}
			}
		}
	}
	return out
}

// firstDifference names the first JSON field of Config whose values
// differ, with both values as JSON.
func firstDifference(a, b Config) (field, was, now string) {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		x, y := va.Field(i).Interface(), vb.Field(i).Interface()
		if reflect.DeepEqual(x, y) {
			continue
		}
		name := t.Field(i).Tag.Get("json")
		if j := bytes.IndexByte([]byte(name), ','); j >= 0 {
			name = name[:j]
		}
		if xm, ok := x.(map[string]string); ok {
			ym := y.(map[string]string)
			for k, v := range xm {
				if ym[k] != v {
					return name + "." + k, strconv.Quote(v), strconv.Quote(ym[k])
				}
			}
			for k, v := range ym {
				if _, ok := xm[k]; !ok {
					return name + "." + k, "unset", strconv.Quote(v)
				}
			}
		}
		xs, _ := json.Marshal(x)
		ys, _ := json.Marshal(y)
		return name, string(xs), string(ys)
	}
	return "", "", ""
}

// writeFileAtomic writes data to path through a temporary file in the
// same directory and a rename, so path is never half-written.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
