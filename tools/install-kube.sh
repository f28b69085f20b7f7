#!/usr/bin/env bash
# Builds the real Kubernetes control plane the cluster tests run against (kube-apiserver,
# kube-controller-manager, etcd) from the Go module proxy into .cache/tools/, from the module
# pinned in tools/kube (go.mod/go.sum, written by tools/kube/gen-gomod.sh). Built as upstream
# builds them (static, stripped, selinux,notest tags) with the version ldflags, so /version
# reports the real release: charts compare .Capabilities.KubeVersion. Does nothing when the
# pinned binaries are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$PWD/.cache/tools
mod=tools/kube
k8s=$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' "$mod/go.mod")
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2; exit}' "$mod/go.mod")
stamp="$dest/.kube-$k8s-etcd-$etcd"

versions() {
  "$dest/kube-apiserver" --version
  "$dest/kube-controller-manager" --version
  # Not `| head -1`: under pipefail, etcd dies of SIGPIPE when head exits first (flaky).
  local etcd_version
  etcd_version=$("$dest/etcd" --version)
  echo "${etcd_version%%$'\n'*}"
}
if [ -f "$stamp" ] && [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kube-controller-manager" ] \
  && [ -x "$dest/etcd" ]; then
  versions
  exit 0
fi
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "install-kube.sh: go is not on PATH (the tests need Go >= $(awk '$1 == "go" {print $2}' "$mod/go.mod"))" >&2; exit 1; }

minor=${k8s#v1.}; minor=${minor%%.*}
commit=$(printf '%s' "$k8s" | sha1sum | cut -c1-40)  # no git tree here; any fixed hash will do
pkgs=(component-base/version client-go/pkg/version)
ldflags="-s -w"
for p in "${pkgs[@]}"; do
  ldflags+=" -X k8s.io/$p.gitVersion=$k8s -X k8s.io/$p.gitMajor=1 -X k8s.io/$p.gitMinor=$minor"
  ldflags+=" -X k8s.io/$p.gitTreeState=clean -X k8s.io/$p.gitCommit=$commit"
  ldflags+=" -X k8s.io/$p.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$dest"
rm -f "$dest"/.kube-*
start=$(date +%s)
cd "$mod"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
# One at a time: each link needs a few GB of memory and the machine has two cores.
go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$dest/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$dest/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$commit" -o "$dest/etcd" go.etcd.io/etcd/server/v3
cd - >/dev/null
touch "$stamp"
echo "built the control plane in $(( $(date +%s) - start ))s"
versions
