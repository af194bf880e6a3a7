package httpapi

import (
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

func (h *handler) createEvent(w http.ResponseWriter, r *http.Request) {
	var ev core.Event
	if err := h.decode(r, schema.Event, &ev); err != nil {
		h.writeError(w, r, err)
		return
	}
	ev.Metadata = core.ObjectMeta{}
	ev.Worker = nil
	ev.Summary = ""
	// An Idempotency-Key makes the creation a keyed delivery: repeated,
	// it creates nothing and answers 200 with the first one's events.
	created, replayed, err := h.svc.CreateEventOnce(r.Context(), &ev, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		for i := range created {
			noteObjects(r.Context(), "events/"+created[i].Metadata.ID)
		}
	}
	b, err := listBody("EventList", "Event", created, core.ListMeta{})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeRaw(w, status, b)
}

func (h *handler) listEvents(w http.ResponseWriter, r *http.Request) {
	opts, err := listOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sel, err := eventSelector(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, meta, err := h.svc.ListEvents(r.Context(), sel, opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeListBody(h, w, r, "EventList", "Event", items, meta)
}

func (h *handler) getEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := h.svc.GetEvent(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "Event", ev)
}

func (h *handler) cloneEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := h.svc.CloneEvent(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusCreated, "Event", ev)
}

func (h *handler) retryEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := h.svc.RetryEvent(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusCreated, "Event", ev)
}

func (h *handler) updateSourceState(w http.ResponseWriter, r *http.Request) {
	var st core.SourceState
	if err := h.decode(r, schema.SourceStateRequest, &st); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.UpdateSourceState(r.Context(), r.PathValue("id"), &st); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) updateSummary(w http.ResponseWriter, r *http.Request) {
	var sum struct {
		Text string `json:"text"`
	}
	if err := h.decode(r, schema.EventSummary, &sum); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.UpdateSummary(r.Context(), r.PathValue("id"), sum.Text); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) cancelEvent(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.CancelEvent(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) cancelManyEvents(w http.ResponseWriter, r *http.Request) {
	sel, err := eventSelector(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	n, err := h.svc.CancelManyEvents(r.Context(), sel)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "CancelManyEventsResult", struct {
		Count int64 `json:"count"`
	}{n})
}

func (h *handler) deleteEvent(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteEvent(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) deleteManyEvents(w http.ResponseWriter, r *http.Request) {
	sel, err := eventSelector(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	n, err := h.svc.DeleteManyEvents(r.Context(), sel)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "DeleteManyEventsResult", struct {
		Count int64 `json:"count"`
	}{n})
}
