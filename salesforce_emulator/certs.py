"""Self-signed certificate for the HTTPS (instance) port, created once beside the data."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"


def _sans(extra_hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    for host in extra_hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def ensure_certificate(
    data_dir: str | Path, extra_hosts: list[str] | None = None
) -> tuple[Path, Path]:
    """Return (cert, key) paths, creating them when missing or lacking a requested host."""
    data_dir = Path(data_dir)
    cert_path, key_path = data_dir / CERT_NAME, data_dir / KEY_NAME
    wanted = _sans(extra_hosts or [])
    if cert_path.exists() and key_path.exists() and _still_serves(cert_path, wanted):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, wanted)
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_serves(cert_path: Path, wanted: list[x509.GeneralName]) -> bool:
    """Whether the certificate on disk is valid for another day and names every wanted host."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    return fresh and all(name in have for name in wanted)


def _self_signed(key: ec.EllipticCurvePrivateKey, sans: list[x509.GeneralName]) -> x509.Certificate:
    """A ten-year server certificate for `sans`, signed by its own key."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Salesforce Emulator (tasksync)")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        # CA:TRUE so it can be used directly as a trust anchor (a CA bundle of one).
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
