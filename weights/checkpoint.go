package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Checkpoint is a Hugging Face model directory: config.json, optional
// generation_config.json and tokenizer.json, and the weights in
// model.safetensors or in shards listed by model.safetensors.index.json.
type Checkpoint struct {
	// ConfigJSON holds config.json verbatim; the model package parses it.
	ConfigJSON []byte
	// GenerationConfigJSON holds generation_config.json, nil if absent.
	GenerationConfigJSON []byte

	dir    string
	files  []*SafetensorsFile
	byName map[string]*SafetensorsFile
	names  []string // sorted
}

// OpenCheckpoint opens the checkpoint in dir and validates every weight
// file. model.safetensors is preferred over a shard index when both exist.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	config, err := readRegular(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("weights: checkpoint %s: %w", dir, err)
	}
	c := &Checkpoint{ConfigJSON: config, dir: dir, byName: make(map[string]*SafetensorsFile)}
	gen, err := readRegular(filepath.Join(dir, "generation_config.json"))
	switch {
	case err == nil:
		c.GenerationConfigJSON = gen
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("weights: checkpoint %s: %w", dir, err)
	}

	single := filepath.Join(dir, "model.safetensors")
	index := filepath.Join(dir, "model.safetensors.index.json")
	hasSingle, errSingle := regularFile(single)
	hasIndex, errIndex := regularFile(index)
	switch {
	case hasSingle:
		err = c.openSingle(single)
	case errSingle != nil:
		err = fmt.Errorf("weights: checkpoint %s: %w", dir, errSingle)
	case hasIndex:
		err = c.openSharded(index)
	case errIndex != nil:
		err = fmt.Errorf("weights: checkpoint %s: %w", dir, errIndex)
	default:
		err = fmt.Errorf("weights: checkpoint %s: no model.safetensors or model.safetensors.index.json", dir)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	sort.Strings(c.names)
	return c, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// regularFile reports whether path names a file. Absent is (false, nil);
// anything else that keeps it from being read as a file (a directory, a
// symlink loop, a permission error on the way) is an error that says so,
// never "missing".
func regularFile(path string) (bool, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return false, fmt.Errorf("%s: a symbolic link to nothing: %w", filepath.Base(path), err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	case st.IsDir():
		return false, fmt.Errorf("%s is a directory, not a file", filepath.Base(path))
	}
	return true, nil
}

// readRegular reads path, naming what it is when it cannot be read as a
// file; an absent file wraps fs.ErrNotExist with the word "missing".
func readRegular(path string) ([]byte, error) {
	ok, err := regularFile(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("missing %s: %w", filepath.Base(path), fs.ErrNotExist)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return data, nil
}

func (c *Checkpoint) openSingle(path string) error {
	f, err := OpenSafetensors(path)
	if err != nil {
		return err
	}
	c.files = append(c.files, f)
	for _, name := range f.names {
		c.byName[name] = f
		c.names = append(c.names, name)
	}
	return nil
}

// openSharded opens every shard named in the index's weight_map and checks
// that each mapped tensor is in its shard and no tensor is in two shards.
func (c *Checkpoint) openSharded(indexPath string) error {
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return fmt.Errorf("weights: %s: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return fmt.Errorf("weights: %s: weight_map is missing or empty", indexPath)
	}
	shards := make(map[string]*SafetensorsFile)
	var shardNames []string
	for _, shard := range index.WeightMap {
		if _, ok := shards[shard]; ok {
			continue
		}
		if !filepath.IsLocal(shard) {
			return fmt.Errorf("weights: %s: weight_map shard %q is not a path inside the checkpoint", indexPath, shard)
		}
		shards[shard] = nil
		shardNames = append(shardNames, shard)
	}
	sort.Strings(shardNames)
	owner := make(map[string]string) // tensor name → shard holding it
	for _, shard := range shardNames {
		f, err := OpenSafetensors(filepath.Join(c.dir, shard))
		if err != nil {
			return fmt.Errorf("%w (shard listed in %s)", err, indexPath)
		}
		c.files = append(c.files, f)
		shards[shard] = f
		for _, name := range f.names {
			if other, dup := owner[name]; dup {
				return fmt.Errorf("weights: %s: tensor %q is in both %s and %s", indexPath, name, other, shard)
			}
			owner[name] = shard
		}
	}
	for name, shard := range index.WeightMap {
		f := shards[shard]
		if _, ok := f.tensors[name]; !ok {
			return fmt.Errorf("weights: %s: tensor %q mapped to %s: %w", indexPath, name, shard, ErrMissingTensor)
		}
		c.byName[name] = f
		c.names = append(c.names, name)
	}
	return nil
}

// Dir returns the checkpoint directory.
func (c *Checkpoint) Dir() string { return c.dir }

// Names returns every tensor name in sorted order.
func (c *Checkpoint) Names() []string { return slices.Clone(c.names) }

// Tensor returns the named tensor from whichever file holds it; an unknown
// name wraps ErrMissingTensor.
func (c *Checkpoint) Tensor(name string) (Tensor, error) {
	f, ok := c.byName[name]
	if !ok {
		return Tensor{}, fmt.Errorf("weights: checkpoint %s: tensor %q: %w", c.dir, name, ErrMissingTensor)
	}
	return f.Tensor(name)
}

// TokenizerPath returns the path of tokenizer.json, or an error if the
// checkpoint has none.
func (c *Checkpoint) TokenizerPath() (string, error) {
	path := filepath.Join(c.dir, "tokenizer.json")
	if !fileExists(path) {
		return "", fmt.Errorf("weights: checkpoint %s: no tokenizer.json", c.dir)
	}
	return path, nil
}

// Close unmaps every weight file. Views returned earlier become invalid.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	c.files, c.byName = nil, nil
	return errors.Join(errs...)
}
