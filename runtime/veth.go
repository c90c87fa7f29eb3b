package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ulxc/ulxc/ocispec"
	"github.com/ulxc/ulxc/veth"
)

// veth interfaces, on an administrator's bridge: package veth runs
// ulxc-netshim, which makes the pair with the container's end already in
// the container's network namespace, then configures that end through a
// netlink socket made inside the namespace. The supervisor keeps that
// socket while the container runs and deletes the container's ends with
// it when init exits (detach): the host ends go at once, and with them
// the quota they count against, instead of whenever the kernel gets round
// to destroying the namespace (a stop hook or a user-mode helper may hold
// it a while longer).

// vethInterface reads iface (its name already chosen, netInterfaces) with
// package veth. Each call draws the "x" digits of a hwaddr anew.
func vethInterface(iface ocispec.Interface) (veth.Interface, error) {
	ann := map[string]string{ocispec.NetKey(iface.Index, "type"): iface.Type}
	for k, v := range iface.Keys {
		ann[ocispec.NetKey(iface.Index, k)] = v
	}
	its, err := veth.FromAnnotations(ann)
	if err != nil {
		return veth.Interface{}, err
	}
	if len(its) != 1 {
		return veth.Interface{}, fmt.Errorf("lxc.net.%d: not one veth interface", iface.Index)
	}
	return its[0], nil
}

func checkVeth(iface ocispec.Interface) error {
	_, err := vethInterface(iface)
	return err
}

// preflightVeth finds the helper and checks that its file carries the
// capability it needs: without them, no veth can be made.
func preflightVeth(ocispec.Interface) error {
	path, err := veth.FindHelper()
	if err != nil {
		return err
	}
	return veth.CheckHelper(path)
}

func attachVeth(ctx context.Context, ns *netNamespace, iface ocispec.Interface) (netAttachment, error) {
	it, err := vethInterface(iface)
	if err != nil {
		return nil, err
	}
	p, err := veth.Attach(ctx, ns.Net, []veth.Interface{it}, veth.Options{})
	if err != nil {
		return nil, unwrapVethIndex(err, iface.Index)
	}
	return &vethNet{pairs: p, log: ns.Log}, nil
}

// unwrapVethIndex removes the "lxc.net.N: " that package veth puts before
// its errors, which the network phase says already.
func unwrapVethIndex(err error, n int) error {
	if msg, ok := strings.CutPrefix(err.Error(), "lxc.net."+strconv.Itoa(n)+": "); ok {
		return &trimmedError{msg: msg, err: err}
	}
	return err
}

// trimmedError is err with a shorter message, and err still to unwrap.
type trimmedError struct {
	msg string
	err error
}

func (e *trimmedError) Error() string { return e.msg }
func (e *trimmedError) Unwrap() error { return e.err }

// vethNet is a veth interface the network phase made.
type vethNet struct {
	pairs *veth.Pairs
	log   *slog.Logger
}

func (v *vethNet) String() string {
	a := v.pairs.Attached[0]
	return fmt.Sprintf("%s: veth on %s, host end %s", a.Name, a.Link, a.HostIf)
}

func (v *vethNet) detach() {
	if err := v.pairs.Remove(); err != nil {
		v.log.Error("remove veth", "interface", v.String(), "err", err)
	}
}
