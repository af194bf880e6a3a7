package worker

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEventDocument feeds arbitrary event.json documents to the worker's
// decoding and to the steps that lay files out from it: nothing panics, and
// nothing is written outside the event's folder, whatever the names of the
// config folder and files.
func FuzzEventDocument(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","project":{"id":"p","secrets":{"a":"b"}},"source":"s","type":"t","worker":{"apiAddress":"http://x","apiToken":"t","configFilesDirectory":".brigade","defaultConfigFiles":{"brigade.js":"1"}}}`,
		`{"worker":{"configFilesDirectory":"../x","defaultConfigFiles":{"../../evil":"x"}}}`,
		`{"worker":{"configFilesDirectory":"a/b","configFiles":{"c/d.js":"x","/abs":"y","":"z"}}}`,
		`{"worker":{"configFilesDirectory":"C:\\x","defaultConfigFiles":{"a\\..\\..\\b":"x"}}}`,
		`null`, `[]`, `"x"`, `{"worker":null}`, `{"worker":{"defaultConfigFiles":{"a":1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		doc, _, err := decodeEventDocument(raw)
		if err != nil {
			return
		}
		base := t.TempDir()
		event := filepath.Join(base, "event")
		w := &logWriter{out: io.Discard}
		root, dir, err := configDir(filepath.Join(event, "source"), doc.Worker.ConfigFilesDirectory, w)
		if err != nil {
			return
		}
		writeDefaults(root, dir, doc.Worker.DefaultConfigFiles, w)
		writeEventFiles(root, dir, doc.Worker.ConfigFiles, w)
		root.Close()
		entries, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "event" {
				t.Fatalf("the document wrote %q outside the event's folder", e.Name())
			}
		}
	})
}
