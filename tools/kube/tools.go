//go:build tools

// Package kube names the programs tools/install-kube.sh builds, so that `go mod tidy` keeps
// them in go.mod. The build tag keeps this file out of every real build.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
