// Package examples holds the example projects (one folder each, with its
// project.yaml) so that tests and `brigade quickstart` use the very files
// users read.
package examples

import "embed"

// FS holds every example's project.yaml.
//
//go:embed */project.yaml
var FS embed.FS
