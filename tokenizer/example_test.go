package tokenizer_test

import (
	"fmt"
	"log"
	"strings"

	"starc/tokenizer"
)

func Example() {
	tok, err := tokenizer.Load("testdata/stories260K.tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids[1:]))

	// Streaming: text appears only once a character is complete.
	var out strings.Builder
	d := tok.NewDecoder()
	for _, id := range tok.Encode("日本", tokenizer.EncodeOptions{}) {
		out.WriteString(d.Add(id))
	}
	out.WriteString(d.Flush())
	fmt.Println(out.String())
	// Output:
	// [1 403 407 261 378]
	// "Once upon a time"
	// 日本
}
