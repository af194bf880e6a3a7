package cli

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// openBrowser opens url with the system's opener, without waiting for the
// browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		// No display: a browser has nowhere to show the page.
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)")
		}
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // the opener's exit says nothing useful
	return nil
}
