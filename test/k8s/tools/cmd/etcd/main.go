// Command etcd is etcd's own server main, built at the version that
// kube-apiserver pins, for the kubernetes substrate's throwaway clusters.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
