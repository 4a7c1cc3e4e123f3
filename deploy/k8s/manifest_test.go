package k8s

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"starc/eval/grid"
	"starc/internal/testenv"
)

// decode reads a manifest strictly: a field the API type does not have is
// an error, as `kubectl apply --validate=strict` makes it.
func decode(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// flagValue is the value after flag in args.
func flagValue(t *testing.T, args []string, flag string) string {
	t.Helper()
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("args %q have no %s", args, flag)
	}
	return args[i+1]
}

// mountOf is the volume mount holding path.
func mountOf(c corev1.Container, path string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func volume(spec corev1.PodSpec, name string) corev1.Volume {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	return corev1.Volume{}
}

// The grid Job is an Indexed Job whose completions are the shard count
// starc is given, whose pods all write DIR on one persistent volume, read
// the model from a read-only volume and the spec from the ConfigMap, which
// is itself a valid grid spec.
func TestGridJobManifest(t *testing.T) {
	var job batchv1.Job
	decode(t, "job.yaml", &job)
	var cm corev1.ConfigMap
	decode(t, "configmap.yaml", &cm)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("%s %s, want batch/v1 Job", job.APIVersion, job.Kind)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode %v, want Indexed", s.CompletionMode)
	}
	c := s.Template.Spec.Containers[0]
	if len(c.Args) < 3 || c.Args[0] != "grid" || c.Args[1] != "run" {
		t.Fatalf("the container runs %q, want starc grid run", c.Args)
	}
	shards, err := strconv.Atoi(flagValue(t, c.Args, "--shards"))
	if s.Completions == nil {
		t.Fatal("no completions")
	}
	if err != nil || int(*s.Completions) != shards {
		t.Errorf("completions %d but --shards %d", *s.Completions, shards)
	}
	if s.Parallelism != nil && *s.Parallelism > *s.Completions {
		t.Errorf("parallelism %d > completions %d", *s.Parallelism, *s.Completions)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && s.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q", s.Template.Spec.RestartPolicy)
	}
	out := flagValue(t, c.Args, "--out")
	m, ok := mountOf(c, out)
	if !ok || m.ReadOnly || volume(s.Template.Spec, m.Name).PersistentVolumeClaim == nil {
		t.Errorf("--out %s is not on a writable persistent volume (mount %+v)", out, m)
	}
	specPath := c.Args[2]
	m, ok = mountOf(c, specPath)
	v := volume(s.Template.Spec, m.Name)
	if !ok || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Fatalf("the spec %s is not in ConfigMap %s (mount %+v, volume %+v)", specPath, cm.Name, m, v)
	}
	key := strings.TrimPrefix(specPath, strings.TrimSuffix(m.MountPath, "/")+"/")
	spec, err := grid.ParseSpec([]byte(cm.Data[key]), "configmap.yaml:data."+key)
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range spec.Models {
		mm, ok := mountOf(c, model)
		if !ok || !mm.ReadOnly {
			t.Errorf("model %s is not on a read-only mount", model)
		}
	}

	var merge batchv1.Job
	decode(t, "merge-job.yaml", &merge)
	mc := merge.Spec.Template.Spec.Containers[0]
	if len(mc.Args) < 3 || mc.Args[0] != "grid" || mc.Args[1] != "merge" || mc.Args[2] != out {
		t.Errorf("the merge runs %q, want starc grid merge %s", mc.Args, out)
	}
	if mm, ok := mountOf(mc, out); !ok || volume(merge.Spec.Template.Spec, mm.Name).PersistentVolumeClaim.ClaimName !=
		volume(s.Template.Spec, "data").PersistentVolumeClaim.ClaimName {
		t.Errorf("the merge does not mount the grid's volume")
	}
}

// Strict decoding is what catches a misspelt field: the same Job with
// completionMode misspelt is refused, naming the field.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("completionMode:"), []byte("completionMod:"), 1)
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(bad, &job); err == nil || !strings.Contains(err.Error(), "completionMod") {
		t.Errorf("a misspelt field was accepted: %v", err)
	}
}

// Each pod's completion index reaches `starc grid run` as its shard: the
// container's own arguments, run by a starc built here with
// JOB_COMPLETION_INDEX = 0..completions-1 as Kubernetes sets it and the
// mounts mapped to local directories (the spec mount holding the tiny
// stories260K grid), run every cell of the grid exactly once together.
func TestCompletionIndexReachesGridRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds starc and runs a grid")
	}
	var job batchv1.Job
	decode(t, "job.yaml", &job)
	c := job.Spec.Template.Spec.Containers[0]
	completions := int(*job.Spec.Completions)
	tmp := t.TempDir()
	starc := filepath.Join(tmp, "starc")
	build := exec.Command("go", "build", "-o", starc, "./cmd/starc")
	build.Dir = testenv.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Each mount becomes a local directory.
	local := map[string]string{}
	for _, m := range c.VolumeMounts {
		local[m.MountPath] = filepath.Join(tmp, "mnt", m.Name)
		os.MkdirAll(local[m.MountPath], 0o755)
	}
	remap := func(p string) string {
		for mount, dir := range local {
			if strings.HasPrefix(p, mount+"/") {
				return dir + p[len(mount):]
			}
		}
		return p
	}
	models := filepath.Join(tmp, "stories")
	conv := exec.Command(starc, "convert", "--dtype", "f32", testenv.Shared(t, "models/stories260K/stories260K.gguf"), models)
	if out, err := conv.CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, out)
	}
	spec := fmt.Sprintf(`{"name": "tiny", "models": [%q], "methods": ["full", "starc", "quest"], "budgets": [8, 16],
  "attention": {"dense_layers": 1, "window": 16, "cluster_size": 4, "recluster": 16, "page_size": 4, "kv": "dense"},
  "perplexity": [{"name": "a", "file": %q, "tokens": 16}, {"name": "b", "file": %q, "prefill": 8, "tokens": 16}]}`,
		models, testenv.Shared(t, "data/tinyshakespeare_first20000.txt"), testenv.Shared(t, "data/pg1342_pride_and_prejudice.txt"))
	specPath := remap(c.Args[2])
	os.MkdirAll(filepath.Dir(specPath), 0o755)
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = remap(a)
	}
	ran := 0
	runNow := regexp.MustCompile(`shard (\d+)/(\d+): \d+ cells, \d+ finished before, (\d+) run now`)
	for i := range completions {
		cmd := exec.Command(starc, args...)
		cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pod %d: %v\n%s", i, err, out)
		}
		m := runNow.FindStringSubmatch(string(out))
		if m == nil || m[1] != strconv.Itoa(i) || m[2] != strconv.Itoa(completions) {
			t.Fatalf("pod %d did not run shard %d/%d:\n%s", i, i, completions, out)
		}
		n, _ := strconv.Atoi(m[3])
		ran += n
	}
	if ran != 10 {
		t.Errorf("the %d pods ran %d cells together, want each of the 10 once", completions, ran)
	}
	out := remap(flagValue(t, c.Args, "--out"))
	if msg, err := exec.Command(starc, "grid", "merge", out).CombinedOutput(); err != nil || !strings.Contains(string(msg), "10 cells, 10 done") {
		t.Errorf("merge: %v\n%s", err, msg)
	}
}
