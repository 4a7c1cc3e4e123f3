package ruler

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"starc/internal/testenv"
)

// docSpec is the task text of ../shared/docs/ruler.md §2-3 (facts read
// from RULER's constants.py, written down before this package existed):
// the reference the prompts are checked against, so that no expected
// template comes from this package's own constants.
type docSpec struct {
	task, prefix map[string]string // by generator
	needle       string
	noise        string
}

var docGenerators = []string{genNIAH, genVT, genCWE, genFWE} // the order of §2's "- task:" lines

func loadDocSpec(t *testing.T) docSpec {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "docs/ruler.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unescape := func(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }
	taskRe := regexp.MustCompile("^- task: `(.*)`$")
	prefixRe := regexp.MustCompile("^- answer prefix: `(.*)`$")
	needleRe := regexp.MustCompile("^- needle line: `(.*)`$")
	noiseRe := regexp.MustCompile("^- noise haystack: the line `([^`]*)`")
	d := docSpec{task: map[string]string{}, prefix: map[string]string{}}
	var tasks, prefixes []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := taskRe.FindStringSubmatch(line); m != nil {
			tasks = append(tasks, unescape(m[1]))
		}
		if m := prefixRe.FindStringSubmatch(line); m != nil {
			prefixes = append(prefixes, unescape(m[1]))
		}
		if m := needleRe.FindStringSubmatch(line); m != nil {
			d.needle = m[1]
		}
		if m := noiseRe.FindStringSubmatch(line); m != nil {
			d.noise = m[1]
		}
	}
	if len(tasks) != len(docGenerators) || len(prefixes) != len(docGenerators) || d.needle == "" || d.noise == "" {
		t.Fatalf("ruler.md: found %d task templates, %d answer prefixes, needle %q, noise %q; want 4, 4 and both", len(tasks), len(prefixes), d.needle, d.noise)
	}
	for i, g := range docGenerators {
		d.task[g], d.prefix[g] = tasks[i], prefixes[i]
	}
	return d
}

// TestTemplatesAreRULERsByteForByte compares the templates with ruler.md's.
func TestTemplatesAreRULERsByteForByte(t *testing.T) {
	d := loadDocSpec(t)
	ours := map[string][2]string{
		genNIAH: {niahTemplate, niahAnswerPrefix},
		genVT:   {vtTemplate, vtAnswerPrefix},
		genCWE:  {cweTemplate, cweAnswerPrefix},
		genFWE:  {fweTemplate, fweAnswerPrefix},
	}
	for _, g := range docGenerators {
		if ours[g][0] != d.task[g] {
			t.Errorf("%s task template:\n got %q\nwant %q", g, ours[g][0], d.task[g])
		}
		if ours[g][1] != d.prefix[g] {
			t.Errorf("%s answer prefix:\n got %q\nwant %q", g, ours[g][1], d.prefix[g])
		}
	}
	if niahNeedle != d.needle {
		t.Errorf("needle line %q, want %q", niahNeedle, d.needle)
	}
	if noiseLine != d.noise {
		t.Errorf("noise line %q, want %q", noiseLine, d.noise)
	}
	// The vt answer prefix ends with a space, which a careless copy loses.
	if !strings.HasSuffix(d.prefix[genVT], "they are: ") {
		t.Errorf("ruler.md's vt answer prefix lost its final space: %q", d.prefix[genVT])
	}
}

// TestTaskTable checks names, order and tokens to generate against
// RULER's synthetic.yaml and constants.py as ruler.md §1 tabulates them.
func TestTaskTable(t *testing.T) {
	want := []struct {
		name     string
		ttg      int
		haystack string
		k, v, q  int
	}{
		{"niah_single_1", 128, "noise", 1, 1, 1},
		{"niah_single_2", 128, "essay", 1, 1, 1},
		{"niah_single_3", 128, "essay", 1, 1, 1},
		{"niah_multikey_1", 128, "essay", 4, 1, 1},
		{"niah_multikey_2", 128, "needle", 1, 1, 1},
		{"niah_multikey_3", 128, "needle", 1, 1, 1},
		{"niah_multivalue", 128, "essay", 1, 4, 1},
		{"niah_multiquery", 128, "essay", 4, 1, 4}, // max(k, q) keys
		{"vt", 30, "noise", 0, 0, 0},
		{"cwe", 120, "", 0, 0, 0},
		{"fwe", 50, "", 0, 0, 0},
	}
	got := Tasks()
	if len(got) != len(want) {
		t.Fatalf("Tasks() has %d tasks, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.TokensToGenerate != w.ttg || g.Haystack != w.haystack || g.Keys != w.k || g.Values != w.v || g.Queries != w.q || g.Scorer != "all" {
			t.Errorf("task %d = %+v, want %+v with scorer all", i, g, w)
		}
	}
	for _, qa := range []string{"qa_1", "qa_2"} {
		task, ok := Lookup(qa)
		if !ok || task.Generated || task.Scorer != "part" || task.TokensToGenerate != 32 {
			t.Errorf("Lookup(%s) = %+v, %v; want a part-scored, 32-token, not generated task", qa, task, ok)
		}
	}
}

// TestDepthsAreRULERs: niah.py's np.round(np.linspace(0, 100, 40)),
// printed by python3 as [round(100*i/39) for i in range(40)] (no value
// lies on a .5, so NumPy's and Python's rounding agree).
func TestDepthsAreRULERs(t *testing.T) {
	want := []int{0, 3, 5, 8, 10, 13, 15, 18, 21, 23, 26, 28, 31, 33, 36, 38, 41, 44, 46, 49, 51, 54, 56, 59, 62, 64, 67, 69, 72, 74, 77, 79, 82, 85, 87, 90, 92, 95, 97, 100}
	if len(depths) != len(want) {
		t.Fatalf("%d depths, want %d", len(depths), len(want))
	}
	for i := range want {
		if depths[i] != want[i] {
			t.Errorf("depth %d = %d, want %d", i, depths[i], want[i])
		}
	}
}
