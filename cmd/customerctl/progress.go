package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// barWidth is the number of cells of a progress bar.
const barWidth = 30

// renderBar draws done of total as a bar with a percentage, such as
// "[#########---------------------]  30%"; with total unknown (≤ 0) it
// returns "".
func renderBar(done, total int64) string {
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	filled := int(done * barWidth / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", filled), strings.Repeat("-", barWidth-filled), done*100/total)
}

// statusLine redraws one status line on a terminal every 200 ms: a bar of
// how far through its input the work is (when the size is known), then
// what status returns and the rate of count.
type statusLine struct {
	w      io.Writer
	stop   chan struct{}
	done   chan struct{}
	start  time.Time
	total  int64         // size of the input, ≤ 0 when unknown
	at     *atomic.Int64 // how far through the input
	count  *atomic.Int64 // the unit of the rate
	status func() string
}

// startProgress starts drawing on w; nil w draws nothing. Call finish when
// done.
func startProgress(w io.Writer, total int64, at, count *atomic.Int64, status func() string) *statusLine {
	p := &statusLine{w: w, stop: make(chan struct{}), done: make(chan struct{}), start: time.Now(), total: total, at: at, count: count, status: status}
	if w == nil {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw()
				fmt.Fprintln(p.w)
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *statusLine) draw() {
	line := p.status()
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		line += fmt.Sprintf(", %.0f/s", float64(p.count.Load())/secs)
	}
	if bar := renderBar(p.at.Load(), p.total); bar != "" {
		line = bar + " " + line
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line) // \x1b[K clears what a longer line left
}

// finish draws the last state and ends the line.
func (p *statusLine) finish() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.stop)
	<-p.done
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
