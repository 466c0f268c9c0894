"""The local CA (llmspy/proxy/ca.py, gen_ca.py): files, modes, refusal to overwrite, that
mitmproxy loads it and signs leaves that verify against ca.crt, and the bad-input errors."""
from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from llmspy.proxy import ca as ca_mod
from llmspy.proxy.ca import CAError, ensure_ca, generate_ca, load_ca

ROOT = Path(__file__).resolve().parents[2]


def _pub_der(cert):
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_files_modes_and_layout(tmp_path):
    d = tmp_path / "ca"
    ca = generate_ca(d)
    names = sorted(p.name for p in d.iterdir())
    assert names == ["ca.crt", "mitmproxy-ca-cert.cer", "mitmproxy-ca-cert.pem", "mitmproxy-ca.pem"]
    assert stat.S_IMODE((d / "mitmproxy-ca.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    raw = (d / "mitmproxy-ca.pem").read_bytes()
    key = serialization.load_pem_private_key(raw, None)
    cert = x509.load_pem_x509_certificate((d / "ca.crt").read_bytes())
    assert _pub_der(cert) == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (d / "ca.crt").read_bytes() == (d / "mitmproxy-ca-cert.pem").read_bytes() == (d / "mitmproxy-ca-cert.cer").read_bytes()
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert b"PRIVATE KEY" not in (d / "ca.crt").read_bytes()
    assert ca.cert_path == d / "ca.crt"


def test_unique_per_install_and_no_overwrite(tmp_path):
    a = generate_ca(tmp_path / "a")
    b = generate_ca(tmp_path / "b")
    assert _pub_der(a.cert) != _pub_der(b.cert) and a.cert.serial_number != b.cert.serial_number
    before = (tmp_path / "a" / "mitmproxy-ca.pem").read_bytes()
    with pytest.raises(CAError, match="--force"):
        generate_ca(tmp_path / "a")
    assert (tmp_path / "a" / "mitmproxy-ca.pem").read_bytes() == before
    c = generate_ca(tmp_path / "a", force=True)
    assert _pub_der(c.cert) != _pub_der(a.cert)
    assert x509.load_pem_x509_certificate((tmp_path / "a" / "ca.crt").read_bytes()) == c.cert


def test_spki_matches_the_openssl_recipe(tmp_path):
    ca = generate_ca(tmp_path / "ca")
    # MACHINE.md: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256 | base64
    pub = subprocess.run(["openssl", "x509", "-in", str(ca.cert_path), "-pubkey", "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True, check=True).stdout
    assert ca.spki == base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_mitmproxy_loads_it_and_signs_leaves_that_verify(tmp_path):
    from cryptography.x509.verification import PolicyBuilder, Store
    from mitmproxy import certs

    ca = generate_ca(tmp_path / "ca")
    store = certs.CertStore.from_store(tmp_path / "ca", "mitmproxy", 2048)
    assert store.default_ca.to_cryptography() == ca.cert  # ours, not a fresh mitmproxy CA
    entry = store.get_cert("api.openai.com", [x509.DNSName("api.openai.com")])
    leaf = entry.cert.to_cryptography()
    trusted = Store([x509.load_pem_x509_certificate(ca.cert_path.read_bytes())])
    verifier = PolicyBuilder().store(trusted).build_server_verifier(x509.DNSName("api.openai.com"))
    chain = verifier.verify(leaf, [])
    assert chain[-1] == ca.cert


def test_ensure_ca_creates_once_then_loads(tmp_path):
    d = tmp_path / "ca"
    first, created = ensure_ca(d)
    assert created
    again, created = ensure_ca(d)
    assert not created and again.cert == first.cert
    (d / "ca.crt").unlink()  # a lost ca.crt is rewritten from the key file
    third, _ = ensure_ca(d)
    assert third.cert == first.cert and (d / "ca.crt").exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: d.write_text("not a dir"), "is not a directory"),
        (lambda d: (d.mkdir(), (d / "mitmproxy-ca.pem").write_text("garbage")), "is not a PEM private key"),
        (lambda d: (d.mkdir(), (d / "ca.crt").write_text("x")), "has no key"),
    ],
    ids=["file", "corrupt-key", "cert-without-key"],
)
def test_bad_ca_dirs_are_one_clear_error(tmp_path, setup, message):
    d = tmp_path / "ca"
    setup(d)
    with pytest.raises(CAError, match=message) as e:
        ensure_ca(d)
    assert "\n" not in str(e.value)


def test_mismatched_key_and_cert(tmp_path):
    a, b = generate_ca(tmp_path / "a"), generate_ca(tmp_path / "b")
    key_a = (tmp_path / "a" / "mitmproxy-ca.pem").read_text().split("-----END RSA PRIVATE KEY-----")[0]
    cert_b = (tmp_path / "b" / "ca.crt").read_text()
    (tmp_path / "a" / "mitmproxy-ca.pem").write_text(key_a + "-----END RSA PRIVATE KEY-----\n" + cert_b)
    with pytest.raises(CAError, match="does not belong"):
        load_ca(tmp_path / "a")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_dir(tmp_path):
    d = tmp_path / "ca"
    generate_ca(d)
    d.chmod(0)
    try:
        with pytest.raises(CAError, match="cannot read"):
            ensure_ca(d)
    finally:
        d.chmod(0o700)


def test_gen_ca_script(tmp_path):
    d = tmp_path / "ca"
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "gen_ca.py"), "--ca-dir", str(d), *a],
                                    capture_output=True, text=True, cwd=tmp_path)
    r = run()
    assert r.returncode == 0, r.stderr
    crt = str(d / "ca.crt")
    for needle in (f"certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n llmspy -i {crt}",
                   f"/usr/local/share/ca-certificates/llmspy.crt && sudo update-ca-certificates",
                   f"NODE_EXTRA_CA_CERTS={crt}", f"SSL_CERT_FILE={crt}", f"REQUESTS_CA_BUNDLE={crt}", "Firefox"):
        assert needle in r.stdout
    r2 = run()
    assert r2.returncode == 1 and r2.stderr.count("\n") == 1 and "--force" in r2.stderr and "Traceback" not in r2.stderr
    assert run("--force").returncode == 0


def test_default_ca_dir_is_checkout_certs():
    assert ca_mod.default_ca_dir() == ROOT / "certs"


def test_certs_dir_commits_nothing_but_readme():
    ignore = (ROOT / "certs" / ".gitignore").read_text()
    assert "*" in ignore.split() and "!README.md" in ignore.split()
    r = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "certs/ca.crt", "certs/mitmproxy-ca.pem", "certs/README.md"],
                       capture_output=True, text=True)
    assert r.stdout.split() == ["certs/ca.crt", "certs/mitmproxy-ca.pem"]
