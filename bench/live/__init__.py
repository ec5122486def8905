"""B5: the real Flagger and Roost side by side on the local control plane (bench only).

``python -m bench.live.driver`` (or ``bench/run --only live``) builds Flagger from the
Go module proxy on first use (``bench.live.build``), starts the harness's control
plane, Prometheus and simulated data plane, runs Flagger out of cluster and
``roost run`` as processes, and rolls out healthy and bad canaries under both at
several request rates (``bench.live.manifests`` holds the objects each arm gets).
``bench.live.predict`` runs the re-implementations of bench/canary for the same
settings, and ``bench.live.report`` writes the section of docs/benchmarks.md.
"""
