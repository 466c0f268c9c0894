# Tests for llmspy/capture/diagnose.py: each check against fake files (a /proc/self/status,
# /lib/modules and /usr/src trees, sysfs paths), then all checks on this machine, and the
# one-line CaptureUnavailable that EBPFCapture raises for a program that does not compile.
from __future__ import annotations

import sys
import types

import pytest

from llmspy.capture import diagnose
from llmspy.capture.diagnose import (
    CaptureUnavailable,
    Check,
    check_bcc,
    check_btf,
    check_kernel_headers,
    check_kernel_version,
    check_privileges,
    check_uprobe_pmu,
    first_problem,
    run_checks,
)


def status_file(tmp_path, cap_eff: int):
    path = tmp_path / "status"
    path.write_text(f"Name:\tpython3\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff:016x}\n")
    return str(path)


@pytest.mark.parametrize(
    ("caps", "ok"),
    [
        ((1 << 38) | (1 << 39), True),  # CAP_PERFMON + CAP_BPF
        (1 << 21, True),  # CAP_SYS_ADMIN
        (1 << 39, False),  # CAP_BPF alone cannot open uprobes
        (0, False),
    ],
)
def test_privileges_from_capabilities(tmp_path, caps, ok):
    check = check_privileges(status_file(tmp_path, caps))
    assert check.ok is ok
    assert (check.fix is None) is ok
    if not ok:
        assert "sudo" in check.fix and "cap_bpf,cap_perfmon" in check.fix


def make_headers(root, name, include=True):
    d = root / name
    (d / "include" if include else d).mkdir(parents=True)
    return d


def test_headers_present(tmp_path):
    build = make_headers(tmp_path / "src", "linux-headers-6.1.0-57-amd64")
    (tmp_path / "modules" / "6.1.0-57-amd64").mkdir(parents=True)
    (tmp_path / "modules" / "6.1.0-57-amd64" / "build").symlink_to(build)
    check = check_kernel_headers("6.1.0-57-amd64", str(tmp_path / "modules"), str(tmp_path / "src"),
                                 str(tmp_path / "none"), apt_has=lambda p: pytest.fail("apt not needed"))
    assert check.ok and str(build) in check.detail


def test_headers_from_the_kernel_itself(tmp_path):
    kheaders = tmp_path / "kheaders.tar.xz"
    kheaders.write_bytes(b"")
    check = check_kernel_headers("6.18.44-fc-v669", str(tmp_path / "modules"), str(tmp_path / "src"), str(kheaders))
    assert check.ok and "kheaders" in check.detail


def test_headers_missing_with_a_matching_package(tmp_path):
    asked = []
    check = check_kernel_headers("6.1.0-57-amd64", str(tmp_path / "modules"), str(tmp_path / "src"),
                                 str(tmp_path / "none"), apt_has=lambda p: asked.append(p) or True)
    assert not check.ok and asked == ["linux-headers-6.1.0-57-amd64"]
    assert check.fix == "apt-get install -y linux-headers-6.1.0-57-amd64"


def test_headers_missing_custom_kernel_links_nearest_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(diagnose.platform, "machine", lambda: "x86_64")
    src = tmp_path / "src"
    make_headers(src, "linux-headers-5.10.0-30-amd64")
    make_headers(src, "linux-headers-6.1.0-57-amd64")
    make_headers(src, "linux-headers-6.1.0-57-common")
    make_headers(src, "linux-headers-6.1.0-57-arm64")
    make_headers(src, "linux-kbuild-6.1", include=False)
    modules = tmp_path / "modules"
    (modules / "6.18.44-fc-v669").mkdir(parents=True)
    (modules / "6.18.44-fc-v669" / "build").symlink_to(tmp_path / "gone")
    check = check_kernel_headers("6.18.44-fc-v669", str(modules), str(src), str(tmp_path / "none"),
                                 apt_has=lambda p: False)
    assert not check.ok and "broken link" in check.detail
    m = f"{modules}/6.18.44-fc-v669"
    assert check.fix == (f"mkdir -p {m} && ln -sfn {src}/linux-headers-6.1.0-57-amd64 {m}/build"
                         f" && ln -sfn {src}/linux-headers-6.1.0-57-common {m}/source")


def test_headers_missing_nothing_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(diagnose.platform, "machine", lambda: "x86_64")
    check = check_kernel_headers("6.18.44-fc-v669", str(tmp_path / "modules"), str(tmp_path / "src"),
                                 str(tmp_path / "none"), apt_has=lambda p: None)
    assert not check.ok
    assert check.fix.startswith("apt-get install -y linux-headers-amd64")
    assert "ln -sfn /usr/src/linux-headers-<ver>-amd64" in check.fix


def test_kernel_version():
    assert check_kernel_version("6.18.44-fc-v669").ok
    assert check_kernel_version("5.8.0").ok
    old = check_kernel_version("5.4.0-150-generic")
    assert not old.ok and "5.8" in old.detail and "proxy" in old.fix


def test_uprobe_pmu_and_tracefs_fallback(tmp_path):
    pmu, events = tmp_path / "type", tmp_path / "uprobe_events"
    assert not check_uprobe_pmu(str(pmu), (str(events),)).ok
    events.write_text("")
    assert "tracefs" in check_uprobe_pmu(str(pmu), (str(events),)).detail
    pmu.write_text("8\n")
    assert check_uprobe_pmu(str(pmu), (str(events),)).detail.startswith("uprobe PMU")


def test_btf_is_informational(tmp_path):
    check = check_btf(str(tmp_path / "vmlinux"))
    assert not check.ok and check.required is False
    assert first_problem([check]) is None


def test_bcc_impostor_from_pypi(monkeypatch):
    monkeypatch.setitem(sys.modules, "bcc", types.ModuleType("bcc"))  # no BPF class
    check = check_bcc()
    assert not check.ok and "unrelated" in check.detail and check.fix.startswith("pip uninstall -y bcc")


def test_bcc_installed_but_not_visible(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "bcc", None)  # makes `import bcc` raise ImportError
    monkeypatch.setattr(diagnose, "SYSTEM_BCC", str(tmp_path))
    check = check_bcc()
    assert not check.ok and "not visible" in check.detail
    assert check.fix.startswith(f"ln -s {tmp_path} ") and "--system-site-packages" in check.fix
    monkeypatch.setattr(diagnose, "SYSTEM_BCC", str(tmp_path / "absent"))
    check = check_bcc()
    assert "apt-get install -y python3-bpfcc" in check.fix and "never" in check.fix


def test_first_problem_order():
    checks = [Check("a", True, ""), Check("b", False, "x", "fix b"), Check("c", False, "y", "fix c")]
    assert first_problem(checks).name == "b"


def test_capture_unavailable_is_one_line_with_fix():
    error = CaptureUnavailable("BPF program failed to compile: x", "llmspy doctor")
    assert str(error) == "BPF program failed to compile: x" and error.fix == "llmspy doctor"


@pytest.mark.ebpf
def test_this_machine_passes_every_required_check(ebpf_available):
    checks = run_checks()
    assert [c.name for c in checks] == ["privileges", "bcc", "kernel", "kernel headers", "uprobes", "libssl", "btf"]
    assert first_problem(checks) is None
    assert all("\n" not in c.detail for c in checks)


@pytest.mark.ebpf
def test_compile_error_becomes_one_line(ebpf_available, monkeypatch):
    from llmspy.capture import ebpf

    broken = ebpf.probe_source().replace("u64 id = bpf_get_current_pid_tgid();", "u64 id = undefined_thing;", 1)
    monkeypatch.setattr(ebpf, "probe_source", lambda: broken)
    target = ebpf.Target("/usr/lib/x86_64-linux-gnu/libssl.so.3", "libssl", ("SSL_write",), "test")
    with pytest.raises(CaptureUnavailable) as info:
        ebpf.EBPFCapture([target])
    assert str(info.value) == "BPF program failed to compile: use of undeclared identifier 'undefined_thing'"
    assert "llmspy doctor" in info.value.fix


@pytest.mark.ebpf
def test_missing_headers_explain_themselves(ebpf_available, monkeypatch):
    from llmspy.capture import ebpf

    monkeypatch.setattr(ebpf, "probe_source", lambda: "#include <no/such/header.h>\n")
    monkeypatch.setattr(ebpf, "check_kernel_headers",
                        lambda: Check("kernel headers", False, "no kernel headers for 9.9.9", "apt-get install -y x"))
    target = ebpf.Target("/usr/lib/x86_64-linux-gnu/libssl.so.3", "libssl", ("SSL_write",), "test")
    with pytest.raises(CaptureUnavailable, match=r"^no kernel headers for 9\.9\.9$") as info:
        ebpf.EBPFCapture([target])
    assert info.value.fix == "apt-get install -y x"


def test_not_root_is_refused_before_bcc(monkeypatch):
    from llmspy.capture import ebpf

    monkeypatch.setattr(ebpf, "check_privileges", lambda: Check("privileges", False, "uid 1000", "sudo"))
    monkeypatch.setattr(ebpf, "import_bcc", lambda: pytest.fail("BCC must not be loaded"))
    with pytest.raises(CaptureUnavailable, match="needs root or CAP_BPF") as info:
        ebpf.EBPFCapture([ebpf.Target("/x", "libssl", ("SSL_write",), "test")])
    assert info.value.fix == "sudo"
