"""Autoscaling on a replayed trace: a request-level queue simulator of a model server
Deployment (:mod:`.sim`), the HPA controller restated (:mod:`.hpa`), the policies
compared (:mod:`.policies`: Roost's plan, a CPU HPA, KEDA- and KPA-style, static), and
a run scored as B2 scores it (:mod:`.run`). ``roost capacity replay`` runs a user's own
trace (:mod:`.trace`) through it; B2 (``bench/autoscale``) runs its seeded traces.
Pure: no clock, network or cluster; numpy for the draws.
"""
