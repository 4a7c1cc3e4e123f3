package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws "label [====    ] done/total  ETA left" on stderr when it
// is a terminal, redrawn at most every 100 ms; in a pipe or a log it draws
// nothing. Lines written through it (it is an io.Writer) clear the bar
// first, so messages and the bar never share a line.
type progressBar struct {
	w      io.Writer
	label  string
	tty    bool
	start  time.Time
	drawn  bool      // the bar is on screen
	last   time.Time // last redraw
	prefix string    // what the bar says before done/total
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, tty: isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) update(done, total int) {
	if !p.tty || total <= 0 || time.Since(p.start) < time.Second || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return // not a terminal, or too soon: a wait under a second needs no bar
	}
	p.last = time.Now()
	left := "?"
	if done > 0 {
		elapsed := time.Since(p.start)
		left = time.Duration(float64(elapsed) * float64(total-done) / float64(done)).Round(time.Second).String()
	}
	const width = 30
	fill := min(done, total) * width / total
	fmt.Fprintf(p.w, "\r%s [%-*s] %d/%d  ETA %s \x1b[K", p.label, width, strings.Repeat("=", fill), done, total, left)
	p.drawn = true
}

// Write prints b (whole lines) below a cleared bar; the bar comes back at
// the next update.
func (p *progressBar) Write(b []byte) (int, error) {
	p.clear()
	return p.w.Write(b)
}

func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
		p.last = time.Time{}
	}
}

// done removes the bar.
func (p *progressBar) done() { p.clear() }
