package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Output formats of the get and list commands: a table for people, the
// API's own objects for programs.
const (
	formatTable = "table"
	formatYAML  = "yaml"
	formatJSON  = "json"
)

func checkFormat(f string) error {
	if f != formatTable && f != formatYAML && f != formatJSON {
		return fmt.Errorf("--output %q is not a format: use table, yaml or json", f)
	}
	return nil
}

// outputFlag adds -o/--output, a table by default.
func outputFlag(cmd *cobra.Command, to *string) {
	cmd.Flags().StringVarP(to, "output", "o", formatTable, "table, yaml or json (yaml and json show the objects as the API does)")
}

// enveloped encodes v as a JSON object with "kind" and "apiVersion" first,
// as the API itself shows objects.
func enveloped(kind string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("cannot show a %s that is not an object", kind)
	}
	head := fmt.Sprintf(`{"kind":%q,"apiVersion":%q`, kind, core.APIVersion)
	if len(b) == 2 {
		return []byte(head + "}"), nil
	}
	return append([]byte(head+","), b[1:]...), nil
}

// printObject writes v with its envelope as YAML or indented JSON.
func printObject(w io.Writer, format, kind string, v any) error {
	b, err := enveloped(kind, v)
	if err != nil {
		return err
	}
	if format == formatJSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err = w.Write(buf.Bytes())
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return fmt.Errorf("converting the %s to YAML: %w", kind, err)
	}
	_, err = w.Write(y)
	return err
}

// table writes aligned columns, three spaces apart. Widths count what a
// terminal shows, so coloured cells line up with plain ones.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{w: w}
	if len(headers) > 0 {
		t.row(headers...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		// Tabs and newlines would break the columns.
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	t.rows = append(t.rows, cells)
}

func (t *table) flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleLen(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visibleLen(c)+3))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// visibleLen is how many characters a terminal shows for s.
func visibleLen(s string) int {
	return utf8.RuneCountInString(ansiEscape.ReplaceAllString(s, ""))
}

// age says how long ago t was, kubectl-style (12s, 5m, 3h, 4d).
func age(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := now.Sub(*t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// duration says how long from start to end (or to now, while running):
// 850ms, 12s, 4m05s, 2h03m.
func duration(start, end *time.Time, now time.Time) string {
	if start == nil {
		return "-"
	}
	stop := now
	if end != nil {
		stop = *end
	}
	return shortDuration(stop.Sub(*start))
}

func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// ago is age with " ago", or "-".
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return age(t, now) + " ago"
}

// orDash shows "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readInput reads a file, or standard input when path is "-".
func readInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// decodeObject reads one YAML or JSON object of a kind into v. apiVersion
// and kind may be omitted; if present they must be right. Unknown fields are
// refused, so a misspelt field is reported instead of dropped.
func decodeObject(data []byte, source, kind string, v any) error {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("%s is not valid YAML or JSON: %w", source, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil || fields == nil {
		return fmt.Errorf("%s must hold one %s object (a YAML or JSON map)", source, kind)
	}
	for key, want := range map[string]string{"kind": kind, "apiVersion": core.APIVersion} {
		raw, ok := fields[key]
		if !ok {
			continue
		}
		var got string
		if err := json.Unmarshal(raw, &got); err != nil || got != want {
			return fmt.Errorf("%s: %s is %s, want %q (or leave it out)", source, key, raw, want)
		}
		delete(fields, key)
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s is not a valid %s: %w (check the spelling and nesting of its fields)", source, kind, err)
	}
	return nil
}
