"""The REAL agentops==0.3.26 recording events without pause, for the restart tests.

stream026.py ENDPOINT API_KEY INTERVAL   prints the session id, records one ActionEvent every
                                         INTERVAL seconds until a line arrives on stdin, then
                                         ends the session and prints how many it recorded
"""

import json
import sys
import threading
import time

import agentops
from agentops import ActionEvent


def main(endpoint: str, api_key: str, interval: float) -> None:
    session = agentops.init(api_key=api_key, endpoint=endpoint, default_tags=["restart"])
    assert session is not None, "agentops.init did not start a session"
    print(json.dumps({"session_id": str(session.session_id)}), flush=True)
    stop = threading.Event()

    def wait_for_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    recorded = 0
    while not stop.is_set():
        session.record(ActionEvent(action_type="step", params={"n": recorded}))
        recorded += 1
        time.sleep(interval)
    cost = session.end_session("Success")
    print(json.dumps({"recorded": recorded, "cost": None if cost is None else str(cost)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
