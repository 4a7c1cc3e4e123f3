package system

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxBudgetLine bounds one line of a budget table (a budget is a few digits).
const maxBudgetLine = 4096

// ReadBudgetTable reads the STARC artifact's kv_budget_*.txt format: one
// positive integer per line, the KV budget (tokens) of decode step 1, 2, ...
// Blank lines and lines starting with '#' are skipped, as the artifact's reader
// skips them; surrounding spaces are ignored. Anything else is an error naming
// name, the line and field 1 (the artifact prints a warning and drops the line).
func ReadBudgetTable(r io.Reader, name string) ([]int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxBudgetLine)
	var out []int
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF") // a UTF-8 byte order mark
		}
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		v, err := strconv.Atoi(text)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return nil, fmt.Errorf("system: budget table %s: line %d: field 1: %q is not an integer: %w", name, line, truncate(text, 40), err)
		}
		if v <= 0 || v > maxBudget {
			return nil, fmt.Errorf("system: budget table %s: line %d: field 1: budget must be 1..%d tokens, got %d", name, line, maxBudget, v)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("system: budget table %s: line %d: longer than %d bytes", name, line+1, maxBudgetLine)
		}
		return nil, fmt.Errorf("system: budget table %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("system: budget table %s: no budgets (expected one integer per line)", name)
	}
	return out, nil
}

// ReadBudgetTableFile opens path and reads it with ReadBudgetTable.
func ReadBudgetTableFile(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("system: budget table: %w", err)
	}
	defer f.Close()
	return ReadBudgetTable(f, path)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
