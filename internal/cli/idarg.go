package cli

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// idArg is the one object a command acts on, named by a positional
// argument or by -i/--id (Brigade's flag), not both.
type idArg struct {
	noun string // "event", "project"
	flag string // from -i/--id (or Brigade's other spellings)
	arg  string // from the argument
	id   string // the one given, after Validate
}

// register adds -i/--id; for events also Brigade's aliases -e/--event,
// hidden, and for projects -p/--project.
func (t *idArg) register(a *app, cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&t.flag, "id", "i", "", fmt.Sprintf("the %s's ID (instead of the argument)", t.noun))
	alias := map[string]string{"event": "e", "project": "p"}
	if short, ok := alias[t.noun]; ok {
		f.StringVarP(&t.flag, t.noun, short, "", "same as --id")
		_ = f.MarkHidden(t.noun)
	}
	if cmd.ValidArgsFunction == nil {
		cmd.ValidArgsFunction = a.completeIDs(t.noun)
	}
	a.completeFlag(cmd, "id", t.noun)
}

func (t *idArg) bind(args []string) {
	if len(args) > 0 {
		t.arg = args[0]
	}
}

func (t *idArg) Validate() error {
	switch {
	case t.arg == "" && t.flag == "":
		return fmt.Errorf("which %s? give its ID as the argument or with -i (--id)%s", t.noun, listHint(t.noun))
	case t.arg != "" && t.flag != "" && t.arg != t.flag:
		return fmt.Errorf("the argument and -i (--id) name different %ss (%q and %q): give one", t.noun, t.arg, t.flag)
	case t.arg != "":
		t.id = t.arg
	default:
		t.id = t.flag
	}
	return nil
}

// listCommands name the command that lists each kind of object.
var listCommands = map[string]string{
	"event":           "brig event list",
	"project":         "brig project list",
	"job":             "brig job list EVENT",
	"secret":          "brig project secret list PROJECT",
	"service account": "brig service-account list",
	"user":            "brig user list",
}

// listHint is "; `brig event list` shows them", or "".
func listHint(noun string) string {
	if c, ok := listCommands[noun]; ok {
		return "; `" + c + "` shows them"
	}
	return ""
}

var wordStart = regexp.MustCompile(`[A-Z]`)

// kindNoun turns an API kind into words: ServiceAccount → service account.
func kindNoun(kind string) string {
	s := wordStart.ReplaceAllStringFunc(kind, func(m string) string { return " " + strings.ToLower(m) })
	return strings.TrimSpace(s)
}
