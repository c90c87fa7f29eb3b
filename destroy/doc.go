// Package destroy removes containers, and the half-made remains of a
// create, whose files belong to subordinate ids: those can only be removed
// from inside a user namespace that maps them. Container is `ulxc
// destroy`; InNamespace is the removal step, which package template's
// create uses to roll back and to reclaim an abandoned name; PlanMaps is
// the id map both use for their child.
//
// The child is ulxc re-executed as ChildEntry in a new user namespace
// whose map is the container's plus the caller's own ids (MapSelf), so
// that root of the namespace may enter the caller's 0700 directory; the
// caller's ids never reach a container's config. It removes one absolute
// directory and nothing else.
//
// This package has no dependency on the image and download code, so that
// the ulxc that starts containers does not carry it (README, "Binaries").
package destroy
