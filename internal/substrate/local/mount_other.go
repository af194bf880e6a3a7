//go:build !linux

package local

import "syscall"

const helperMarker = "__brigade-local-mount"

type helperSpec struct {
	Mounts []bindMount `json:"mounts,omitempty"`
	Dir    string      `json:"dir,omitempty"`
	Argv   []string    `json:"argv,omitempty"`
}

type bindMount struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// MaybeRunMountHelper does nothing outside Linux: mount paths always map to
// folders there. Call it first thing in main anyway.
func MaybeRunMountHelper() {}

func sysProcAttr(bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func (s *Substrate) probeMountNamespaces() string { return "" }
