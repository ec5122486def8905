"""The traffic provider a ModelDeployment's ``spec.traffic.provider`` names."""

from __future__ import annotations

from roost.adapters.kube import Kube
from roost.adapters.traffic import TrafficProvider
from roost.adapters.traffic.gatewayapi import GatewayAPIProvider
from roost.adapters.traffic.istio import IstioProvider
from roost.adapters.traffic.replicas import ReplicaRatioProvider
from roost.api.modeldeployment import TrafficProviderName


def provider_for(name: TrafficProviderName, kube: Kube, total_replicas: int) -> TrafficProvider:
    """A provider for one tick; ``total_replicas`` is what the replica-ratio provider
    splits between the versions (route-based providers ignore it)."""
    match name:
        case TrafficProviderName.GATEWAY_API:
            return GatewayAPIProvider(kube)
        case TrafficProviderName.ISTIO:
            return IstioProvider(kube)
        case TrafficProviderName.REPLICAS:
            return ReplicaRatioProvider(kube, total_replicas=total_replicas)
