package tokenizer

import (
	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites one text segment before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type seqNormalizer []normalizer

func (q seqNormalizer) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// prependNormalizer puts a prefix in front of every non-empty segment.
type prependNormalizer string

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return string(p) + s
}

type replaceNormalizer struct {
	pat     pattern
	content string
}

func (r replaceNormalizer) normalize(s string) string { return r.pat.replaceAll(s, r.content) }

// unicodeNormalizer is one of "NFC", "NFD", "NFKC", "NFKD".
type unicodeNormalizer string

func (u unicodeNormalizer) normalize(s string) string {
	switch u {
	case "NFC":
		return norm.NFC.String(s)
	case "NFD":
		return norm.NFD.String(s)
	case "NFKC":
		return norm.NFKC.String(s)
	default:
		return norm.NFKD.String(s)
	}
}
