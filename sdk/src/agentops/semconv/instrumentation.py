"""agentops 0.4.21's agentops.semconv.instrumentation (the same names and values)."""

from __future__ import annotations


class InstrumentationAttributes:
    """Instrumentation specific attributes."""

    NAME = "instrumentation.name"
    VERSION = "instrumentation.version"
    LIBRARY_NAME = "library.name"
    LIBRARY_VERSION = "library.version"
    INSTRUMENTATION_TYPE = "instrumentation.type"
