package kube

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ImportImage builds an image without any registry and imports it into
// the kubelet's containerd as ref: Debian's static busybox with a link per
// applet in /bin, plus files (path in the image -> file on this machine,
// kept executable), running cmd. Name it with a tag other than latest so
// that the kubelet does not try to pull it.
func (c *Cluster) ImportImage(ref string, cmd []string, files map[string]string) error {
	k := c.kubelet
	if k == nil {
		return errors.New("ImportImage: the cluster has no kubelet (start it with Options.Kubelet)")
	}
	work, err := os.MkdirTemp(k.dir, "image-")
	if err != nil {
		return fmt.Errorf("building image %s: %w", ref, err)
	}
	defer os.RemoveAll(work)
	diff, err := writeLayer(filepath.Join(work, "layer.tar"), files)
	if err != nil {
		return fmt.Errorf("building image %s: %w", ref, err)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC(),
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
			"Cmd": cmd,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + diff}},
	})
	if err != nil {
		return fmt.Errorf("building image %s: %w", ref, err)
	}
	sum := sha256.Sum256(config)
	configName := hex.EncodeToString(sum[:]) + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config": configName, "RepoTags": []string{ref}, "Layers": []string{diff + "/layer.tar"},
	}})
	if err != nil {
		return fmt.Errorf("building image %s: %w", ref, err)
	}
	archive := filepath.Join(work, "image.tar")
	if err := writeArchive(archive, map[string][]byte{"manifest.json": manifest, configName: config},
		diff+"/layer.tar", filepath.Join(work, "layer.tar")); err != nil {
		return fmt.Errorf("building image %s: %w", ref, err)
	}
	// --local: containerd's transfer service, which ctr uses otherwise,
	// knows no platform to unpack for under this configuration.
	if _, err := k.ctr("images", "import", "--local", "--snapshotter", "native", archive); err != nil {
		return fmt.Errorf("importing image %s into the kubelet's containerd: %w", ref, err)
	}
	return nil
}

// ImportArchive imports an image archive (`docker save` output, or an
// OCI archive) into the kubelet's containerd, with the references it
// carries.
func (c *Cluster) ImportArchive(path string) error {
	k := c.kubelet
	if k == nil {
		return errors.New("ImportArchive: the cluster has no kubelet (start it with Options.Kubelet)")
	}
	if _, err := k.ctr("images", "import", "--local", "--snapshotter", "native", path); err != nil {
		return fmt.Errorf("importing %s into the kubelet's containerd: %w", path, err)
	}
	return nil
}

// writeLayer writes the image's only layer and returns its sha256.
func writeLayer(path string, files map[string]string) (string, error) {
	out, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer out.Close()
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(out, h))
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "root", "sys", "usr", "usr/bin", "usr/local", "usr/local/bin"} {
		if err := dir(d, 0o755); err != nil {
			return "", err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return "", err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return "", err
	}
	if err := file("bin/busybox", 0o755, bb); err != nil {
		return "", err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("listing busybox's applets: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox",
			Mode: 0o777, ModTime: epoch}); err != nil {
			return "", err
		}
	}
	if err := file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")); err != nil {
		return "", err
	}
	if err := file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")); err != nil {
		return "", err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body, err := os.ReadFile(files[name])
		if err != nil {
			return "", err
		}
		if err := file(strings.TrimPrefix(name, "/"), 0o755, body); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeArchive writes a docker-archive tarball: small files from memory
// and the layer from disk.
func writeArchive(path string, small map[string][]byte, layerName, layerPath string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	epoch := time.Unix(0, 0)
	for _, name := range []string{"manifest.json"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(small[name])), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(small[name]); err != nil {
			return err
		}
	}
	for name, body := range small {
		if name == "manifest.json" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	layer, err := os.Open(layerPath)
	if err != nil {
		return err
	}
	defer layer.Close()
	st, err := layer.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.Dir(layerName) + "/", Mode: 0o755, ModTime: epoch}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: layerName, Mode: 0o644, Size: st.Size(), ModTime: epoch}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, layer); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Close()
}
