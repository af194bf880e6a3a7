// Package examples holds the example projects (one folder each, with its
// project.yaml and, for scripts run with `brig exec -f`, its brigade.js) so
// that tests and `brigade quickstart` use the very files users read.
package examples

import "embed"

// FS holds every example's project.yaml and brigade.js files.
//
//go:embed */project.yaml */brigade.js
var FS embed.FS
