"""Evaluate node-set expressions with ClusterShell, in one process, for the differential test.

Input (stdin): a JSON list of argument lists; each is evaluated like `nodeset ARG...`
(union of the arguments). Output: a JSON list of {"ok", "fold", "count", "expand"} or
{"ok": false, "error"}.
"""
import json
import sys

from ClusterShell.NodeSet import NodeSet, RESOLVER_NOGROUP

out = []
for args in json.load(sys.stdin):
    try:
        ns = NodeSet(resolver=RESOLVER_NOGROUP)
        for a in args:
            ns.update(NodeSet.fromlist(a.splitlines(), resolver=RESOLVER_NOGROUP))
        out.append({"ok": True, "fold": str(ns), "count": len(ns), "expand": list(ns)})
    except Exception as exc:  # any rejection counts: parse errors and internal ones alike
        out.append({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)})
json.dump(out, sys.stdout)
