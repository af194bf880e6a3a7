package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// prompter asks questions on a terminal: each question is written to out
// with its default, the answer is one line of in. An empty answer takes the
// default; an answer the check refuses is asked again.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	return &prompter{in: bufio.NewReader(in), out: out}
}

// errNoAnswer is returned when the input ends before an answer.
var errNoAnswer = errors.New("standard input ended before every question was answered")

// maxAttempts bounds how often one question is asked again.
const maxAttempts = 5

// ask asks question and returns the (trimmed) answer, or def for an empty
// one. check, if set, refuses answers with an error that is shown.
func (p *prompter) ask(question, def string, check func(string) error) (string, error) {
	for range maxAttempts {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		line, err := p.in.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			fmt.Fprintln(p.out)
			if err == io.EOF {
				return "", errNoAnswer
			}
			return "", fmt.Errorf("reading the answer: %w", err)
		}
		answer := strings.TrimSpace(line)
		if answer == "" {
			answer = def
		}
		if check == nil {
			return answer, nil
		}
		if err := check(answer); err != nil {
			fmt.Fprintf(p.out, "  %s\n", err)
			continue
		}
		return answer, nil
	}
	return "", fmt.Errorf("no acceptable answer to %q after %d tries", question, maxAttempts)
}

// The schema's rules for project ids, event sources and event types.
var (
	projectIDPattern = regexp.MustCompile(`^[a-z][a-z\d-]{1,61}[a-z\d]$`)
	sourcePattern    = regexp.MustCompile(`^[\w:/\-.?=@]{5,63}$`)
	typePattern      = regexp.MustCompile(`^[\w:/\-.?=*]{1,255}$`)
)

// logLevels are the worker log levels a project may set.
var logLevels = []string{"DEBUG", "INFO", "WARN", "ERROR"}

// askProject builds a project from answers to questions: id, description,
// the event subscription, where the script comes from, and the log level.
func askProject(p *prompter) (*core.Project, error) {
	fmt.Fprintln(p.out, "Creating a project; press Enter to take the [default].")
	id, err := p.ask("Project ID", "", func(s string) error {
		if !projectIDPattern.MatchString(s) {
			return errors.New("use 3 to 63 lower-case letters, digits and dashes, starting with a letter, e.g. my-project")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	proj := &core.Project{Metadata: core.ObjectMeta{ID: id}}
	if proj.Description, err = p.ask("Description", "", func(s string) error {
		if s != "" && (len(s) < 3 || len(s) > 80) {
			return errors.New("use 3 to 80 characters, or nothing")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	sub, err := askSubscription(p)
	if err != nil {
		return nil, err
	}
	proj.Spec.EventSubscriptions = []core.EventSubscription{sub}
	if err := askScript(p, &proj.Spec.WorkerTemplate); err != nil {
		return nil, err
	}
	level, err := p.ask("Worker log level ("+strings.Join(logLevels, ", ")+")", core.DefaultLogLevel, func(s string) error {
		if !slices.Contains(logLevels, strings.ToUpper(s)) {
			return fmt.Errorf("pick one of %s", strings.Join(logLevels, ", "))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	proj.Spec.WorkerTemplate.LogLevel = strings.ToUpper(level)
	return proj, nil
}

func askSubscription(p *prompter) (core.EventSubscription, error) {
	var sub core.EventSubscription
	var err error
	if sub.Source, err = p.ask("Subscribe to events from source", defaultEventSource, func(s string) error {
		if !sourcePattern.MatchString(s) {
			return errors.New("a source has 5 to 63 letters, digits and :/-.?=@, e.g. brigade.sh/cli or brigade.sh/github")
		}
		return nil
	}); err != nil {
		return sub, err
	}
	types, err := p.ask("Event types, comma-separated (* for all)", defaultEventType, func(s string) error {
		types := splitList(s)
		if len(types) == 0 {
			return errors.New("name at least one type, e.g. exec")
		}
		for _, t := range types {
			if !typePattern.MatchString(t) {
				return fmt.Errorf("%q is not a type: use letters, digits and :/-.?=*", t)
			}
		}
		return nil
	})
	sub.Types = splitList(types)
	return sub, err
}

// askScript asks where the worker's script comes from: a local file that
// becomes a defaultConfigFile, or else a git repository.
func askScript(p *prompter, w *core.WorkerSpec) error {
	def := ""
	for _, name := range scriptFileNames {
		if _, err := os.Stat(name); err == nil {
			def = name
			break
		}
	}
	var content []byte
	file, err := p.ask("Script file to use as the project's brigade.js or brigade.ts (empty: take it from git)", def, func(s string) error {
		if s == "" {
			return nil
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return fmt.Errorf("cannot read it: %v", err)
		}
		content = b
		return nil
	})
	if err != nil {
		return err
	}
	if file != "" {
		w.DefaultConfigFiles = map[string]string{scriptName(file): string(content)}
		return nil
	}
	cloneURL, err := p.ask("Git clone URL of the repository holding .brigade/brigade.js (empty: no script yet)", "", func(s string) error {
		if s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "git@") {
			return errors.New("use an https://, http:// or git@ URL")
		}
		return nil
	})
	if err != nil || cloneURL == "" {
		return err
	}
	ref, err := p.ask("Git ref to check out", "refs/heads/main", nil)
	if err != nil {
		return err
	}
	w.Git = &core.GitConfig{CloneURL: cloneURL, Ref: ref}
	return nil
}

// scriptFileNames are the names a worker runs, in the order it looks.
var scriptFileNames = []string{"brigade.ts", "brigade.js"}

// scriptName is the config file name a local script runs as: brigade.ts
// for TypeScript, else brigade.js.
func scriptName(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".ts") {
		return "brigade.ts"
	}
	return "brigade.js"
}

// splitList splits a comma-separated answer, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
