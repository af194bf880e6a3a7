package core

// The generic gateway serves Brigade v1's webhook paths (docs/gateways.md,
// "Generic webhook"). Its events carry this source, and a project opts in
// by setting the project secret named GenericGatewaySecretKey, which every
// request must present.
const (
	GenericGatewaySource    = "brigade.sh/generic"
	GenericGatewaySecretKey = "genericGatewaySecret"
	// MaxGenericGatewaySecretLength bounds a value presented for checking
	// (schema GenericGatewaySecretVerification.json says the same).
	MaxGenericGatewaySecretLength = 1024
)

// SecretVerificationResult is what checking a value against a project's
// generic gateway secret found (docs/api.md, "Checking the generic gateway
// secret").
type SecretVerificationResult string

// Results of a secret verification.
const (
	SecretMatched    SecretVerificationResult = "MATCHED"
	SecretMismatched SecretVerificationResult = "MISMATCHED"
	SecretNotSet     SecretVerificationResult = "NOT_SET" // the project has no such secret, or an empty one
)

// SecretVerification is the answer of a secret verification.
type SecretVerification struct {
	Result SecretVerificationResult `json:"result"`
}
