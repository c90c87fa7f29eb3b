package download

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line bar, redrawn with \r at most every 200ms:
//
//	rootfs.tar.xz  12.3 MiB / 80.1 MiB [=====>      ]  2.1 MiB/s  ETA 0:31
type progress struct {
	w           io.Writer
	label       string
	start, have int64 // bytes at start of this transfer, bytes so far
	total       int64 // -1 if unknown
	began, last time.Time
}

func newProgress(w io.Writer, label string, have, total int64) *progress {
	now := time.Now()
	p := &progress{w: w, label: label, start: have, have: have, total: total, began: now}
	p.draw(now)
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.have += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.draw(now)
	}
	return len(b), nil
}

func (p *progress) done() {
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

func (p *progress) draw(now time.Time) {
	p.last = now
	elapsed := now.Sub(p.began).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.have-p.start) / elapsed
	}
	line := fmt.Sprintf("%s  %s", p.label, size(p.have))
	if p.total > 0 {
		frac := min(float64(p.have)/float64(p.total), 1)
		const width = 20
		fill := int(frac * width)
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		line += fmt.Sprintf(" / %s [%s]", size(p.total), bar)
	}
	line += fmt.Sprintf(" %s/s", size(int64(rate)))
	if p.total > 0 && rate > 0 && p.have < p.total {
		eta := time.Duration(float64(p.total-p.have)/rate) * time.Second
		line += fmt.Sprintf("  ETA %d:%02d", int(eta.Minutes()), int(eta.Seconds())%60)
	}
	// Pad to clear what a longer previous line left behind.
	fmt.Fprintf(p.w, "\r%-78s", line)
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}
