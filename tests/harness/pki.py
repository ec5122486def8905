"""A throw-away certificate authority for one local cluster (openssl CLI).

The apiserver serves with a certificate from this CA and authenticates clients
by certificates from it: the admin is in the group system:masters, and the
controller manager and scheduler use the identities Kubernetes' bootstrap RBAC
policy binds, so RBAC is on and exercised as in a real cluster.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "3650"


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterPKI:
    ca: KeyPair
    apiserver: KeyPair
    service_account_key: Path  # signs service-account tokens
    service_account_pub: Path  # verifies them
    front_proxy_ca: KeyPair  # vouches for the apiserver when it proxies to
    front_proxy_client: KeyPair  # aggregated APIs (metrics-server, say)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _signed(ca: KeyPair, out: Path, subject: str, extensions: str) -> KeyPair:
    pair = KeyPair(out.with_suffix(".crt"), out.with_suffix(".key"))
    csr, ext = out.with_suffix(".csr"), out.with_suffix(".ext")
    ext.write_text(extensions)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", pair.key, "-out", csr,
             "-subj", subject)  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
             "-out", pair.cert, "-days", DAYS, "-extfile", ext)  # fmt: skip
    csr.unlink()
    ext.unlink()
    return pair


def _authority(out: Path, name: str) -> KeyPair:
    ca = KeyPair(out.with_suffix(".crt"), out.with_suffix(".key"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca.key, "-out", ca.cert,
             "-days", DAYS, "-subj", f"/CN={name}")  # fmt: skip
    return ca


def create_cluster_pki(pki_dir: Path) -> ClusterPKI:
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca = _authority(pki_dir / "ca", "roost-local-ca")
    # 10.0.0.1 is the first address of --service-cluster-ip-range: the
    # in-cluster `kubernetes` Service, which the apiserver expects in its SANs.
    sans = ",".join(
        [
            "IP:127.0.0.1",
            "IP:10.0.0.1",
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
        ]
    )
    apiserver = _signed(
        ca,
        pki_dir / "apiserver",
        "/CN=kube-apiserver",
        f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    )
    sa_key, sa_pub = pki_dir / "sa.key", pki_dir / "sa.pub"
    _openssl("genrsa", "-out", sa_key, "2048")
    _openssl("rsa", "-in", sa_key, "-pubout", "-out", sa_pub)
    # A separate CA: whoever holds a certificate from it may assert any user.
    front_proxy_ca = _authority(pki_dir / "front-proxy-ca", "roost-front-proxy-ca")
    front_proxy_client = client_certificate(
        front_proxy_ca, pki_dir / "front-proxy-client", "front-proxy-client"
    )
    return ClusterPKI(ca, apiserver, sa_key, sa_pub, front_proxy_ca, front_proxy_client)


def client_certificate(ca: KeyPair, out: Path, user: str, group: str | None = None) -> KeyPair:
    """A client certificate: CN is the user name, O the group."""
    subject = (f"/O={group}" if group else "") + f"/CN={user}"
    return _signed(
        ca, out, subject, "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    )


def authority(out: Path, name: str) -> KeyPair:
    """A new CA of its own, e.g. for the serving certificate of an aggregated API."""
    return _authority(out, name)


def serving_certificate(ca: KeyPair, out: Path, name: str, dns_names: list[str]) -> KeyPair:
    """A server certificate for 127.0.0.1 and ``dns_names``."""
    sans = ",".join(["IP:127.0.0.1", *(f"DNS:{d}" for d in dns_names)])
    return _signed(
        ca,
        out,
        f"/CN={name}",
        f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n"
        "keyUsage=digitalSignature,keyEncipherment\n",
    )
