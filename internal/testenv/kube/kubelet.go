package kube

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The images every kubelet node has (imported, never pulled).
const (
	// BusyboxImage holds Debian's static busybox and a link per applet.
	BusyboxImage = "docker.io/brigade-test/busybox:kubelet"
	// PauseImage is the image of pod sandboxes: busybox sleeping.
	PauseImage = "registry.k8s.io/pause:brigade-test"
)

// host tools the kubelet tier needs beside the kubelet binary and
// containerd (both built by build-tools.sh), and where Debian puts them
// (runc from the runc package, the CNI plugins from
// containernetworking-plugins, the static busybox from busybox-static).
var (
	cniDirs    = []string{"/usr/lib/cni", "/opt/cni/bin"}
	cniPlugins = []string{"bridge", "host-local", "loopback"}
	busybox    = "/bin/busybox"
)

// kubeletHost is what the kubelet tier found on this machine.
type kubeletHost struct {
	containerd, runc, ctr, cniDir, ip string
}

// findKubeletHost says what is missing for the kubelet tier, if anything.
func findKubeletHost() (kubeletHost, string) {
	var h kubeletHost
	var missing []string
	if st, err := os.Stat(tool("kubelet")); err != nil || st.Mode()&0o111 == 0 {
		missing = append(missing, "the kubelet binary in "+ToolsDir()+" (test/k8s/build-tools.sh builds it)")
	}
	// containerd, its shim and ctr of ContainerdVersion, never the
	// system's: Debian's cuts the end of a fast writer's output.
	h.containerd, h.ctr = filepath.Join(ContainerdDir(), "containerd"), filepath.Join(ContainerdDir(), "ctr")
	for _, name := range []string{"containerd", "containerd-shim-runc-v2", "ctr"} {
		if st, err := os.Stat(filepath.Join(ContainerdDir(), name)); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, name+" "+ContainerdVersion+" in "+ContainerdDir()+" (test/k8s/build-tools.sh builds it)")
		}
	}
	for _, b := range []struct {
		name string
		to   *string
		pkg  string
	}{{"runc", &h.runc, "runc"}, {"ip", &h.ip, "iproute2"}} {
		p, err := exec.LookPath(b.name)
		if err != nil {
			missing = append(missing, b.name+" (Debian package "+b.pkg+")")
		}
		*b.to = p
	}
	for _, d := range cniDirs {
		ok := true
		for _, p := range cniPlugins {
			if _, err := os.Stat(filepath.Join(d, p)); err != nil {
				ok = false
			}
		}
		if ok {
			h.cniDir = d
			break
		}
	}
	if h.cniDir == "" {
		missing = append(missing, fmt.Sprintf("the CNI plugins %v in %v (Debian package containernetworking-plugins)", cniPlugins, cniDirs))
	}
	if err := staticBinary(busybox); err != nil {
		missing = append(missing, "a static "+busybox+" (Debian package busybox-static): "+err.Error())
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (containerd and the kubelet run as root)")
	}
	if len(missing) == 0 {
		return h, ""
	}
	return h, "the kubelet tier needs " + strings.Join(missing, ", ")
}

// staticBinary fails unless path is an executable without an ELF
// interpreter (a dynamic busybox would not run inside an image).
func staticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("it is dynamically linked")
		}
	}
	return nil
}

// NeedKubelet skips the test unless the kubelet tier can run here (the
// kubelet binary, containerd, runc, the CNI plugins, a static busybox,
// root); with BRIGADE_TEST_KUBE=1 it fails instead.
func NeedKubelet(t testing.TB) {
	t.Helper()
	NeedTools(t)
	if _, why := findKubeletHost(); why != "" {
		lack(t, why)
	}
}

// kubeletNode is the containerd and kubelet of Options.Kubelet.
type kubeletNode struct {
	host   kubeletHost
	dir    string // short: containerd's socket path must fit in 108 bytes
	sock   string
	bridge string
	nodeIP string // on the bridge: the kubelet refuses a loopback address
	// podSubnet is the bridge's /24, nodeIP its first address.
	podSubnet string
	procs     []*process
	cancel    context.CancelFunc // ends the volume provisioner
	done      chan struct{}
}

// startKubelet starts containerd and a kubelet registered as the node
// c.Node, imports the busybox and pause images, and provisions a hostPath
// volume for every claim. The cluster's cleanup tears it all down.
func (c *Cluster) startKubelet() error {
	h, why := findKubeletHost()
	if why != "" {
		return errors.New(why)
	}
	dir, err := os.MkdirTemp("", "bk-")
	if err != nil {
		return fmt.Errorf("creating the kubelet's directory: %w", err)
	}
	suffix, err := randomHex(4)
	if err != nil {
		return err
	}
	k := &kubeletNode{host: h, dir: dir, sock: filepath.Join(dir, "ctd.sock"), bridge: "bk" + suffix}
	c.kubelet = k
	c.Node = "kubelet-" + suffix
	if err := k.makeBridge(suffix); err != nil {
		return err
	}
	c.HostIP = k.nodeIP
	for _, d := range []string{"ctd/root", "ctd/state", "ctd/runc", "ctd/opt", "cni/net.d", "cni/ipam", "kubelet/root", "kubelet/logs", "kubelet/plugins", "volumes"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("creating the kubelet's directories: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cni/net.d/10-brigade-test.conflist"), []byte(k.cniConfig()), 0o644); err != nil {
		return fmt.Errorf("writing the CNI configuration: %w", err)
	}
	ctdConfig := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(ctdConfig, []byte(k.containerdConfig()), 0o644); err != nil {
		return fmt.Errorf("writing containerd's configuration: %w", err)
	}
	// containerd starts the shim it finds first on its PATH: its own.
	ctd, err := startBinary(dir, "containerd", h.containerd,
		[]string{"PATH=" + ContainerdDir() + string(os.PathListSeparator) + os.Getenv("PATH")}, "--config="+ctdConfig)
	if err != nil {
		return err
	}
	k.procs = append(k.procs, ctd)
	if err := waitFor("containerd to answer", startDeadline, k.procs, func() error {
		_, err := k.ctr("version")
		return err
	}); err != nil {
		return err
	}
	if err := c.ImportImage(BusyboxImage, []string{"sh"}, nil); err != nil {
		return err
	}
	if err := c.ImportImage(PauseImage, []string{"sleep", "2147483647"}, nil); err != nil {
		return err
	}

	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	kcfg := filepath.Join(dir, "kubelet.yaml")
	if err := os.WriteFile(kcfg, []byte(k.kubeletConfig(ports[0], ports[1])), 0o644); err != nil {
		return fmt.Errorf("writing the kubelet's configuration: %w", err)
	}
	kubelet, err := startProcess(dir, "kubelet",
		"--config="+kcfg, "--kubeconfig="+c.Kubeconfig,
		"--root-dir="+filepath.Join(dir, "kubelet/root"),
		"--cert-dir="+filepath.Join(dir, "kubelet/pki"),
		"--volume-plugin-dir="+filepath.Join(dir, "kubelet/plugins"),
		"--hostname-override="+c.Node, "--node-ip="+k.nodeIP, "--v=1")
	if err != nil {
		return err
	}
	k.procs = append(k.procs, kubelet)

	ctx, cancel := context.WithCancel(context.Background())
	k.cancel, k.done = cancel, make(chan struct{})
	go func() {
		defer close(k.done)
		c.provisionVolumes(ctx, filepath.Join(dir, "volumes"))
	}()

	// Ready, and without the not-ready taint the controller manager lifts.
	return waitFor("the kubelet's node "+c.Node+" to be ready", 2*startDeadline, append(c.procs, k.procs...), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := c.Client.CoreV1().Nodes().Get(ctx, c.Node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status != corev1.ConditionTrue {
				return fmt.Errorf("node %s is not ready: %s", c.Node, cond.Message)
			}
		}
		for _, taint := range n.Spec.Taints {
			if taint.Effect == corev1.TaintEffectNoSchedule || taint.Effect == corev1.TaintEffectNoExecute {
				return fmt.Errorf("node %s is still tainted %s", c.Node, taint.Key)
			}
		}
		return nil
	})
}

// makeBridge creates the pods' bridge before the CNI plugin would, with
// the node's address as the first of a /24 of its own in 10.223.0.0/16:
// the kubelet refuses a loopback address and should not listen on the
// machine's real network, and pods reach this machine there, on-link,
// without a gateway (a server under test listens on Cluster.HostIP). The
// bridge plugin leaves a bridge's addresses alone when it is not the pods'
// gateway, and host-local never hands out the range's first address.
func (k *kubeletNode) makeBridge(suffix string) error {
	b, err := hex.DecodeString(suffix)
	if err != nil || len(b) < 2 {
		return fmt.Errorf("a node address from %q: %v", suffix, err)
	}
	// A /24 that no interface here has yet (another test's node, say).
	taken, err := exec.Command(k.host.ip, "-4", "-o", "addr", "show").Output()
	if err != nil {
		return fmt.Errorf("listing this machine's addresses: %w", err)
	}
	third := int(b[0])
	for i := 0; i < 256; i++ {
		if !strings.Contains(string(taken), fmt.Sprintf(" 10.223.%d.", (third+i)%256)) {
			third = (third + i) % 256
			break
		}
	}
	k.nodeIP = fmt.Sprintf("10.223.%d.1", third)
	k.podSubnet = fmt.Sprintf("10.223.%d.0/24", third)
	for _, args := range [][]string{
		{"link", "add", k.bridge, "type", "bridge"},
		{"addr", "add", k.nodeIP + "/24", "dev", k.bridge},
		{"link", "set", k.bridge, "up"},
	} {
		if out, err := exec.Command(k.host.ip, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// ctr runs containerd's client on the node's containerd, in the
// namespace of the CRI, and returns its standard output: it warns on its
// standard error (e.g. that cgroup v1 is deprecated), which callers
// listing ids or reading JSON must not take for output.
func (k *kubeletNode) ctr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.host.ctr, append([]string{"--address", k.sock, "--namespace", "k8s.io"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out), nil
}

// cniConfig is a bridge without a gateway, masquerade or iptables: pods
// get an address in the node's /24 and talk to each other and to this
// machine at the node's address, nothing else (dockerd here runs without
// bridges or iptables too).
func (k *kubeletNode) cniConfig() string {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "brigade-test",
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": k.bridge, "isGateway": false, "ipMasq": false,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": k.podSubnet}}},
				"dataDir": filepath.Join(k.dir, "cni/ipam"),
			},
		}},
	}
	b, _ := json.Marshal(conf)
	return string(b)
}

// containerdConfig keeps everything of this containerd under k.dir: its
// root, state, socket, runc's state; the native snapshotter works on any
// filesystem.
func (k *kubeletNode) containerdConfig() string {
	q := strconv.Quote
	d := func(p string) string { return q(filepath.Join(k.dir, p)) }
	return strings.Join([]string{
		"version = 2",
		"root = " + d("ctd/root"),
		"state = " + d("ctd/state"),
		`disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", ` +
			`"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]`,
		"[grpc]",
		"  address = " + q(k.sock),
		"[ttrpc]",
		"  address = " + q(k.sock+".ttrpc"),
		`[plugins."io.containerd.grpc.v1.cri"]`,
		"  sandbox_image = " + q(PauseImage),
		"  enable_selinux = false",
		"  restrict_oom_score_adj = true",
		`  [plugins."io.containerd.grpc.v1.cri".containerd]`,
		`    snapshotter = "native"`,
		`    default_runtime_name = "runc"`,
		`    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]`,
		`      runtime_type = "io.containerd.runc.v2"`,
		`      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`,
		"        SystemdCgroup = false",
		"        Root = " + d("ctd/runc"),
		"        BinaryName = " + q(k.host.runc),
		`  [plugins."io.containerd.grpc.v1.cri".cni]`,
		"    bin_dir = " + q(k.host.cniDir),
		"    conf_dir = " + d("cni/net.d"),
		`[plugins."io.containerd.internal.v1.opt"]`,
		"  path = " + d("ctd/opt"),
		"",
	}, "\n")
}

// kubeletConfig: cgroupfs without per-QoS cgroups, no authentication
// between the apiserver and the kubelet (loopback only), and no eviction
// or image garbage collection to surprise a test on a full disk.
func (k *kubeletNode) kubeletConfig(port, healthz int) string {
	return strings.Join([]string{
		"apiVersion: kubelet.config.k8s.io/v1beta1",
		"kind: KubeletConfiguration",
		"address: " + k.nodeIP,
		"port: " + strconv.Itoa(port),
		"readOnlyPort: 0",
		"healthzBindAddress: 127.0.0.1",
		"healthzPort: " + strconv.Itoa(healthz),
		"authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}",
		"authorization: {mode: AlwaysAllow}",
		"cgroupDriver: cgroupfs",
		"cgroupsPerQOS: false",
		"enforceNodeAllocatable: []",
		"failSwapOn: false",
		"failCgroupV1: false",
		"containerRuntimeEndpoint: " + strconv.Quote("unix://"+k.sock),
		"podLogsDir: " + strconv.Quote(filepath.Join(k.dir, "kubelet/logs")),
		"resolvConf: /etc/resolv.conf",
		"registerNode: true",
		"evictionHard: {memory.available: 1Mi, nodefs.available: 1%, imagefs.available: 1%}",
		"imageGCHighThresholdPercent: 100",
		"imageGCLowThresholdPercent: 99",
		"serializeImagePulls: false",
		"localStorageCapacityIsolation: false",
		"containerLogMaxSize: 100Mi",
		"",
	}, "\n")
}
