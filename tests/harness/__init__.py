"""Real local dependencies for Roost's integration and e2e tests.

Starts and stops a Kubernetes control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok fake nodes), a kind cluster, and
Prometheus as plain processes. Used by ``hack/cluster`` and by the session
fixtures in ``tests/conftest.py``; unit tests never import it.
"""
