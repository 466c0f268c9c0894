# eBPF capture front end: targets (what to hook), diagnose (can eBPF run here, and the fix),
# ebpf (BCC loader and ring-buffer reader). BCC itself is imported only when EBPFCapture is
# constructed, so this package imports on machines without it.
from .diagnose import CaptureUnavailable, Check, first_problem, run_checks
from .ebpf import EBPFCapture, Reassembler, probe_source
from .targets import Target, TargetError, find_targets

__all__ = [
    "CaptureUnavailable",
    "Check",
    "EBPFCapture",
    "Reassembler",
    "Target",
    "TargetError",
    "find_targets",
    "first_problem",
    "probe_source",
    "run_checks",
]
