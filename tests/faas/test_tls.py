"""TLS: an endpoint given a certificate serves HTTPS and a TLS channel; the client verifies it against that
certificate (self-signed, made here with cryptography)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.faas import EndpointError
from tests.faas import functions
from tests.faas.endpoints import running_endpoint


def self_signed(folder: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certfile, keyfile


def test_tls_endpoint(tmp_path: Path) -> None:
    certfile, keyfile = self_signed(tmp_path)
    with running_endpoint(tmp_path, "--certfile", str(certfile), "--keyfile", str(keyfile)) as ep:
        assert ep.url.startswith("https://127.0.0.1:")
        with hf.Endpoint(ep.url, token=ep.token, verify=str(certfile)) as client:
            assert client.health()["channel"]["tls"] is True
            assert client.submit(functions.square, 11).result(timeout=60) == 121
            with client.lease(cores=1, seconds=30) as lease:
                assert lease.submit(functions.square, 2).result(timeout=60) == 4
        with pytest.raises(EndpointError, match="CERTIFICATE_VERIFY_FAILED"):
            hf.Endpoint(ep.url, token=ep.token)  # the system's CAs do not know it
        with pytest.raises(EndpointError):
            hf.Endpoint(ep.url.replace("https", "http"), token=ep.token)  # plain HTTP to a TLS port
