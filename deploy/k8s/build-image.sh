#!/usr/bin/env bash
# build-image.sh [TAG]: builds the static starc binary and the image of
# deploy/k8s/Dockerfile with whichever builder is installed (docker with a
# running daemon, podman, buildah). Without one it builds the binary, says
# so and stops: copy deploy/k8s/context to a machine with a builder.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-starc:latest}
ctx=deploy/k8s/context
mkdir -p "$ctx"
version=$(git rev-parse --short HEAD 2> /dev/null || echo dev)
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X starc/eval/grid.Version=$version" -o "$ctx/starc" ./cmd/starc
if file "$ctx/starc" 2> /dev/null | grep -q dynamically; then
  echo "build-image: $ctx/starc is dynamically linked; the scratch image needs a static binary" >&2
  exit 1
fi
echo "build-image: $ctx/starc ($(du -h "$ctx/starc" | cut -f1), version $version)"
if command -v docker > /dev/null && docker info > /dev/null 2>&1; then
  docker build -t "$tag" -f deploy/k8s/Dockerfile "$ctx"
elif command -v podman > /dev/null; then
  podman build -t "$tag" -f deploy/k8s/Dockerfile "$ctx"
elif command -v buildah > /dev/null; then
  buildah bud --storage-driver "${STORAGE_DRIVER:-vfs}" -t "$tag" -f deploy/k8s/Dockerfile "$ctx"
else
  echo "build-image: no container builder (docker daemon, podman, buildah); the binary is in $ctx" >&2
  exit 3
fi
