// Package deploy has no code. Its tests check, as far as a machine without
// a container engine or a cluster can, what this directory and the
// Dockerfile describe: the Helm chart (helm/recovery) rendered by Helm's
// own library and decoded strictly into the Kubernetes API types, the
// Compose file (compose/) loaded by the Compose loader, and the
// production binary (-tags noembed, static) built and run the way the
// image runs it.
//
// Only this package's test binary links Helm, the Kubernetes API types and
// compose-go.
//
// Time budget: under 2 minutes once the production binary is in the build
// cache (its first build, like the image's, compiles the whole module
// without the embedded Temporal server: a few minutes on 2 cores).
package deploy
