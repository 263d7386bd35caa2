"""Seeding a server through the real SDK, in a subprocess (the SDK keeps process-wide state)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.server import ServerProcess

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime, timedelta
    import agentops
    from agentops import ActionEvent, ErrorEvent, LLMEvent, ToolEvent

    spec = json.loads(sys.argv[1])
    ids = []
    clock = datetime.now(UTC)

    def span(seconds):
        # a start and end `seconds` apart on a clock that moves forward as events happen
        global clock
        start = clock
        clock = clock + timedelta(seconds=seconds)
        return {"init_timestamp": start.isoformat(), "end_timestamp": clock.isoformat()}

    agentops.init(api_key=spec["api_key"], endpoint=spec["endpoint"], auto_start_session=False,
                  instrument_llm_calls=False)
    for item in spec["sessions"]:
        session = agentops.start_session(tags=item["tags"])
        clock = datetime.now(UTC)
        for i, prompt in enumerate(item["prompts"]):
            session.record(LLMEvent(
                prompt=[{"role": "system", "content": "You are terse."},
                        {"role": "user", "content": prompt}],
                completion={"role": "assistant", "content": f"answer {i}"},
                model="gpt-4o-mini", prompt_tokens=1200, completion_tokens=300, **span(2.5)))
            session.record(ToolEvent(name="web-search", params={"q": prompt[:20]},
                                     returns=["r1", "r2"], **span(1.2)))
        session.record(ActionEvent(action_type="plan", params={"step": 1}, returns="ok",
                                   **span(0.8)))
        if item.get("error"):
            session.record(ErrorEvent(error_type="ValueError", details="bad input",
                                      logs="Traceback (most recent call last):\\n  ValueError",
                                      **span(0.1)))
        session.end_session(item["end_state"], end_state_reason=item.get("reason"))
        ids.append(str(session.session_id))
    agentops.flush()
    print(json.dumps(ids))
    """
)


def seed_sessions(server: ServerProcess, sessions: list[dict[str, object]]) -> list[str]:
    """Record `sessions` ({tags, prompts, end_state, reason?, error?}) with the real SDK and
    return their ids."""
    spec = {"api_key": server.api_key, "endpoint": server.url, "sessions": sessions}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AGENTOPS_LOG_LEVEL": "WARNING"},
    )
    if done.returncode != 0:
        raise AssertionError(f"seeding failed:\n{done.stdout}\n{done.stderr}")
    ids: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids
