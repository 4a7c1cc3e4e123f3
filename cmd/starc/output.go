package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Output files: every flag defined with outputFlag is checked before the
// command does any work, and every file is written through a temporary
// file in its directory that is renamed into place, so an existing file is
// never left half-written or clobbered by a failed run. Temporaries are
// tracked so that a second interrupt, which exits at once, removes them.

// checkOutputs checks the path of every output flag given on the command
// line: it must not be a directory, its directory must exist and accept a
// new file, and no two flags may name the same file.
func checkOutputs(flags *flag.FlagSet) error {
	var err error
	seen := map[string]string{}
	flags.Visit(func(f *flag.Flag) {
		v, ok := f.Value.(*outputValue)
		if !ok || err != nil {
			return
		}
		path := v.String()
		if err = checkOutputPath(path); err != nil {
			err = usagef("-%s %s: %v", f.Name, path, err)
			return
		}
		abs, _ := filepath.Abs(path)
		if other, dup := seen[abs]; dup {
			err = usagef("-%s and -%s both write %s", other, f.Name, path)
		}
		seen[abs] = f.Name
	})
	return err
}

// checkOutputPath reports why path cannot be written atomically, or nil.
// The directory is tested by creating (and removing) a file in it, the
// only test that also holds for root and read-only mounts.
func checkOutputPath(path string) error {
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return errors.New("is a directory; want a file path")
		case !fi.Mode().IsRegular():
			return errors.New("is not a regular file (output files are replaced by a rename)")
		}
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	return checkWritableDir(filepath.Dir(path))
}

// checkWritableDir reports why a new file cannot be created in dir, or nil.
func checkWritableDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".starc-probe-")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// checkOutputDir reports why a directory cannot be written at path (by a
// rename of a temporary directory beside it), or nil.
func checkOutputDir(path string, replace bool) error {
	if fi, err := os.Stat(path); err == nil {
		switch {
		case !fi.IsDir():
			return errors.New("exists and is not a directory")
		case !replace:
			return errors.New("exists (add --force to replace it)")
		}
	}
	return checkWritableDir(filepath.Dir(path))
}

// temporaries are the temporary files being written right now.
var temporaries = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

func trackTemporary(path string, live bool) {
	temporaries.Lock()
	defer temporaries.Unlock()
	if live {
		temporaries.paths[path] = true
	} else {
		delete(temporaries.paths, path)
	}
}

// removeTemporaries deletes every temporary file still being written; the
// process exits right after.
func removeTemporaries() {
	temporaries.Lock()
	defer temporaries.Unlock()
	for p := range temporaries.paths {
		os.Remove(p)
	}
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so an existing file is never left half-written.
func writeFileAtomic(path string, data []byte) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	trackTemporary(f.Name(), true)
	defer func() {
		os.Remove(f.Name())
		trackTemporary(f.Name(), false)
	}()
	mode := os.FileMode(0o644) // CreateTemp makes the file private; keep an existing file's mode
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := f.Chmod(mode); err != nil {
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
