package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// chatPrompt renders a single user message with the checkpoint's chat
// template. starc does not run Jinja: it recognises the template families
// it knows (ChatML, as SmolLM2-Instruct uses, and Llama-2's [INST]) and
// reproduces their output for one user turn with add_generation_prompt.
func chatPrompt(dir, user string) (string, error) {
	path := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--chat needs a chat template: %w", err)
	}
	var tc struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &tc); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var tmpl string
	if len(tc.ChatTemplate) == 0 || json.Unmarshal(tc.ChatTemplate, &tmpl) != nil || tmpl == "" {
		return "", fmt.Errorf("%s: chat_template is missing or not a single string; --chat cannot be used with this model", path)
	}
	return renderChat(tmpl, user)
}

// chatMLDefaultSystem finds the system message a ChatML template inserts
// when the conversation has none (SmolLM2: "You are a helpful AI assistant
// named SmolLM, trained by Hugging Face"; Qwen2.5: "You are Qwen, created
// by Alibaba Cloud. You are a helpful assistant."). The newline after
// "system" is a real one or Jinja's escape \n; the message is a plain string
// literal, so it holds no quote (which skips `+ messages[0]['content'] +`).
var chatMLDefaultSystem = regexp.MustCompile(`'<\|im_start\|>system(?:\n|\\n)([^'"\n]*?)<\|im_end\|>`)

func renderChat(tmpl, user string) (string, error) {
	switch {
	case strings.Contains(tmpl, "<|im_start|>"):
		var b strings.Builder
		if m := chatMLDefaultSystem.FindStringSubmatch(tmpl); m != nil {
			b.WriteString("<|im_start|>system\n" + m[1] + "<|im_end|>\n")
		}
		b.WriteString("<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n")
		return b.String(), nil
	case strings.Contains(tmpl, "[INST]"):
		return "[INST] " + strings.TrimSpace(user) + " [/INST]", nil
	}
	return "", fmt.Errorf("chat template not recognised (starc knows ChatML and Llama-2 [INST] templates)")
}
