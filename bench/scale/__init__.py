"""B3: operator scale on the local control plane (issue 7)."""
