"""Liveness for load balancers and the test harness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agentops_server import __version__

router = APIRouter(tags=["health"])


@router.get("/health", summary="The server is up")
async def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}
