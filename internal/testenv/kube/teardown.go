package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stopKubelet tears the node down so that nothing outlives the test:
// the pods (through the kubelet, which stops their containers and frees
// their networks), the kubelet, whatever tasks containerd still runs,
// containerd and its shims, the mounts under the node's directory, the
// bridge, and the directory. Problems are returned, not fatal: each step
// runs whatever the one before it left.
func (c *Cluster) stopKubelet() []error {
	k := c.kubelet
	if k == nil {
		return nil
	}
	c.kubelet = nil
	var errs []error
	if k.cancel != nil {
		k.cancel()
		<-k.done
	}
	if err := c.drainNode(); err != nil {
		errs = append(errs, err)
	}
	netns := k.sandboxNetns()
	if len(k.procs) > 1 {
		// The kubelet stops the sandboxes of deleted pods a moment after
		// they are gone from the API; the CRI frees their networks then.
		_ = waitFor("the kubelet to stop its pods' sandboxes", time.Minute, k.procs, func() error {
			out, err := k.ctr("tasks", "ls", "-q")
			if err != nil {
				return err
			}
			if ids := strings.Fields(out); len(ids) > 0 {
				return fmt.Errorf("%d tasks run", len(ids))
			}
			return nil
		})
	}
	for i := len(k.procs) - 1; i >= 1; i-- { // the kubelet; containerd is procs[0]
		k.procs[i].stop(30 * time.Second)
	}
	if len(k.procs) > 0 {
		// Best effort: whatever is left dies with its shim below.
		if out, err := k.ctr("tasks", "ls", "-q"); err == nil {
			for _, id := range strings.Fields(out) {
				_, _ = k.ctr("tasks", "kill", "--signal", "SIGKILL", id)
				_, _ = k.ctr("tasks", "delete", "--force", id)
			}
		}
		k.procs[0].stop(30 * time.Second)
	}
	killShims(k.sock)
	removeLogLinks(k.dir)
	for _, ns := range netns {
		if _, err := os.Stat(ns); err == nil {
			_ = syscall.Unmount(ns, syscall.MNT_DETACH)
			if err := os.Remove(ns); err != nil {
				errs = append(errs, fmt.Errorf("removing the network namespace %s of a sandbox: %w", ns, err))
			}
		}
	}
	errs = append(errs, unmountUnder(k.dir)...)
	if _, err := os.Stat("/sys/class/net/" + k.bridge); err == nil {
		if out, err := exec.Command(k.host.ip, "link", "delete", k.bridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("deleting the bridge %s: %w: %s", k.bridge, err, out))
		}
	}
	if err := os.RemoveAll(k.dir); err != nil {
		errs = append(errs, fmt.Errorf("removing the kubelet's directory: %w", err))
	}
	return errs
}

// drainNode deletes every pod on the kubelet's node and waits until the
// kubelet has stopped them.
func (c *Cluster) drainNode() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sel := metav1.ListOptions{FieldSelector: "spec.nodeName=" + c.Node}
	grace := int64(1)
	pods, err := c.Client.CoreV1().Pods("").List(ctx, sel)
	if err != nil {
		return fmt.Errorf("listing the pods left on %s: %w", c.Node, err)
	}
	for _, p := range pods.Items {
		_ = c.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	}
	return waitFor("the kubelet to stop the pods left on "+c.Node, 90*time.Second, c.kubelet0(), func() error {
		left, err := c.Client.CoreV1().Pods("").List(ctx, sel)
		if err != nil {
			return err
		}
		if n := len(left.Items); n > 0 {
			return fmt.Errorf("%d pods are left, e.g. %s/%s", n, left.Items[0].Namespace, left.Items[0].Name)
		}
		return nil
	})
}

// sandboxNetns lists the network namespaces (bind-mounted files under
// /var/run/netns) of the node's containers, to remove any that the CRI
// did not free.
func (k *kubeletNode) sandboxNetns() []string {
	if len(k.procs) == 0 {
		return nil
	}
	out, err := k.ctr("containers", "ls", "-q")
	if err != nil {
		return nil
	}
	var paths []string
	for _, id := range strings.Fields(out) {
		info, err := k.ctr("containers", "info", "--spec", id)
		if err != nil {
			continue
		}
		var spec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		}
		if json.Unmarshal([]byte(info), &spec) != nil {
			continue
		}
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type == "network" && strings.HasPrefix(ns.Path, "/var/run/netns/") && !slices.Contains(paths, ns.Path) {
				paths = append(paths, ns.Path)
			}
		}
	}
	return paths
}

// kubelet0 is the processes drainNode depends on (none once stopped).
func (c *Cluster) kubelet0() []*process {
	if c.kubelet == nil {
		return nil
	}
	return c.kubelet.procs
}

// killShims kills the containerd shims serving sock: they run in process
// groups of their own and would outlive a containerd that ended before
// its tasks did.
func killShims(sock string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && strings.Contains(args[0], "containerd-shim") && slices.Contains(args, sock) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// containerLogLinks is where the kubelet links every container's log (a
// fixed place, whatever its configuration says).
const containerLogLinks = "/var/log/containers"

// removeLogLinks removes the kubelet's links to logs under dir, which its
// container garbage collection would have removed in time.
func removeLogLinks(dir string) {
	ents, _ := os.ReadDir(containerLogLinks)
	for _, e := range ents {
		p := filepath.Join(containerLogLinks, e.Name())
		if to, err := os.Readlink(p); err == nil && strings.HasPrefix(to, dir+"/") {
			_ = os.Remove(p)
		}
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) []error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []error{fmt.Errorf("reading the mount table: %w", err)}
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errs
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
