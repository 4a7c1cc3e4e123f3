package jsonl

// Sample is one line of RULER's data JSONL (what prepare.py writes and
// call_api.py reads).
type Sample struct {
	// Index identifies the sample in its file. RULER's niah.py writes the
	// character offset of the first answer in Input here; the other
	// generators write the sample's ordinal.
	Index   int      `json:"index"`
	Input   string   `json:"input"`   // the task text (model template applied, without the answer prefix)
	Outputs []string `json:"outputs"` // reference answers, at least one
	// Length is the prompt's token count (input + answer prefix, the model's
	// tokenizer, no special tokens) plus the task's tokens to generate; -1
	// when the line has none.
	Length int `json:"length"`
	// LengthWithModelTemplate is Length plus the model template's tokens
	// (RULER's --prepare_for_ns); equal to Length otherwise, -1 when absent.
	LengthWithModelTemplate int `json:"length_w_model_temp"`
	// AnswerPrefix is appended to Input to make the prompt; empty when absent.
	AnswerPrefix string `json:"answer_prefix"`
	// TokenPositionAnswer is the token count of Input before the first
	// answer (niah.py only); -1 when absent.
	TokenPositionAnswer int `json:"token_position_answer"`
	// Others and Truncation are copied into the prediction line as
	// call_api.py copies them ({} and -1 when absent).
	Others     map[string]any `json:"others"`
	Truncation int            `json:"truncation"`
}

// Prompt is the text the model continues: Input followed by AnswerPrefix,
// as call_api.py sends it.
func (s *Sample) Prompt() string { return s.Input + s.AnswerPrefix }

// Prediction is one line of RULER's prediction JSONL (what call_api.py
// writes and evaluate.py reads), fields in call_api.py's order.
type Prediction struct {
	Index      int            `json:"index"`
	Pred       string         `json:"pred"`       // the model's raw continuation
	Input      string         `json:"input"`      // the prompt: the sample's Input + AnswerPrefix
	Outputs    []string       `json:"outputs"`    // the sample's reference answers
	Others     map[string]any `json:"others"`     // written as {} when nil (evaluate.py reads others.id)
	Truncation int            `json:"truncation"` // the sample's, else -1
	Length     int            `json:"length"`     // the sample's, else -1
}

// NewPrediction is the prediction line call_api.py writes for sample s and
// the model's continuation pred.
func NewPrediction(s *Sample, pred string) Prediction {
	return Prediction{
		Index:      s.Index,
		Pred:       pred,
		Input:      s.Prompt(),
		Outputs:    s.Outputs,
		Others:     s.Others,
		Truncation: s.Truncation,
		Length:     s.Length,
	}
}
