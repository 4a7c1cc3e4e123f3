package ruler

import (
	"fmt"
	"strings"
)

// Task is what RULER's synthetic.yaml and constants.py say about one task.
type Task struct {
	Name string
	// Generator is RULER's script: "niah", "variable_tracking",
	// "common_words_extraction", "freq_words_extraction", or "qa" (no
	// generator here: qa tasks are read from RULER-format JSONL).
	Generator        string
	TokensToGenerate int
	// Scorer is RULER's metric: "all" (string_match_all) or "part"
	// (string_match_part).
	Scorer string
	// Haystack is "noise", "essay" or "needle" (niah, vt); empty otherwise.
	Haystack string
	// KeyType and ValueType are "words", "numbers" or "uuids" (niah only).
	KeyType, ValueType string
	// Keys, Values and Queries are num_needle_k, _v and _q (niah only).
	// Keys is already max(k, q), as niah.py makes it.
	Keys, Values, Queries int
	// Unit is what the length control counts and shrinks: "lines",
	// "words" (essay), "list words" (cwe, distinct words), "coded words" (fwe,
	// total occurrences).
	Unit string
	// Generated is false for qa_1 and qa_2 (they need SQuAD / HotpotQA).
	Generated bool
}

// The templates and answer prefixes of RULER's scripts/data/synthetic/
// constants.py, byte for byte.
const (
	niahTemplate     = "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic {type_needle_v} for {query} mentioned in the provided text?"
	niahAnswerPrefix = " The special magic {type_needle_v} for {query} mentioned in the provided text are"
	niahNeedle       = "One of the special magic {type_needle_v} for {key} is: {value}."

	vtTemplate     = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\nQuestion: Find all variables that are assigned the value {query} in the text above."
	vtAnswerPrefix = " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assigned the value {query}, they are: "

	cweTemplate     = "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n{context}\nQuestion: What are the 10 most common words in the above list?"
	cweAnswerPrefix = " Answer: The top 10 words that appear most often in the list are:"

	fweTemplate     = "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text?"
	fweAnswerPrefix = " Answer: According to the coded text above, the three most frequently appeared words are:"

	// noiseLine is the noise haystack's line (niah.py, variable_tracking.py).
	noiseLine = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
)

// The generators' names, as RULER's scripts are named.
const (
	genNIAH = "niah"
	genVT   = "variable_tracking"
	genCWE  = "common_words_extraction"
	genFWE  = "freq_words_extraction"
	genQA   = "qa"
)

func niahTask(name, haystack, key, value string, k, v, q int) Task {
	unit := "lines"
	if haystack == "essay" {
		unit = "words"
	}
	return Task{Name: name, Generator: genNIAH, TokensToGenerate: 128, Scorer: "all", Haystack: haystack,
		KeyType: key, ValueType: value, Keys: max(k, q), Values: v, Queries: q, Unit: unit, Generated: true}
}

// tasks is scripts/synthetic.yaml merged with constants.py, in RULER's order.
var tasks = []Task{
	niahTask("niah_single_1", "noise", "words", "numbers", 1, 1, 1),
	niahTask("niah_single_2", "essay", "words", "numbers", 1, 1, 1),
	niahTask("niah_single_3", "essay", "words", "uuids", 1, 1, 1),
	niahTask("niah_multikey_1", "essay", "words", "numbers", 4, 1, 1),
	niahTask("niah_multikey_2", "needle", "words", "numbers", 1, 1, 1),
	niahTask("niah_multikey_3", "needle", "uuids", "uuids", 1, 1, 1),
	niahTask("niah_multivalue", "essay", "words", "numbers", 1, 4, 1),
	niahTask("niah_multiquery", "essay", "words", "numbers", 1, 1, 4),
	{Name: "vt", Generator: genVT, TokensToGenerate: 30, Scorer: "all", Haystack: "noise", Unit: "lines", Generated: true},
	{Name: "cwe", Generator: genCWE, TokensToGenerate: 120, Scorer: "all", Unit: "list words", Generated: true},
	{Name: "fwe", Generator: genFWE, TokensToGenerate: 50, Scorer: "all", Unit: "coded words", Generated: true},
	{Name: "qa_1", Generator: genQA, TokensToGenerate: 32, Scorer: "part"},
	{Name: "qa_2", Generator: genQA, TokensToGenerate: 32, Scorer: "part"},
}

// Tasks returns the 11 tasks this package generates, in RULER's order.
func Tasks() []Task {
	var out []Task
	for _, t := range tasks {
		if t.Generated {
			out = append(out, t)
		}
	}
	return out
}

// Lookup returns the facts of any of RULER's 13 tasks (the 11 generated
// here, and qa_1/qa_2, which only RULER-format data files provide).
func Lookup(name string) (Task, bool) {
	for _, t := range tasks {
		if t.Name == name {
			return t, true
		}
	}
	return Task{}, false
}

// taskNames lists the names of all 13 tasks for error messages.
func taskNames() string {
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

func lookupGenerated(name string) (Task, error) {
	t, ok := Lookup(name)
	if !ok {
		return Task{}, fmt.Errorf("ruler: unknown task %q (valid: %s)", name, taskNames())
	}
	if !t.Generated {
		return Task{}, fmt.Errorf("ruler: task %s needs its data set (%s): read it from RULER-format JSONL", name, map[string]string{"qa_1": "SQuAD v2 dev", "qa_2": "HotpotQA dev"}[name])
	}
	return t, nil
}
