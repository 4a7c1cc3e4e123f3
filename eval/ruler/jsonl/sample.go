package jsonl

// Sample is one line of RULER's data JSONL (prepare.py's output).
type Sample struct {
	Index   int      `json:"index"`
	Input   string   `json:"input"`   // the task text (model template applied, without the answer prefix)
	Outputs []string `json:"outputs"` // reference answers
	// Length is the prompt's token count (input + answer prefix) with the
	// model's tokenizer, without special tokens.
	Length int `json:"length"`
	// LengthWithModelTemplate is the same count with the model template
	// applied; equal to Length for RULER's "base" template.
	LengthWithModelTemplate int    `json:"length_w_model_temp"`
	AnswerPrefix            string `json:"answer_prefix"`
	// TokenPositionAnswer is where the first needle's value sits, in tokens
	// from the start of the input (RULER writes it for niah, and a
	// placeholder elsewhere).
	TokenPositionAnswer int `json:"token_position_answer"`
}

// Prediction is one line of RULER's prediction JSONL (what call_api.py
// writes and evaluate.py reads).
type Prediction struct {
	Index      int            `json:"index"`
	Pred       string         `json:"pred"`
	Input      string         `json:"input"`
	Outputs    []string       `json:"outputs"`
	Others     map[string]any `json:"others"`
	Truncation int            `json:"truncation"`
	Length     int            `json:"length"`
}
