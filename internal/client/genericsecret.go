package client

import (
	"context"
	"net/http"

	"github.com/brigadeplatform/brigade/internal/core"
)

// VerifyGenericGatewaySecret asks the API whether value is the project's
// generic gateway secret (POST
// /v2/projects/{id}/generic-gateway-secret/verifications, an addition:
// docs/api.md). It needs EVENT_CREATOR for core.GenericGatewaySource, or
// ADMIN. An unknown project is a *core.NotFoundError, too many failed
// checks of the project a *core.TooManyRequestsError.
func (c *Client) VerifyGenericGatewaySecret(ctx context.Context, projectID, value string) (core.SecretVerificationResult, error) {
	body := struct {
		Value string `json:"value"`
	}{value}
	var out core.SecretVerification
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/v2/projects/" + escape(projectID) + "/generic-gateway-secret/verifications",
		kind: "GenericGatewaySecretVerification", body: &body, want: http.StatusOK,
	}, &out)
	if err != nil {
		return "", err
	}
	return out.Result, nil
}
