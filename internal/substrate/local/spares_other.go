//go:build !linux

package local

import (
	"errors"
	"io/fs"
)

// sparesSupported: outside Linux the confiner cannot make sure no process
// of an earlier event lives on (see sweep), so folders are not reused.
const sparesSupported = false

type freshDir struct{ mode fs.FileMode }

func freshDirOf(string) (freshDir, error)  { return freshDir{}, errors.ErrUnsupported }
func checkSpare(string, freshDir) error    { return errors.ErrUnsupported }
func renameNoReplace(string, string) error { return errors.ErrUnsupported }
