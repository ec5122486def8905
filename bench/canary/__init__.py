"""B1: canary decision quality, Roost's real core against re-implemented peers."""
