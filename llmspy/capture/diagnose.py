# Environment checks for eBPF capture: `llmspy doctor` prints them all, and start-up uses them
# to turn an opaque failure (a BCC compile error, EPERM from bpf()) into one line that says
# what is wrong and the exact command that fixes it.
#
# What eBPF capture with BCC needs, in the order things fail:
#   privileges   CAP_BPF + CAP_PERFMON (kernel >= 5.8) or CAP_SYS_ADMIN: load BPF, open uprobes
#   bcc          BCC's Python module from the distribution (python3-bpfcc), visible to this
#                interpreter; the PyPI package named "bcc" is an unrelated library
#   kernel       >= 5.8 for the BPF ring buffer
#   headers      BCC compiles C at run time against /lib/modules/$(uname -r)/build (or the
#                kernel's own /sys/kernel/kheaders.tar.xz). Custom kernels (WSL2, cloud VMs) ship
#                none: the nearest distribution headers, linked there, work for llmspy's program
#                because it reads no kernel structure
#   uprobe PMU   /sys/bus/event_source/devices/uprobe (else tracefs uprobe_events)
#   libssl       something to attach to
#   BTF          informational: BCC does not need it
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass

__all__ = [
    "CaptureUnavailable",
    "Check",
    "check_bcc",
    "check_btf",
    "check_kernel_headers",
    "check_kernel_version",
    "check_libssl",
    "check_privileges",
    "check_uprobe_pmu",
    "first_problem",
    "import_bcc",
    "run_checks",
]

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
MIN_KERNEL = (5, 8)  # BPF_MAP_TYPE_RINGBUF
SYSTEM_BCC = "/usr/lib/python3/dist-packages/bcc"  # where Debian/Ubuntu's python3-bpfcc puts it


class CaptureUnavailable(RuntimeError):
    """eBPF capture cannot start. ``str(e)`` is one line for humans; ``fix`` the command(s)
    that would help, or None."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Check:
    """One environment check. ``detail``: one line on what was found; ``fix``: exact
    command(s) when not ok; ``required``: False for informational checks."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True


def _effective_caps(status_path: str) -> int | None:
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_privileges(status_path: str = "/proc/self/status") -> Check:
    caps = _effective_caps(status_path)
    if caps is None:
        ok = os.geteuid() == 0
        detail = "running as root" if ok else f"running as uid {os.geteuid()}"
    else:
        has = {n: bool(caps >> bit & 1) for n, bit in
               (("CAP_SYS_ADMIN", CAP_SYS_ADMIN), ("CAP_BPF", CAP_BPF), ("CAP_PERFMON", CAP_PERFMON))}
        ok = has["CAP_SYS_ADMIN"] or (has["CAP_BPF"] and has["CAP_PERFMON"])
        held = [n for n, v in has.items() if v]
        detail = f"uid {os.geteuid()}, capabilities: {', '.join(held) or 'none of CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN'}"
    fix = None if ok else (
        "run llmspy as root (sudo -E llmspy ...), or grant the capabilities: "
        "sudo setcap cap_bpf,cap_perfmon,cap_sys_resource+ep <python interpreter>"
    )
    return Check("privileges", ok, detail, fix)


def import_bcc():
    """Import BCC's Python module; raises CaptureUnavailable with the fix when it is missing,
    broken (no libbcc.so.0) or the unrelated PyPI package of the same name."""
    check = check_bcc()
    if not check.ok:
        raise CaptureUnavailable(check.detail, check.fix)
    import bcc

    return bcc


def _site_packages() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def check_bcc() -> Check:
    link = f"ln -s {SYSTEM_BCC} {_site_packages()}/bcc"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # BCC's own source has invalid escape sequences
            import bcc
    except ImportError:
        if os.path.isdir(SYSTEM_BCC):
            return Check("bcc", False, f"BCC is installed ({SYSTEM_BCC}) but not visible to {sys.executable}",
                         f"{link}   (or create the venv with --system-site-packages)")
        return Check("bcc", False, "BCC's Python module is not installed",
                     f"apt-get install -y python3-bpfcc && {link}   (BCC is not on PyPI: never "
                     "`pip install bcc`, an unrelated package)")
    except Exception as e:  # bcc/libbcc.py raises OSError & co. when libbcc.so.0 will not load
        return Check("bcc", False, f"BCC's Python module failed to load: {str(e).splitlines()[0]}",
                     "apt-get install -y --reinstall libbpfcc python3-bpfcc")
    if not hasattr(bcc, "BPF"):
        return Check("bcc", False, f"the 'bcc' module at {getattr(bcc, '__file__', '?')} is the unrelated "
                     "PyPI package, not BCC", f"pip uninstall -y bcc && apt-get install -y python3-bpfcc && {link}")
    return Check("bcc", True, f"BCC importable from {os.path.dirname(bcc.__file__)}")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text))


def check_kernel_version(release: str | None = None) -> Check:
    release = release or platform.release()
    ok = _version(release)[:2] >= MIN_KERNEL
    detail = f"kernel {release}" + ("" if ok else f": the BPF ring buffer needs >= {MIN_KERNEL[0]}.{MIN_KERNEL[1]}")
    return Check("kernel", ok, detail, None if ok else "use a kernel >= 5.8 (or the proxy front end: llmspy proxy)")


def _apt_has(package: str) -> bool | None:
    """True/False when apt knows whether ``package`` has an install candidate; None: no apt."""
    try:
        out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, timeout=15).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Candidate:\s*(\S+)", out)
    return bool(m and m.group(1) != "(none)")


def _debian_arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _nearest_headers(release: str, src_dir: str) -> tuple[str, str | None] | None:
    """(build dir, source dir or None) of the installed Debian-style headers closest to
    ``release``: /usr/src/linux-headers-<ver>-<flavour> with its -common sibling."""
    try:
        names = os.listdir(src_dir)
    except OSError:
        return None
    release_flavour = re.search(r"-([a-z][a-z0-9]*)$", release)
    flavours = {_debian_arch(), release_flavour.group(1) if release_flavour else None}
    want = _version(release)[:2]
    candidates = []
    for name in names:
        m = re.fullmatch(r"linux-headers-(\d+\.\d+[\w.\-]*?)-([a-z][a-z0-9\-]*)", name)
        if not m or m.group(2) == "common" or not os.path.isdir(os.path.join(src_dir, name, "include")):
            continue
        ver = _version(m.group(1))
        same_flavour = m.group(2).split("-")[-1] in flavours
        # Prefer the machine's flavour (amd64), then the newest not newer than the running kernel.
        candidates.append((same_flavour, ver[:2] <= want, ver, name, m.group(1)))
    if not candidates:
        return None
    *_, name, ver = max(candidates)
    common = os.path.join(src_dir, f"linux-headers-{ver}-common")
    return os.path.join(src_dir, name), common if os.path.isdir(common) else None


def check_kernel_headers(
    release: str | None = None,
    modules_dir: str = "/lib/modules",
    src_dir: str = "/usr/src",
    kheaders: str = "/sys/kernel/kheaders.tar.xz",
    apt_has=_apt_has,
) -> Check:
    release = release or platform.release()
    build = os.path.join(modules_dir, release, "build")
    if os.path.isdir(os.path.join(build, "include")):
        return Check("kernel headers", True, f"{build} -> {os.path.realpath(build)}")
    if os.path.exists(kheaders):
        return Check("kernel headers", True, f"the kernel provides its headers ({kheaders})")
    detail = f"no kernel headers for {release}: {build} is " + ("a broken link" if os.path.islink(build) else "missing")
    package = f"linux-headers-{release}"
    if apt_has(package):
        return Check("kernel headers", False, detail, f"apt-get install -y {package}")
    nearest = _nearest_headers(release, src_dir)
    links = "ln -sfn {build} {modules}/build" + " && ln -sfn {source} {modules}/source"
    modules = os.path.join(modules_dir, release)
    if nearest:
        b, s = nearest
        fix = f"mkdir -p {modules} && ln -sfn {b} {modules}/build"
        if s:
            fix += f" && ln -sfn {s} {modules}/source"
        return Check("kernel headers", False, detail + f" (no package {package}; nearest installed: {b})", fix)
    arch = _debian_arch()
    fix = (f"apt-get install -y linux-headers-{arch}, then with <ver> the version it installed "
           f"(ls /usr/src): mkdir -p {modules} && "
           + links.format(build=f"/usr/src/linux-headers-<ver>-{arch}", source="/usr/src/linux-headers-<ver>-common",
                          modules=modules))
    return Check("kernel headers", False, detail + f" (no package {package})", fix)


def check_btf(path: str = "/sys/kernel/btf/vmlinux") -> Check:
    ok = os.path.exists(path)
    return Check("btf", ok, f"{path} " + ("present" if ok else "missing (BCC does not need it)"),
                 None if ok else "optional: a kernel built with CONFIG_DEBUG_INFO_BTF=y", required=False)


def check_uprobe_pmu(
    pmu: str = "/sys/bus/event_source/devices/uprobe/type",
    tracefs: tuple[str, ...] = ("/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"),
) -> Check:
    if os.path.exists(pmu):
        return Check("uprobes", True, "uprobe PMU present (no tracefs needed)")
    for path in tracefs:
        if os.path.exists(path):
            return Check("uprobes", True, f"uprobes through tracefs ({path})")
    return Check("uprobes", False, "no uprobe PMU and no tracefs uprobe_events",
                 "mount -t tracefs nodev /sys/kernel/tracing   (needs a kernel with CONFIG_UPROBE_EVENTS=y)")


def check_libssl() -> Check:
    from .targets import find_targets

    targets = find_targets()
    if not targets:
        return Check("libssl", False, "no OpenSSL library or OpenSSL-embedding program found",
                     "apt-get install -y libssl3, or name one: llmspy --libssl PATH / --binary PATH")
    shown = ", ".join(t.path for t in targets[:4]) + (f" and {len(targets) - 4} more" if len(targets) > 4 else "")
    return Check("libssl", True, f"{len(targets)} target(s): {shown}")


def run_checks() -> list[Check]:
    """Every check, in the order failures happen at start-up."""
    checks = [check_privileges(), check_bcc(), check_kernel_version(), check_kernel_headers(), check_uprobe_pmu()]
    try:
        checks.append(check_libssl())
    except Exception as e:  # a check must never crash `llmspy doctor`
        checks.append(Check("libssl", False, f"target search failed: {e}"))
    checks.append(check_btf())
    return checks


def first_problem(checks: list[Check]) -> Check | None:
    """The first failed required check, or None."""
    return next((c for c in checks if c.required and not c.ok), None)
