package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
)

type projectStore struct{ s *Store }

func projectDoc(p *core.Project) (string, error) {
	c := *p
	c.Metadata.Created = utcPtr(c.Metadata.Created)
	return marshal("project", &c)
}

func (ps projectStore) Create(ctx context.Context, p *core.Project) error {
	if p == nil || p.Metadata.ID == "" {
		return core.NewBadRequest("a project needs an id")
	}
	created := stamp(&p.Metadata.Created)
	doc, err := projectDoc(p)
	if err != nil {
		return err
	}
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`INSERT INTO projects (id, created_ns, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			p.Metadata.ID, created.UnixNano(), doc)
		if err != nil {
			return fmt.Errorf("create project %q: %w", p.Metadata.ID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewConflict("Project", p.Metadata.ID, fmt.Sprintf("Project %q already exists.", p.Metadata.ID))
		}
		st.touch(topicProjects)
		return nil
	})
}

func (ps projectStore) Get(ctx context.Context, id string) (*core.Project, error) {
	return getProject(ctx, ps.s.reader(ctx), id)
}

func getProject(ctx context.Context, q querier, id string) (*core.Project, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM projects WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, core.NewNotFound("Project", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get project %q: %w", id, err)
	}
	var p core.Project
	if err := unmarshal("project", doc, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (ps projectStore) List(ctx context.Context, opts core.ListOptions) ([]core.Project, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	var (
		out  []core.Project
		meta core.ListMeta
	)
	err := ps.s.read(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx,
			`SELECT id, doc FROM projects WHERE id > ? ORDER BY id LIMIT ?`, opts.Continue, limit)
		if err != nil {
			return fmt.Errorf("list projects: %w", err)
		}
		out, err = scanProjects(rows)
		if err != nil || len(out) == 0 {
			return err
		}
		last := out[len(out)-1].Metadata.ID
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE id > ?`, last).
			Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining projects: %w", err)
		}
		if meta.RemainingItemCount > 0 {
			meta.Continue = last
		}
		return nil
	})
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	return out, meta, nil
}

// All reads every project for each new event; outside a transaction the
// projects come from a copy in memory that every committed project write
// invalidates, and each call gets a deep copy of its own to modify.
func (ps projectStore) All(ctx context.Context) ([]core.Project, error) {
	return ps.Matching(ctx, func(*core.Project) bool { return true })
}

// Matching filters the cached project documents in place and deep-copies
// only those kept: a copy of every project for every event cost more than
// all the matching (7 us an event with one project).
func (ps projectStore) Matching(ctx context.Context, keep func(*core.Project) bool) ([]core.Project, error) {
	if st := ps.s.state(ctx); st != nil { // may hold uncommitted project writes
		all, err := allProjects(ctx, st)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(all, func(p core.Project) bool { return !keep(&p) }), nil
	}
	cached, ticket, ok := ps.s.projectDocs.get()
	if !ok {
		fresh, err := allProjects(ctx, ps.s.pool)
		if err != nil {
			return nil, err
		}
		ps.s.projectDocs.put(ticket, fresh)
		cached = fresh
	}
	var out []core.Project
	for i := range cached {
		if keep(&cached[i]) {
			out = append(out, deepCopy(cached[i]))
		}
	}
	return out, nil
}

func allProjects(ctx context.Context, q querier) ([]core.Project, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, doc FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list all projects: %w", err)
	}
	return scanProjects(rows)
}

// topicProjects is touched by every project write: not a topic anyone
// subscribes to, but the mark by which the writer invalidates the cache of
// project documents once such a write has committed.
const topicProjects = "\x00projects"

// projectDocs caches all projects as stored. Nobody modifies what it
// holds: All hands out deep copies.
type projectDocs struct {
	mu       sync.Mutex
	gen      uint64 // bumped after each commit that wrote a project
	valid    bool   // projects were read at gen
	projects []core.Project
}

// get returns the cached projects, or a ticket to put fresh ones with.
func (c *projectDocs) get() (projects []core.Project, ticket uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.projects, c.gen, c.valid
}

// put caches projects read after get returned ticket, unless a project
// write committed since (they may predate it).
func (c *projectDocs) put(ticket uint64, projects []core.Project) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ticket == c.gen {
		c.projects, c.valid = projects, true
	}
}

// invalidate drops the cache; the writer calls it after committing a
// project write.
func (c *projectDocs) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.projects, c.valid = nil, false
}

func scanProjects(rows *sql.Rows) ([]core.Project, error) {
	defer rows.Close()
	var out []core.Project
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("read project row: %w", err)
		}
		var p core.Project
		if err := unmarshal("project "+id, doc, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read projects: %w", err)
	}
	return out, nil
}

func (ps projectStore) Update(ctx context.Context, p *core.Project) error {
	if p == nil || p.Metadata.ID == "" {
		return core.NewBadRequest("a project needs an id")
	}
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		cur, err := getProject(ctx, st, p.Metadata.ID)
		if err != nil {
			return err
		}
		cur.Description = p.Description
		cur.Spec = p.Spec
		doc, err := projectDoc(cur)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, `UPDATE projects SET doc = ? WHERE id = ?`, doc, p.Metadata.ID); err != nil {
			return fmt.Errorf("update project %q: %w", p.Metadata.ID, err)
		}
		st.touch(topicProjects)
		return nil
	})
}

// Delete removes the project; foreign keys cascade, in the same statement,
// to its events (and their jobs, logs and tasks) and secrets.
func (ps projectStore) Delete(ctx context.Context, id string) error {
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		ids, err := eventIDsWhere(ctx, st, `project_id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		res, err := st.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewNotFound("Project", id)
		}
		st.touch(topicProjects)
		for _, e := range ids {
			st.dropJobs(e)
			st.touch(core.TopicEvent(e), core.TopicWorker(e), core.TopicLogs(e))
		}
		if len(ids) > 0 {
			st.touch(core.TopicQueue)
		}
		return nil
	})
}

// eventIDsWhere lists the ids of events matching a condition on events.
func eventIDsWhere(ctx context.Context, q querier, cond string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM events WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
