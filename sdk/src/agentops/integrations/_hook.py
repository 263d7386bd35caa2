"""A post-import hook: run a callback right after a watched module finishes importing.

So `agentops.init()` instruments openai/anthropic/litellm whether they were imported before
it (patched at once) or after it (patched by this hook, before the importer sees the module).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from agentops._errors import capture_internal_errors

Callback = Callable[[ModuleType], None]


class _Loader(importlib.abc.Loader):
    """Delegates to the real loader, then calls the callback with the executed module."""

    def __init__(self, inner: importlib.abc.Loader, callback: Callback) -> None:
        self._inner = inner
        self._callback = callback

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # Put the real loader back first: nothing after the import sees this wrapper.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._inner.exec_module(module)
        with capture_internal_errors("integrations.import_hook"):
            self._callback(module)

    def __getattr__(self, name: str) -> Any:  # e.g. get_resource_reader, is_package
        return getattr(self._inner, name)


class PostImportFinder(importlib.abc.MetaPathFinder):
    """Watches top-level module names; installed first in sys.meta_path while any is pending."""

    def __init__(self) -> None:
        self._callbacks: dict[str, Callback] = {}
        self._busy = threading.local()

    def watch(self, name: str, callback: Callback) -> None:
        self._callbacks[name] = callback

    def unwatch(self, name: str) -> None:
        self._callbacks.pop(name, None)

    @property
    def empty(self) -> bool:
        return not self._callbacks

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        callback = self._callbacks.get(fullname)
        if callback is None or getattr(self._busy, "active", False):
            return None
        self._busy.active = True
        try:  # ask the other finders for the real spec
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        self.unwatch(fullname)
        spec.loader = _Loader(spec.loader, callback)
        return spec


_finder: PostImportFinder | None = None
_lock = threading.Lock()


def when_imported(name: str, callback: Callback) -> None:
    """Call `callback(module)` now if `name` is imported, else right after it is."""
    global _finder
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    with _lock:
        if _finder is None:
            _finder = PostImportFinder()
        _finder.watch(name, callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def forget(name: str) -> None:
    """Stop waiting for `name`; the finder leaves sys.meta_path when nothing is pending."""
    global _finder
    with _lock:
        if _finder is None:
            return
        _finder.unwatch(name)
        if _finder.empty:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None
