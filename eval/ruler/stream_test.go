package ruler

import (
	"regexp"
	"testing"
)

func TestStreamDraws(t *testing.T) {
	r := newStream(42, "t", 1, "test", 0)
	// between is inclusive at both ends and roughly uniform (chi-square
	// over 10 cells, 99.9% critical value for 9 degrees of freedom: 27.9).
	var cells [10]int
	const n = 100000
	sawLo, sawHi := false, false
	for range n {
		v := r.between(10, 19)
		if v < 10 || v > 19 {
			t.Fatalf("between(10, 19) = %d", v)
		}
		sawLo, sawHi = sawLo || v == 10, sawHi || v == 19
		cells[v-10]++
	}
	chi := 0.0
	for _, c := range cells {
		d := float64(c) - n/10
		chi += d * d / (n / 10)
	}
	if !sawLo || !sawHi || chi > 27.9 {
		t.Errorf("between: ends seen %v %v, chi-square %.1f", sawLo, sawHi, chi)
	}
	// sample: k distinct values of [0, n).
	s := r.sample(40, 40)
	seen := map[int]bool{}
	for _, v := range s {
		if v < 0 || v >= 40 || seen[v] {
			t.Fatalf("sample(40, 40) = %v", s)
		}
		seen[v] = true
	}
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 100 {
		if u := r.uuid4(); !uuidRe.MatchString(u) {
			t.Fatalf("uuid4() = %q", u)
		}
	}
	if w := r.letters(upperLetters, 5); !regexp.MustCompile(`^[A-Z]{5}$`).MatchString(w) {
		t.Errorf("letters = %q", w)
	}
}

func TestStreamsAreSeparate(t *testing.T) {
	a := newStream(42, "vt", 4096, "sample", 0).src.Uint64()
	for _, b := range []*stream{
		newStream(43, "vt", 4096, "sample", 0),
		newStream(42, "cwe", 4096, "sample", 0),
		newStream(42, "vt", 8192, "sample", 0),
		newStream(42, "vt", 4096, "search", 0),
		newStream(42, "vt", 4096, "sample", 1),
	} {
		if b.src.Uint64() == a {
			t.Error("two different streams start alike")
		}
	}
	if newStream(42, "vt", 4096, "sample", 0).src.Uint64() != a {
		t.Error("the same stream starts differently")
	}
}
