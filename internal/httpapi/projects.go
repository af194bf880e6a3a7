package httpapi

import (
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/schema"
)

func (h *handler) createProject(w http.ResponseWriter, r *http.Request) {
	var p core.Project
	if err := h.decode(r, schema.Project, &p); err != nil {
		h.writeError(w, r, err)
		return
	}
	noteObjects(r.Context(), "projects/"+p.Metadata.ID)
	created, err := h.svc.CreateProject(r.Context(), &p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusCreated, "Project", created)
}

func (h *handler) listProjects(w http.ResponseWriter, r *http.Request) {
	opts, err := listOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, meta, err := h.svc.ListProjects(r.Context(), opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeListBody(h, w, r, "ProjectList", "Project", items, meta)
}

func writeListBody[T any](h *handler, w http.ResponseWriter, r *http.Request, kind, itemKind string, items []T, meta core.ListMeta) {
	b, err := listBody(kind, itemKind, items, meta)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

func (h *handler) getProject(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "Project", p)
}

func (h *handler) updateProject(w http.ResponseWriter, r *http.Request) {
	var p core.Project
	if err := h.decode(r, schema.Project, &p); err != nil {
		h.writeError(w, r, err)
		return
	}
	updated, err := h.svc.UpdateProject(r.Context(), r.PathValue("id"), &p, queryBool(r, "create"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "Project", updated)
}

func (h *handler) deleteProject(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteProject(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) listSecrets(w http.ResponseWriter, r *http.Request) {
	opts, err := listOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, meta, err := h.svc.ListSecrets(r.Context(), r.PathValue("id"), opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeListBody(h, w, r, "SecretList", "Secret", items, meta)
}

func (h *handler) setSecret(w http.ResponseWriter, r *http.Request) {
	var s core.Secret
	if err := h.decode(r, schema.Secret, &s); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.SetSecret(r.Context(), r.PathValue("id"), r.PathValue("key"), &s); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

func (h *handler) unsetSecret(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.UnsetSecret(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeNull(w, http.StatusOK)
}

// verifyGenericGatewaySecret is ours (docs/api.md, "Checking the generic
// gateway secret"): whether a value is the project's generic gateway
// secret, without ever returning the secret.
func (h *handler) verifyGenericGatewaySecret(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Value string `json:"value"`
	}
	if err := h.decode(r, schema.GenericGatewaySecretVerification, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.svc.VerifyGenericGatewaySecret(r.Context(), r.PathValue("id"), req.Value)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKind(w, r, http.StatusOK, "GenericGatewaySecretVerificationResult", core.SecretVerification{Result: res})
}
