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
// caller's ids never reach a container's config. It gets the directory as
// a descriptor the caller opened (O_NOFOLLOW) and empties it through
// os.Root, which follows no symbolic link of the container's tree out of
// it; the caller then removes the empty directory itself. The store that
// holds it may belong to a group the namespace does not map (a directory
// an administrator made for the user, group root), over which root of the
// namespace has no capability: it could neither walk the path nor unlink
// the directory from it.
//
// This package has no dependency on the image and download code, so that
// the ulxc that starts containers does not carry it (README, "Binaries").
package destroy
