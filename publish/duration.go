package publish

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as image maintainers write them
// (distrobuilder's image.expiry): a whole number of days ("30d"), weeks
// ("2w") or years of 365 days ("1y"), or anything time.ParseDuration
// accepts ("36h"). It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	t := strings.TrimSpace(s)
	var d time.Duration
	if n := len(t); n > 1 && units[t[n-1]] != 0 {
		v, err := strconv.ParseUint(t[:n-1], 10, 31)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want a whole number before %q", s, t[n-1:])
		}
		d = time.Duration(v) * units[t[n-1]]
	} else {
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("duration %q: want e.g. 30d, 2w, 1y or 36h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q: must be positive", s)
	}
	return d, nil
}
