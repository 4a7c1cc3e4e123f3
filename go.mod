module starc

go 1.26.8

require (
	github.com/dlclark/regexp2 v1.12.0
	github.com/x448/float16 v0.8.4
	golang.org/x/sys v0.49.0
	golang.org/x/text v0.43.0
)
