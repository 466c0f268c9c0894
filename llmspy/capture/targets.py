# Which files to put uprobes on.
#
# A uprobe is placed on a file (an inode) at a symbol's offset, and then fires in every
# process that maps that file, whatever path the process used. So the job is: find every
# distinct file that contains OpenSSL's SSL_write/SSL_read, once per (st_dev, st_ino):
#   1. the system libssl.so.3 / libssl.so.1.1 from the dynamic loader's cache (`ldconfig -p`);
#   2. every libssl mapped by a running process (/proc/PID/maps), opened through
#      /proc/PID/root so a library inside a container's mount namespace is found too;
#   3. programs that embed OpenSSL and export its API themselves (node: `nm -D /usr/bin/node`
#      lists SSL_write), among running processes' executables and well-known names on PATH;
#   4. paths the user names with --libssl / --binary.
# Exported symbols are read from the ELF dynamic symbol table with pyelftools (through the
# GNU hash table when there is one: a node binary has tens of thousands of symbols), and
# cached by (st_dev, st_ino, st_mtime_ns).
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "DATA_SYMBOLS",
    "TRACED_SYMBOLS",
    "Target",
    "TargetError",
    "embedding_programs",
    "find_targets",
    "loader_cache_libssl",
    "mapped_libssl",
    "parse_ldconfig",
    "ssl_symbols",
    "target_for_path",
]

# The functions whose calls carry plaintext; a target needs at least one of them.
DATA_SYMBOLS = ("SSL_write", "SSL_write_ex", "SSL_read", "SSL_read_ex")
# Also probed when present: SSL_ctrl (SNI host name), SSL_free (end of a connection).
TRACED_SYMBOLS = DATA_SYMBOLS + ("SSL_ctrl", "SSL_free")

# OpenSSL's shared library sonames (1.1.x and 3.x). NSS's "libssl3.so" is not OpenSSL.
LIBSSL_SONAMES = ("libssl.so.3", "libssl.so.1.1")
_LIBSSL_FILE = re.compile(r"libssl\.so(\.[0-9]+)*$")
# Programs known to embed OpenSSL and export its API (Node.js; Debian names it nodejs too).
EMBEDDING_NAMES = ("node", "nodejs")


class TargetError(ValueError):
    """A path given with --libssl/--binary that cannot be traced; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """One file to attach uprobes to.

    ``path``: what to open (may be /proc/PID/root/... for a container's file);
    ``kind``: "libssl" (a shared OpenSSL) or "binary" (a program embedding OpenSSL);
    ``symbols``: the TRACED_SYMBOLS it defines; ``reason``: how it was found, for humans.
    """

    path: str
    kind: str
    symbols: tuple[str, ...]
    reason: str


_symbol_cache: dict[tuple[int, int, int], tuple[str, ...]] = {}


def _defined(sym) -> bool:
    return sym is not None and sym["st_shndx"] != "SHN_UNDEF" and sym["st_info"]["type"] in (
        "STT_FUNC",
        "STT_GNU_IFUNC",
    )


def _elf_symbols(path: str, include_symtab: bool) -> tuple[str, ...]:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.hash import ELFHashSection, GNUHashSection

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            found: set[str] = set()
            hashed = [s for s in elf.iter_sections() if isinstance(s, (GNUHashSection, ELFHashSection))]
            if hashed:
                for name in TRACED_SYMBOLS:
                    if _defined(hashed[0].get_symbol(name)):
                        found.add(name)
            tables = [] if hashed else [elf.get_section_by_name(".dynsym")]
            if include_symtab:
                tables.append(elf.get_section_by_name(".symtab"))
            for table in tables:
                if table is None or not hasattr(table, "iter_symbols"):
                    continue
                for sym in table.iter_symbols():
                    if sym.name in TRACED_SYMBOLS and _defined(sym):
                        found.add(sym.name)
            return tuple(n for n in TRACED_SYMBOLS if n in found)
    except (ELFError, ValueError, AssertionError, KeyError) as e:
        raise TargetError(f"{path}: not a readable ELF file ({e})") from None


def ssl_symbols(path: str, *, include_symtab: bool = False) -> tuple[str, ...]:
    """The TRACED_SYMBOLS that ``path`` defines, in TRACED_SYMBOLS order.

    Reads the dynamic symbols (and .symtab when ``include_symtab``: BCC can attach to
    non-exported functions of an unstripped binary). Raises OSError for unreadable files and
    TargetError for files that are not ELF."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_mtime_ns, include_symtab)
    if key not in _symbol_cache:
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                raise TargetError(f"{path}: not an ELF file")
        _symbol_cache[key] = _elf_symbols(path, include_symtab)
    return _symbol_cache[key]


def parse_ldconfig(text: str) -> list[str]:
    """Paths of OpenSSL's libssl in `ldconfig -p` output, 64-bit x86/arm entries first.

    Lines look like ``\\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3``."""
    paths = []
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*)$", line)
        if m and m.group(1) in LIBSSL_SONAMES:
            paths.append((0 if "64" in m.group(2) else 1, m.group(3).strip()))
    return [p for _, p in sorted(paths, key=lambda t: t[0])]


def loader_cache_libssl() -> list[str]:
    """libssl paths from the dynamic loader's cache (`ldconfig -p`); [] when unavailable."""
    exe = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(p)), None
    )
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_ldconfig(out)


def _pids(proc: str) -> Iterator[int]:
    try:
        names = os.listdir(proc)
    except OSError:
        return
    yield from sorted(int(name) for name in names if name.isdigit())


def _comm(proc: str, pid: int) -> str:
    try:
        with open(f"{proc}/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def mapped_libssl(proc: str = "/proc") -> Iterator[tuple[int, str]]:
    """(pid, path as that process sees it) for every libssl file mapped by a running process.

    Files replaced since they were mapped ("(deleted)") are skipped: a uprobe needs a path."""
    for pid in _pids(proc):
        try:
            with open(f"{proc}/{pid}/maps") as f:
                lines = f.read().splitlines()
        except OSError:
            continue  # the process exited, or is not ours to read
        seen = set()
        for line in lines:
            parts = line.split(None, 5)
            if len(parts) < 6 or parts[5].endswith("(deleted)"):
                continue
            path = parts[5]
            if path in seen or not _LIBSSL_FILE.search(os.path.basename(path)):
                continue
            seen.add(path)
            yield pid, path


def embedding_programs(
    proc: str = "/proc", names: Iterable[str] = EMBEDDING_NAMES, *, processes: bool = True, path: bool = True
) -> Iterator[tuple[int | None, str, str]]:
    """(pid or None, path, reason) for candidate OpenSSL-embedding programs: executables of
    running processes named like ``names`` (path as that process sees it), and ``names`` on
    PATH (pid None)."""
    wanted = set(names)
    for pid in _pids(proc) if processes else ():
        comm = _comm(proc, pid)
        try:
            exe = os.readlink(f"{proc}/{pid}/exe")
        except OSError:
            continue
        if comm in wanted or os.path.basename(exe) in wanted:
            yield pid, exe, f"executable of running pid {pid} ({comm})"
    for name in names if path else ():
        found = shutil.which(name)
        if found:
            yield None, os.path.realpath(found), f"{name} on PATH"


def _visible_path(proc: str, pid: int | None, path: str) -> str:
    """``path`` as pid sees it, opened from here: the plain path when it is the same file
    (same mount namespace), else through /proc/PID/root (a container's file)."""
    if pid is None:
        return path
    rooted = f"{proc}/{pid}/root{path}"
    try:
        return path if os.path.samefile(rooted, path) else rooted
    except OSError:
        return rooted


def target_for_path(path: str, kind: str, reason: str) -> Target:
    """A Target for a user-named file; raises TargetError saying what is wrong with it."""
    flag = "--libssl" if kind == "libssl" else "--binary"
    if not os.path.exists(path):
        raise TargetError(f"{flag} {path}: no such file")
    if not os.path.isfile(path):
        raise TargetError(f"{flag} {path}: not a regular file")
    try:
        symbols = ssl_symbols(path, include_symtab=True)
    except OSError as e:
        raise TargetError(f"{flag} {path}: cannot read it ({e.strerror})") from None
    except TargetError as e:
        raise TargetError(f"{flag} {e}") from None
    if not any(s in symbols for s in DATA_SYMBOLS):
        raise TargetError(
            f"{flag} {path}: defines none of {', '.join(DATA_SYMBOLS)}; it does not contain "
            "OpenSSL, or its symbols are stripped (BoringSSL, rustls, Go's crypto/tls and NSS "
            "cannot be traced; use the proxy front end for them)"
        )
    return Target(os.path.abspath(path), kind, symbols, reason)


def find_targets(
    libssl: Iterable[str] = (),
    binaries: Iterable[str] = (),
    *,
    system: bool = True,
    processes: bool = True,
    path_programs: bool = True,
    proc: str = "/proc",
) -> list[Target]:
    """Every distinct file to trace, deduplicated by (st_dev, st_ino), in the order found:
    ``libssl``/``binaries`` (user paths; TargetError when unusable), the loader cache's libssl
    (``system``), libssl mapped by processes (``processes``), and OpenSSL-embedding programs
    among running processes and on PATH (``processes``/``path_programs``)."""
    targets: list[Target] = []
    seen: set[tuple[int, int]] = set()

    def add(target: Target) -> None:
        try:
            st = os.stat(target.path)
        except OSError:
            return
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            targets.append(target)

    def probe(path: str, kind: str, reason: str) -> None:
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                return
            symbols = ssl_symbols(path)
        except (OSError, TargetError):
            return
        if any(s in symbols for s in DATA_SYMBOLS):
            add(Target(path, kind, symbols, reason))

    for path in libssl:
        add(target_for_path(path, "libssl", "--libssl"))
    for path in binaries:
        add(target_for_path(path, "binary", "--binary"))
    if system:
        for path in loader_cache_libssl():
            probe(path, "libssl", "loader cache (ldconfig -p)")
    if processes:
        for pid, path in mapped_libssl(proc):
            reason = f"mapped by pid {pid} ({_comm(proc, pid)})"
            probe(_visible_path(proc, pid, path), "libssl", reason)
    for pid, path, reason in embedding_programs(proc, processes=processes, path=path_programs):
        probe(_visible_path(proc, pid, path), "binary", reason)
    return targets
