// Package deploy holds how dsr runs for real: the Compose file of the production shape
// (compose/), the Kubernetes manifests (kubernetes/) and the container health probe
// (healthcheck/). The image itself is built from the repository's Dockerfile.
//
// These machines have no container engine, so the package's tests read the files and
// check what an engine or a cluster would otherwise find out at start-up: that every
// image, dependency, setting and reference resolves, and that each dsr process would
// accept its configuration (config.Load runs on it).
package deploy
