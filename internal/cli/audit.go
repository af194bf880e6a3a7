package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

type auditOptions struct {
	app *app
	streams
	principal, action, object string
	since, until              string
	limit                     int
	cont                      string
	output                    string
	sel                       client.AuditSelector
}

func newAuditCommand(a *app) *cobra.Command {
	o := &auditOptions{app: a}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the audit log: who changed what, newest first (needs the ADMIN role)",
		Long: `List the audit log: every state-changing API call with who made it, the route,
the object, the caller's address, the status and the reason of a refusal,
newest first. Reading it needs the ADMIN role (root has it).`,
		Example: `  brig audit --principal root --since 24h
  brig audit --object projects/my-project -o json
  brig audit --action DELETE --principal WORKER`,
		Args: cobra.NoArgs,
		RunE: runE(o, func(cmd *cobra.Command, _ []string) { o.streams = streamsOf(cmd) }, runAudit),
	}
	f := cmd.Flags()
	f.StringVar(&o.principal, "principal", "", "only calls of this principal: KIND or KIND:ID (ROOT, USER, SERVICE_ACCOUNT, WORKER, SCHEDULER, OBSERVER, ANONYMOUS; any case)")
	f.StringVar(&o.action, "action", "", "only actions containing this text, e.g. DELETE or /secrets/")
	f.StringVar(&o.object, "object", "", "only this object and what is under it, e.g. projects/my-project")
	f.StringVar(&o.since, "since", "", "only entries at or after this time: RFC 3339 (2024-03-01T12:00:00Z) or a duration ago (24h)")
	f.StringVar(&o.until, "until", "", "only entries before this time: RFC 3339 or a duration ago")
	f.IntVar(&o.limit, "limit", 100, "entries per page (1-100)")
	f.StringVar(&o.cont, "continue", "", "the cursor printed by the previous page")
	f.StringVarP(&o.output, "output", "o", "table", "table, yaml or json")
	return cmd
}

func (o *auditOptions) Validate() error {
	if o.output != "table" {
		if err := checkFormat(o.output); err != nil {
			return fmt.Errorf("--output %q is not a format: use table, yaml or json", o.output)
		}
	}
	if o.limit < 1 || o.limit > 100 {
		return fmt.Errorf("--limit %d: use 1 to 100", o.limit)
	}
	o.sel = client.AuditSelector{Action: o.action, Object: o.object}
	if o.principal != "" {
		kind, id, _ := strings.Cut(o.principal, ":")
		o.sel.PrincipalType = strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))
		o.sel.PrincipalID = id
	}
	var err error
	if o.sel.Since, err = o.when("--since", o.since); err != nil {
		return err
	}
	o.sel.Until, err = o.when("--until", o.until)
	return err
}

// when reads an RFC 3339 time or a duration before now.
func (o *auditOptions) when(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return o.app.env.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: give an RFC 3339 time (2024-03-01T12:00:00Z) or a duration ago (90m, 24h)", flag, v)
}

func runAudit(ctx context.Context, o *auditOptions) error {
	c, err := o.app.client()
	if err != nil {
		return err
	}
	list, err := c.ListAudit(ctx, &o.sel, &client.ListOptions{Limit: o.limit, Continue: o.cont})
	if err != nil {
		return err
	}
	if o.output != "table" {
		if list.Items == nil {
			list.Items = []core.AuditEntry{}
		}
		return printObject(o.out, o.output, "AuditEntryList", list)
	}
	if len(list.Items) == 0 && o.cont == "" {
		fmt.Fprintln(o.out, "No audit entries found.")
		return nil
	}
	t := newTable(o.out, "TIME", "PRINCIPAL", "ACTION", "OBJECT", "CLIENT", "STATUS", "ERROR")
	for _, e := range list.Items {
		who := e.Principal.Kind
		if e.Principal.ID != "" {
			who += ":" + e.Principal.ID
		}
		t.row(e.Time.UTC().Format(time.RFC3339), who, e.Action, orDash(e.Object), orDash(e.Client),
			strconv.Itoa(e.Status), orDash(oneLine(e.Error, 60)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	morePages(o.errOut, "brig audit", list.Metadata)
	return nil
}

// oneLine keeps a table cell on one line and short.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
