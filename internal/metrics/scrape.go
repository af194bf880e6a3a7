package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one reading of a /metrics page, by metric name; tests and the
// soak harness (bench/soak) read it.
type Scrape map[string]*dto.MetricFamily

// Fetch reads and parses the /metrics page at url.
func Fetch(ctx context.Context, client *http.Client, url string) (Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("scraping %s: %s: %s", url, resp.Status, b)
	}
	return ParseText(resp.Body)
}

// ParseText parses the Prometheus text format.
func ParseText(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing a /metrics page: %w", err)
	}
	return Scrape(fams), nil
}

// Value sums the counters or gauges named name whose labels include the
// given name, value pairs (none: every series). ok is false when no series
// matched.
func (s Scrape) Value(name string, labels ...string) (v float64, ok bool) {
	for _, m := range s.series(name, labels) {
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Untyped != nil:
			v += m.Untyped.GetValue()
		default:
			continue
		}
		ok = true
	}
	return v, ok
}

// Histogram is the sample count and sum of the histogram named name
// (summed over the series whose labels include the pairs given).
func (s Scrape) Histogram(name string, labels ...string) (count uint64, sum float64, ok bool) {
	for _, m := range s.series(name, labels) {
		if h := m.Histogram; h != nil {
			count += h.GetSampleCount()
			sum += h.GetSampleSum()
			ok = true
		}
	}
	return count, sum, ok
}

func (s Scrape) series(name string, labels []string) []*dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			out = append(out, m)
		}
	}
	return out
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
