"""agentops 0.4.21's agentops.semconv.resource (the same names and values)."""

from __future__ import annotations


class ResourceAttributes:
    """Resource attributes for AgentOps."""

    PROJECT_ID = "agentops.project.id"
    SERVICE_NAME = "service.name"
    SERVICE_VERSION = "service.version"
    ENVIRONMENT = "agentops.environment"
    DEPLOYMENT_ENVIRONMENT = "deployment.environment"
    SDK_NAME = "agentops.sdk.name"
    SDK_VERSION = "agentops.sdk.version"
    HOST_MACHINE = "host.machine"
    HOST_NAME = "host.name"
    HOST_NODE = "host.node"
    HOST_OS_RELEASE = "host.os_release"
    HOST_PROCESSOR = "host.processor"
    HOST_SYSTEM = "host.system"
    HOST_VERSION = "host.version"
    CPU_COUNT = "cpu.count"
    CPU_PERCENT = "cpu.percent"
    MEMORY_TOTAL = "memory.total"
    MEMORY_AVAILABLE = "memory.available"
    MEMORY_USED = "memory.used"
    MEMORY_PERCENT = "memory.percent"
    IMPORTED_LIBRARIES = "imported_libraries"
