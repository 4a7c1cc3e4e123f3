package main

import "testing"

// renderChat finds the default system message of a ChatML template whether the template
// writes its newlines as real ones (SmolLM2's GGUF) or as Jinja's \n escape (Qwen2.5's),
// and never takes a Jinja expression for it.
func TestRenderChatMLDefaultSystem(t *testing.T) {
	const user = "Hi"
	const turn = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	tests := []struct {
		name, tmpl, want string
	}{
		{"real newlines",
			"{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}{% endif %}",
			"<|im_start|>system\nBe brief.<|im_end|>\n" + turn},
		{"escaped newlines after a system-message expression",
			"{%- if messages[0]['role'] == 'system' %}\n    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n" +
				"{%- else %}\n    {{- '<|im_start|>system\\nYou are a bot. Be kind.<|im_end|>\\n' }}\n{%- endif %}",
			"<|im_start|>system\nYou are a bot. Be kind.<|im_end|>\n" + turn},
		{"no default system", "{{ '<|im_start|>' + message['role'] + '\n' }}", turn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderChat(tc.tmpl, user)
			if err != nil || got != tc.want {
				t.Errorf("renderChat = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
