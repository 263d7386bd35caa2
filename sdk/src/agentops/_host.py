"""Host environment (reference §6: same sections and keys as 0.3.26), collected once per
process on a background thread, each probe with a timeout. No psutil: /proc, os, shutil,
platform and importlib.metadata.

The package lists (the SDK section's "System Packages", "Installed Packages") read every
installed distribution's metadata, a second or more in a large environment; the rest takes
milliseconds. So the thread collects it without them first (quick()), then in full (get()):
nothing waits for the full scan, sessions get what is there and the rest follows.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from agentops._threads import start_daemon_thread

PROBE_TIMEOUT = 2.0
HostEnv = dict[str, Any]


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def _percent(part: float, whole: float) -> str:
    return f"{(100.0 * part / whole) if whole else 0.0:.1f}%"


def sdk_section() -> dict[str, Any]:
    return {**sdk_versions(), "System Packages": _imported_packages()}


def _system_packages() -> dict[str, Any]:
    return {"System Packages": _imported_packages()}


def sdk_versions() -> dict[str, Any]:
    """The SDK section without its package list."""
    from agentops import __version__

    return {"AgentOps SDK Version": __version__, "Python Version": platform.python_version()}


def _imported_packages() -> dict[str, str]:
    import importlib.metadata as metadata

    by_module = metadata.packages_distributions()
    found: dict[str, str] = {}
    for name in list(sys.modules):
        if "." in name or name.startswith("_"):
            continue
        for dist in by_module.get(name, ())[:1]:
            try:
                found[name] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
    return dict(sorted(found.items()))


def os_section() -> dict[str, Any]:
    return {
        "Hostname": socket.gethostname(),
        "OS": platform.system(),
        "OS Version": platform.version(),
        "OS Release": platform.release(),
    }


def cpu_section() -> dict[str, Any]:
    total = os.cpu_count() or 1
    physical: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            ids: dict[str, str] = {}
            for line in f:
                key, _, value = line.partition(":")
                ids[key.strip()] = value.strip()
                if not line.strip():
                    if "core id" in ids:
                        physical.add((ids.get("physical id", "0"), ids["core id"]))
                    ids = {}
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {
        "Physical cores": len(physical) or total,
        "Total cores": total,
        "CPU Usage": f"{min(100.0, 100.0 * load / total):.1f}%",
    }


def ram_section() -> dict[str, Any]:
    info: dict[str, int] = {}
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.partition(":")
            parts = value.split()
            if parts and parts[0].isdigit():
                info[key] = int(parts[0]) * 1024
    total = info.get("MemTotal", 0)
    available = info.get("MemAvailable", info.get("MemFree", 0))
    used = total - available
    return {
        "Total": _gb(total),
        "Available": _gb(available),
        "Used": _gb(used),
        "Percentage": _percent(used, total),
    }


def disk_section() -> dict[str, Any]:
    disks: dict[str, Any] = {}
    with open("/proc/mounts", encoding="utf-8") as f:
        mounts = [line.split()[:2] for line in f if line.startswith("/dev/")]
    for device, mountpoint in mounts:
        if device in disks:
            continue
        try:
            usage = shutil.disk_usage(mountpoint)
        except OSError:
            continue
        disks[device] = {
            "Mountpoint": mountpoint,
            "Total": _gb(usage.total),
            "Used": _gb(usage.used),
            "Free": _gb(usage.free),
            "Percentage": _percent(usage.used, usage.total),
        }
    return disks


def installed_packages() -> dict[str, Any]:
    import importlib.metadata as metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name] = dist.version
    return {"Installed Packages": dict(sorted(found.items(), key=lambda kv: kv[0].lower()))}


def _run_probe(probe: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """The probe's result, or {} if it failed or took longer than `timeout`."""
    box: list[dict[str, Any]] = []

    def target() -> None:
        try:
            box.append(probe())
        except Exception:
            pass

    thread = start_daemon_thread(target, "agentops-host-probe")
    thread.join(timeout)
    return box[0] if box else {}


def collect(opt_out: bool, timeout: float = PROBE_TIMEOUT, *, packages: bool = True) -> HostEnv:
    """The host_env object; with `opt_out` only SDK, OS, working directory and venv. Without
    `packages`, no package lists (milliseconds instead of seconds)."""
    sdk = _run_probe(sdk_versions, timeout)
    if packages:  # its own probe: the versions are kept when the package scan times out
        sdk.update(_run_probe(_system_packages, timeout))
    env: HostEnv = {"SDK": sdk, "OS": _run_probe(os_section, timeout)}
    if not opt_out:
        env["CPU"] = _run_probe(cpu_section, timeout)
        env["RAM"] = _run_probe(ram_section, timeout)
        env["Disk"] = _run_probe(disk_section, timeout)
        if packages:
            env["Installed Packages"] = _run_probe(installed_packages, timeout)
    env["Project Working Directory"] = {"Project Working Directory": _cwd()}
    env["Virtual Environment"] = {"Virtual Environment": os.environ.get("VIRTUAL_ENV")}
    return env


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


_futures: dict[bool, Future[HostEnv]] = {}
_quick: dict[bool, HostEnv] = {}  # collected without the package lists, before the full scan
_lock = threading.Lock()


def _import_what_probes_need() -> None:
    """Import, on the caller's thread, the modules the probes would import on theirs: a fork
    while a probe imports leaves that module's import lock held by a thread the child does not
    have, and the child's own import of the module (its probe, or the program's) would wait
    for it forever."""
    import importlib

    # importlib.metadata imports the email parsers lazily, on first use
    for name in ("importlib.metadata", "email.parser", "email.feedparser"):
        importlib.import_module(name)


def start(opt_out: bool) -> Future[HostEnv]:
    """Begin collecting in the background (once per process and opt-out flag)."""
    with _lock:
        future = _futures.get(opt_out)
        if future is None:
            _import_what_probes_need()
            future = _futures[opt_out] = Future()

            def target() -> None:
                try:
                    _quick[opt_out] = collect(opt_out, packages=False)
                    future.set_result(collect(opt_out))
                except Exception as exc:  # collect() swallows probe errors; this is a guard
                    future.set_exception(exc)

            start_daemon_thread(target, "agentops-host-env")
        return future


def get(opt_out: bool, timeout: float) -> HostEnv | None:
    """The collected host_env, or None if not ready within `timeout` seconds."""
    future = start(opt_out)
    try:
        return future.result(timeout=timeout)
    except Exception:
        return None


def quick(opt_out: bool) -> HostEnv | None:
    """The host_env without its package lists, if collected yet (never waits)."""
    return _quick.get(opt_out)


def _after_fork_in_child() -> None:
    # A collection in flight at fork time has no thread in the child: start again if needed.
    global _lock
    _lock = threading.Lock()
    for key, future in list(_futures.items()):
        if not future.done():
            del _futures[key]
            _quick.pop(key, None)


os.register_at_fork(after_in_child=_after_fork_in_child)
