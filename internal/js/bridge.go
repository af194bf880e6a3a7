package js

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dop251/goja"

	"github.com/brigadeplatform/brigade/internal/core"
)

// bridge is the object a brigadier dialect is written against. Every
// Host call runs on its own goroutine and settles its promise on the loop;
// while one is in flight the run stays alive (docs/scripting.md, "How scripts
// are found and built").
//
//	createJob(json, phases) → Promise<void>    (rejects with the Host's error text; phases false:
//	                                             waitJob's onPhase needs only the terminal phase)
//	waitJob(name, onPhase)  → Promise<string>  (the final phase; rejects with the Host's error text)
//	jobLogs(name)           → Promise<string>
//	setSummary(value)       → Promise<void>    (rejects for a non-string value)
//	log(level, job, msg)                        (level: "error"|"warn"|"info"|"debug")
//	write(text)                                 (raw text to the worker log, for other log formats)
//	logLevel()              → "DEBUG"|"INFO"|"WARN"|"ERROR": the run's level
//	event()                 → the event document, parsed once
//	inspect(value)          → console.log's rendering of a value
//	afterScript(fn)                             (fn runs as its own task once the script's
//	                                             top-level code has run: v1 fires its event then)
func (s *session) bridge() *goja.Object {
	vm := s.vm
	o := vm.NewObject()
	// The hot natives take goja.FunctionCall: typed Go signatures go
	// through reflection on every call.
	_ = o.Set("createJob", func(call goja.FunctionCall) goja.Value {
		return s.bridgeCreateJob(call.Argument(0).String(), !isFalse(call.Argument(1)))
	})
	_ = o.Set("waitJob", func(call goja.FunctionCall) goja.Value {
		onPhase, _ := goja.AssertFunction(call.Argument(1))
		return s.bridgeWaitJob(call.Argument(0).String(), onPhase)
	})
	_ = o.Set("jobLogs", func(name string) goja.Value {
		return s.hostCall(func(ctx context.Context) (any, error) { return s.opts.Host.JobLogs(ctx, name) })
	})
	_ = o.Set("setSummary", s.bridgeSetSummary)
	_ = o.Set("log", func(call goja.FunctionCall) goja.Value {
		if l, ok := parseLevel(call.Argument(0).String()); ok {
			s.log(l, call.Argument(1).String(), call.Argument(2).String())
		}
		return goja.Undefined()
	})
	_ = o.Set("write", func(text string) { _, _ = io.WriteString(s.out, text) })
	_ = o.Set("logLevel", func() string { return levelNames[s.level] })
	_ = o.Set("afterScript", func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			panic(s.vm.NewTypeError("afterScript needs a function"))
		}
		s.whenScriptDone(fn)
		return goja.Undefined()
	})
	_ = o.Set("event", func() (goja.Value, error) { return s.eventValue() })
	_ = o.Set("inspect", func(v goja.Value) string { return s.inspect(v) })
	return o
}

// hostCall runs fn on a goroutine and returns a promise settled with its
// result on the loop. An error rejects the promise with an Error whose
// message is the error's text.
func (s *session) hostCall(fn func(ctx context.Context) (any, error)) goja.Value {
	p, resolve, reject := s.vm.NewPromise()
	s.loop.async(func(ctx context.Context) func() error {
		v, err := fn(ctx)
		return func() error {
			if err != nil {
				return reject(s.newError(err.Error()))
			}
			return resolve(v)
		}
	})
	return s.vm.ToValue(p)
}

// bridgeCreateJob decodes the JSON body the polyfill would POST
// (docs/scripting.md, "v2 jobs and containers") into a core.Job and hands
// it to the Host.
//
// Divergence, forced by Host taking a core.Job: the API's schema check of
// the body (no unknown properties, string env values, …: docs/api.md,
// "Request validation") would reject a body that does not fit core.Job with a 400. We decode
// strictly and reject the same way, with "Bad request: <why>", without a
// round trip; everything that fits core.Job is left for the API to judge.
func (s *session) bridgeCreateJob(body string, phases bool) goja.Value {
	job, err := decodeJob(body)
	if err != nil {
		p, _, reject := s.vm.NewPromise()
		_ = reject(s.newError("Bad request: " + err.Error()))
		return s.vm.ToValue(p)
	}
	// In call order, one batch at a time (creates.go).
	req := s.creates.add(job, phases)
	return s.hostCall(func(ctx context.Context) (any, error) {
		return goja.Undefined(), s.creates.wait(ctx, s.opts.Host, req)
	})
}

// jobBody is the envelope the polyfill sends.
type jobBody struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	core.Job
}

func decodeJob(body string) (core.Job, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var b jobBody
	if err := dec.Decode(&b); err != nil {
		return core.Job{}, fmt.Errorf("the job does not fit the Job schema: %w", err)
	}
	// Created and Status belong to the server.
	b.Created, b.Status = nil, nil
	return b.Job, nil
}

// bridgeWaitJob waits for the job's terminal phase. onPhase is called on
// the loop, in order, for each phase the Host reports, before the promise
// settles.
func (s *session) bridgeWaitJob(name string, onPhase goja.Callable) goja.Value {
	return s.hostCall(func(ctx context.Context) (any, error) {
		phase, err := s.opts.Host.WaitJob(ctx, name, func(p core.JobPhase) {
			if onPhase == nil {
				return
			}
			s.loop.post(func() error {
				_, err := onPhase(goja.Undefined(), s.vm.ToValue(string(p)))
				return err
			})
		})
		return string(phase), err
	})
}

// bridgeSetSummary sends a handler's truthy result as the event summary.
// The summary schema takes a string only (docs/scripting.md, "v2 events"): anything
// else fails here, as the API would, which ends up as an unhandled
// rejection (ERROR line, exit code 1) since the polyfill does not await it.
// Over-long text is left for the API to refuse.
func (s *session) bridgeSetSummary(v goja.Value) goja.Value {
	text, ok := v.Export().(string)
	if !ok {
		p, _, reject := s.vm.NewPromise()
		_ = reject(s.newError(fmt.Sprintf(
			"Error updating the event summary: the handler returned %s, but a summary must be a string", s.typeOf(v))))
		return s.vm.ToValue(p)
	}
	return s.hostCall(func(ctx context.Context) (any, error) {
		err := s.opts.Host.SetSummary(ctx, text)
		if err != nil {
			err = fmt.Errorf("Error updating the event summary: %w", err)
		}
		return goja.Undefined(), err
	})
}

// typeOf describes a value for a message: "an array", "a number", "an object".
func (s *session) typeOf(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		switch o.ClassName() {
		case "Array":
			return "an array"
		case "Function":
			return "a function"
		}
		return "an object"
	}
	switch v.Export().(type) {
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	if t := v.ExportType(); t != nil {
		return "a " + t.String()
	}
	return v.String()
}

// eventValue parses the event document into plain JS values once.
func (s *session) eventValue() (goja.Value, error) {
	if s.event != nil {
		return s.event, nil
	}
	parse, _ := goja.AssertFunction(s.vm.Get("JSON").ToObject(s.vm).Get("parse"))
	v, err := parse(goja.Undefined(), s.vm.ToValue(string(s.eventJSON)))
	if err != nil {
		return nil, err
	}
	s.event = v
	return v, nil
}

// inspect renders a value as console.log does (util.inspect).
func (s *session) inspect(v goja.Value) string {
	util, err := s.requireModule("util")
	if err != nil {
		return v.String()
	}
	fn, ok := goja.AssertFunction(util.ToObject(s.vm).Get("inspect"))
	if !ok {
		return v.String()
	}
	out, err := fn(goja.Undefined(), v)
	if err != nil {
		return v.String()
	}
	return out.String()
}

// isFalse reports whether v is the boolean false (undefined is not).
func isFalse(v goja.Value) bool {
	b, ok := v.Export().(bool)
	return ok && !b
}
