//go:build !linux

package local

import "errors"

// sparesSupported: outside Linux the confiner cannot make sure no process
// of an earlier event lives on (see sweep), so folders are not reused.
const sparesSupported = false

type freshDir struct{}

func freshDirOf(string) (freshDir, error)  { return freshDir{}, errors.ErrUnsupported }
func scrub(string, freshDir) error         { return errors.ErrUnsupported }
func checkSpare(string, freshDir) error    { return errors.ErrUnsupported }
func renameNoReplace(string, string) error { return errors.ErrUnsupported }
