# The local certificate authority of proxy mode.
#
# mitmproxy terminates TLS with certificates it signs on the fly, so a client must trust the
# signing CA. llmspy makes one CA per install with `cryptography` (a fresh RSA key and a random
# serial: never a shared key) and writes it in the layout mitmproxy reads from its confdir
# (mitmproxy/certs.py ``CertStore.from_store``), so the proxy is simply started with
# ``confdir=<CA dir>``:
#
#   mitmproxy-ca.pem        private key + certificate (PEM), mode 0600: what mitmproxy loads
#   mitmproxy-ca-cert.pem   certificate only (PEM), what mitmproxy's onboarding app serves
#   mitmproxy-ca-cert.cer   the same PEM (mitmproxy writes it for Android)
#   ca.crt                  the same PEM: the one file users import or point programs at
#
# Where the CA lives: ``--ca-dir``, else certs/ of the checkout when llmspy runs from one (the
# llmspy package next to certs/ and pyproject.toml), else ~/.llmspy/ca. certs/ in git holds
# only README.md and .gitignore; a key is never committed.
from __future__ import annotations

import base64
import datetime
import hashlib
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_CERT",
    "MITM_CA",
    "CAError",
    "CA",
    "default_ca_dir",
    "generate_ca",
    "load_ca",
    "ensure_ca",
    "spki_sha256",
    "trust_instructions",
    "gen_ca_main",
]

CA_CERT = "ca.crt"  # what users trust
MITM_CA = "mitmproxy-ca.pem"  # key + cert, read by mitmproxy (basename "mitmproxy")
MITM_CERT_FILES = ("mitmproxy-ca-cert.pem", "mitmproxy-ca-cert.cer")
# Files mitmproxy itself would have made for an older CA; removed on --force so nothing stale
# (a PKCS#12 of the previous key) survives a replacement.
STALE_FILES = ("mitmproxy-ca.p12", "mitmproxy-ca-cert.p12")

# RSA 2048: mitmproxy's default ``key_size``; mitmproxy reuses the CA key for every leaf
# certificate, and every TLS client accepts RSA 2048.
KEY_SIZE_BITS = 2048
# Ten years, as mitmproxy's own CA (certs.CA_EXPIRY): a local CA re-trusted every year would
# be a chore, and the key never leaves this machine.
VALIDITY = datetime.timedelta(days=3650)
# Backdate notBefore so a client whose clock is a little behind still accepts the CA.
CLOCK_SKEW = datetime.timedelta(days=2)


class CAError(Exception):
    """A CA problem the user can fix; ``str()`` is one line naming the file and the fix."""


@dataclass(frozen=True)
class CA:
    """A loaded CA: its directory, certificate and the path users trust (``cert_path``)."""

    dir: Path
    cert: x509.Certificate

    @property
    def cert_path(self) -> Path:
        return self.dir / CA_CERT

    @property
    def spki(self) -> str:
        return spki_sha256(self.cert)


def default_ca_dir() -> Path:
    """certs/ of the checkout when llmspy runs from one, else ~/.llmspy/ca."""
    package = Path(__file__).resolve().parent.parent
    root = package.parent
    if (root / "certs").is_dir() and (root / "pyproject.toml").is_file():
        return root / "certs"
    return Path.home() / ".llmspy" / "ca"


def spki_sha256(cert: x509.Certificate) -> str:
    """Base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER): the value Chromium's
    ``--ignore-certificate-errors-spki-list`` takes."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically (temp file + rename) with ``mode`` from the start,
    so a key is never readable by others, not even for a moment."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened beyond ``mode``
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE_BITS)
    # A per-install name, so the CA is recognisable (and distinct) in a trust store.
    cn = f"llmspy local CA {socket.gethostname()[:32]} {secrets.token_hex(3)}"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "llmspy")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        # RFC 5280 §4.2.1.9 / §4.2.1.3: a CA that signs leaf certificates only.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_cert_files(ca_dir: Path, cert: x509.Certificate) -> None:
    pem = _cert_pem(cert)
    for name in (*MITM_CERT_FILES, CA_CERT):
        _write(ca_dir / name, pem, 0o644)


def generate_ca(ca_dir: Path | str, force: bool = False) -> CA:
    """Create a new CA in ``ca_dir`` (made with mode 0700 when missing). Raises CAError when a
    CA is already there and ``force`` is False, or when the directory cannot be written."""
    ca_dir = Path(ca_dir).expanduser()
    existing = [n for n in (MITM_CA, CA_CERT) if (ca_dir / n).exists()]
    if existing and not force:
        raise CAError(f"a CA already exists in {ca_dir} ({', '.join(existing)}); use --force to replace it")
    try:
        ca_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key, cert = _make_ca()
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        _write(ca_dir / MITM_CA, key_pem + _cert_pem(cert), 0o600)
        _write_cert_files(ca_dir, cert)
        for name in STALE_FILES:
            (ca_dir / name).unlink(missing_ok=True)
    except OSError as e:
        raise CAError(f"cannot write the CA to {ca_dir}: {e.strerror or e}") from None
    return CA(ca_dir, cert)


def load_ca(ca_dir: Path | str) -> CA:
    """Load and check the CA in ``ca_dir``: key and certificate present, matching, a CA.
    Rewrites missing certificate-only files (ca.crt...) from mitmproxy-ca.pem. Raises CAError."""
    ca_dir = Path(ca_dir).expanduser()
    path = ca_dir / MITM_CA
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CAError(f"cannot read the CA key {path}: {e.strerror or e}") from None
    try:
        key = serialization.load_pem_private_key(raw, password=None)
        cert = x509.load_pem_x509_certificates(raw)[0]
    except (ValueError, TypeError, IndexError) as e:
        raise CAError(f"{path} is not a PEM private key + certificate without passphrase ({e}); "
                      f"replace it with `llmspy gen-ca --force --ca-dir {ca_dir}`") from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, pub) != cert.public_key().public_bytes(serialization.Encoding.DER, pub):
        raise CAError(f"{path}: the key does not belong to the certificate; run `llmspy gen-ca --force --ca-dir {ca_dir}`")
    ca = CA(ca_dir, cert)
    try:
        if not ca.cert_path.exists() or ca.cert_path.read_bytes().strip() != _cert_pem(cert).strip():
            _write_cert_files(ca_dir, cert)
    except OSError as e:
        raise CAError(f"cannot write {ca.cert_path}: {e.strerror or e}") from None
    return ca


def ensure_ca(ca_dir: Path | str) -> tuple[CA, bool]:
    """The CA in ``ca_dir``, created on first use. Returns (ca, created). Raises CAError
    (unreadable or not a directory, a certificate without its key, a broken key file)."""
    ca_dir = Path(ca_dir).expanduser()
    if ca_dir.exists() and not ca_dir.is_dir():
        raise CAError(f"CA directory {ca_dir} is not a directory")
    if ca_dir.is_dir() and not os.access(ca_dir, os.R_OK | os.X_OK):
        raise CAError(f"cannot read CA directory {ca_dir}: permission denied")
    if (ca_dir / MITM_CA).exists():
        return load_ca(ca_dir), False
    if (ca_dir / CA_CERT).exists():
        raise CAError(f"{ca_dir / CA_CERT} has no key ({MITM_CA} is missing); "
                      f"make a new CA with `llmspy gen-ca --force --ca-dir {ca_dir}` and trust it again")
    return generate_ca(ca_dir), True


def trust_instructions(ca: CA) -> str:
    """How to trust ``ca``: browsers, the system store, per-program variables (multi-line)."""
    crt = ca.cert_path
    return f"""\
CA certificate: {crt}
Trust it where the program looks for CAs:
  Chrome/Chromium (NSS db; apt install libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n llmspy -i {crt}
  Chromium for one run, without installing: --ignore-certificate-errors-spki-list={ca.spki}
    (with --user-data-dir=DIR and --proxy-server=http://127.0.0.1:8080)
  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities >
    Import {crt}, "Trust this CA to identify websites"
  The system store (Debian/Ubuntu; Fedora: /etc/pki/ca-trust/source/anchors + update-ca-trust):
    sudo cp {crt} /usr/local/share/ca-certificates/llmspy.crt && sudo update-ca-certificates
  One program (these replace the default CA bundle; all its traffic then goes via the proxy):
    SSL_CERT_FILE={crt}          OpenSSL, Python ssl, httpx (openai, anthropic SDKs)
    REQUESTS_CA_BUNDLE={crt}     requests
    NODE_EXTRA_CA_CERTS={crt}    node (adds to its bundle)
    curl --cacert {crt}
The key ({ca.dir / MITM_CA}) stays on this machine; never share or commit it."""


def gen_ca_main(ca_dir: str | os.PathLike | None, force: bool) -> int:
    """`llmspy gen-ca` / gen_ca.py: create the CA, print how to trust it. Returns an exit code
    (0 made, 1 a CA exists without --force or it cannot be written)."""
    target = Path(ca_dir).expanduser() if ca_dir else default_ca_dir()
    try:
        if target.exists() and not target.is_dir():
            raise CAError(f"CA directory {target} is not a directory")
        ca = generate_ca(target, force)
    except CAError as e:
        print(f"llmspy: error: {e}", file=sys.stderr)
        return 1
    print(f"Created a new local CA in {ca.dir} (key mode 0600).")
    print(trust_instructions(ca))
    return 0
