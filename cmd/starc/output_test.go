package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOutputPath(t *testing.T) {
	tmp := t.TempDir()
	existing := filepath.Join(tmp, "existing.json")
	os.WriteFile(existing, []byte("{}"), 0o644)
	readOnly := filepath.Join(tmp, "ro")
	os.Mkdir(readOnly, 0o555)
	notDir := filepath.Join(tmp, "file")
	os.WriteFile(notDir, nil, 0o644)
	cases := []struct {
		name, path, want string // want: "" for writable, else in the error
	}{
		{"new file", filepath.Join(tmp, "new.json"), ""},
		{"existing file", existing, ""},
		{"a directory", tmp, "is a directory"},
		{"a device", os.DevNull, "not a regular file"},
		{"missing parent", filepath.Join(tmp, "no", "x.json"), "does not exist"},
		{"parent is a file", filepath.Join(notDir, "x.json"), "is not a directory"},
		{"read-only directory", filepath.Join(readOnly, "x.json"), "not writable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "read-only directory" && os.Geteuid() == 0 {
				t.Skip("root writes into read-only directories")
			}
			err := checkOutputPath(tc.path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s: %v, want writable", tc.path, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("%s: %v, want an error saying %q", tc.path, err, tc.want)
			}
		})
	}
	if left := leftovers(t, tmp); len(left) > 0 {
		t.Errorf("probes left behind: %v", left)
	}
}

// A second signal exits at once: removeTemporaries deletes the temporary
// files of writes in progress, and only those.
func TestRemoveTemporaries(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, ".out.json.tmp-1")
	os.WriteFile(live, []byte("half"), 0o644)
	trackTemporary(live, true)
	done := filepath.Join(dir, ".old.json.tmp-2")
	os.WriteFile(done, []byte("x"), 0o644)
	trackTemporary(done, true)
	trackTemporary(done, false) // finished: no longer ours to remove
	removeTemporaries()
	trackTemporary(live, false)
	if _, err := os.Stat(live); err == nil {
		t.Errorf("live temporary %s not removed", live)
	}
	if _, err := os.Stat(done); err != nil {
		t.Errorf("untracked file removed: %v", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "a.json"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n := len(temporaries.paths); n != 0 {
		t.Errorf("%d temporaries still tracked after a finished write", n)
	}
}
