package ruler

import "strings"

// fill replaces each "{name}" field of tmpl by its value in one pass, as
// Python's str.format does: a value that itself contains "{query}" is not
// expanded again.
func fill(tmpl string, fields ...string) string {
	pairs := make([]string, 0, len(fields))
	for i := 0; i+1 < len(fields); i += 2 {
		pairs = append(pairs, "{"+fields[i]+"}", fields[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// singular is niah.py's rewrite when one value is asked for (q·v == 1),
// applied, as there, to the whole prompt template (model template, task
// template and answer prefix) before its fields are filled: the type name
// then drops its final "s".
func singular(tmpl, typeName string) (string, string) {
	tmpl = strings.ReplaceAll(tmpl, "Some", "A")
	tmpl = strings.ReplaceAll(tmpl, "are all", "is")
	tmpl = strings.ReplaceAll(tmpl, "are", "is")
	tmpl = strings.ReplaceAll(tmpl, "answers", "answer")
	return tmpl, typeName[:len(typeName)-1]
}

// promptTemplate is prepare.py's prompt template: the model template
// applied to the task template, then the answer prefix.
func promptTemplate(model func(string) string, task, answerPrefix string) string {
	if model == nil {
		return task + answerPrefix
	}
	return model(task) + answerPrefix
}

// joinQueries joins several keys as niah.py does: "a, b, and c"; two keys
// give "a, and b" there too (its join puts ", and " before the last key).
func joinQueries(keys []string) string {
	if len(keys) == 1 {
		return keys[0]
	}
	return strings.Join(keys[:len(keys)-1], ", ") + ", and " + keys[len(keys)-1]
}
