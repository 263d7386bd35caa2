"""Process lifecycle, as a user's script lives it: exit, crash, Ctrl+C, SIGTERM, fork."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from agentops import _threads
from agentops._threads import start_daemon_thread
from agentops.wire import REASON_NO_END
from tests.sdk.conftest import (
    as_from_a_terminal,
    export,
    run_script,
    script_env,
    write_script,
)
from tests.support.server import ServerProcess, free_port

WAITING_AGENT = """
    import sys, time
    {maybe_sdk}
    print("ready", flush=True)
    time.sleep(60)
"""
SDK_LINES = """import agentops
    s = agentops.init()
    agentops.record(agentops.ActionEvent(action_type="before-signal"))
    print(s.session_id, flush=True)"""


def session_id_from(stdout: str) -> str:
    return stdout.split()[0]


def test_exit_without_end_session_ends_indeterminate(server: ServerProcess, tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import agentops
        s = agentops.init()
        for i in range(3):
            agentops.record(agentops.ActionEvent(action_type="work", params={"i": i}))
        print(s.session_id)
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state"] == "Indeterminate"
    assert data["session"]["end_state_reason"] == REASON_NO_END
    assert data["session"]["end_timestamp"] is not None
    assert len(data["actions"]) == 3


def test_an_atexit_handler_registered_before_init_can_still_record_and_end_the_session(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A framework's shutdown hook, registered after `import agentops` but before init(),
    runs before the SDK's exit hook (atexit runs the last registered first), as with
    agentops 0.3: it found no session running when the SDK registered its hook at init()."""
    done = run_script(
        tmp_path,
        """
        import atexit
        import agentops

        def shutdown():
            agentops.record(agentops.ActionEvent(action_type="framework-shutdown"))
            agentops.end_session("Success", end_state_reason="framework stopped")

        atexit.register(shutdown)
        s = agentops.init()
        agentops.record(agentops.ActionEvent(action_type="work"))
        print(s.session_id)
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    assert "no session" not in done.stderr, done.stderr
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["end_state_reason"] == "framework stopped"
    assert sorted(a["action_type"] for a in data["actions"]) == ["framework-shutdown", "work"]


def test_uncaught_exception_fails_every_session_and_chains_the_hook(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = run_script(
        tmp_path,
        """
        import sys
        import agentops
        def my_hook(t, v, tb):
            print("MY HOOK", t.__name__, file=sys.stderr)
        sys.excepthook = my_hook
        a = agentops.init()
        b = agentops.start_session()
        c = agentops.start_session()
        print(a.session_id, b.session_id, c.session_id, flush=True)
        raise RuntimeError("kaboom")
        """,
        env=script_env(server),
    )
    assert done.returncode == 1
    assert "MY HOOK RuntimeError" in done.stderr
    for sid in done.stdout.split():  # all three (0.3.26 skipped every other one)
        session = export(server, sid)["session"]
        assert session["end_state"] == "Fail"
        assert session["end_state_reason"].startswith("kaboom: Traceback")
        assert "RuntimeError: kaboom" in session["end_state_reason"]


HOOK_INSTALLED_AFTER_INIT = """
    import sys
    import agentops
    s = agentops.init()
    agentops.record(agentops.ActionEvent(action_type="work"))
    print(s.session_id, flush=True)
    sys.excepthook = lambda t, v, tb: print("PRETTY", t.__name__, v, file=sys.stderr)
    def fail():
        raise RuntimeError("kaboom")
    fail()
"""


@pytest.mark.parametrize("as_module", [False, True], ids=["script", "python -m"])
def test_a_crash_is_seen_behind_a_hook_installed_after_init_that_calls_no_other(
    server: ServerProcess, tmp_path: Path, as_module: bool
) -> None:
    """rich.traceback.install() after init() replaces sys.excepthook and calls no earlier
    hook: the crash still ends the session as Fail, with its traceback."""
    write_script(tmp_path, HOOK_INSTALLED_AFTER_INIT, "crashing_agent.py")
    command = ["-m", "crashing_agent"] if as_module else [str(tmp_path / "crashing_agent.py")]
    done = subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=script_env(server),
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "PRETTY RuntimeError kaboom" in done.stderr  # the program's hook ran, as without us
    session = export(server, session_id_from(done.stdout))["session"]
    assert session["end_state"] == "Fail"
    assert session["end_state_reason"].startswith("kaboom: Traceback")
    assert "in fail" in session["end_state_reason"]


def test_a_failing_test_under_pytest_does_not_fail_the_sessions_left_running(
    server: ServerProcess, tmp_path: Path
) -> None:
    """pytest keeps each failing test's exception in sys.last_value, as the interpreter does
    for the one that ends a program: a run whose tests fail ends normally, and so do the
    sessions it left running (Indeterminate, not Fail)."""
    write_script(
        tmp_path,
        """
        import agentops

        def test_agent():
            s = agentops.init()
            print("SESSION", s.session_id, flush=True)
            assert 1 == 2
        """,
        "test_agent.py",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "test_agent.py"],
        capture_output=True,
        text=True,
        env=script_env(server),
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the test failed, nothing else
    session_id = done.stdout.split("SESSION ", 1)[1].split()[0]
    session = export(server, session_id)["session"]
    assert session["end_state"] == "Indeterminate"
    assert session["end_state_reason"] == REASON_NO_END


def start_waiting(tmp_path: Path, env: dict[str, str], with_sdk: bool) -> subprocess.Popen[str]:
    source = WAITING_AGENT.format(maybe_sdk=SDK_LINES if with_sdk else "")
    path = write_script(tmp_path, source, "waiting_sdk.py" if with_sdk else "waiting.py")
    return launch(path, env)


def launch(path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start the script at `path` as a user would, from a terminal (with faulthandler on, so
    that `finished` can show where one that does not end was stuck)."""
    return subprocess.Popen(
        [sys.executable, str(path)],
        preexec_fn=as_from_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONFAULTHANDLER": "1"},
    )


def finished(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """A launched script's stdout and stderr once it has ended. Still running after `timeout`
    seconds: the failure shows what its output was and where each of its threads was (a
    SIGABRT makes faulthandler print their stacks)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        stdout, stderr = proc.communicate(timeout=30)
        raise AssertionError(
            f"still running {timeout} s later; stdout:\n{stdout}\nstderr and stacks:\n{stderr}"
        ) from None


@contextmanager
def silent_server() -> Iterator[dict[str, str]]:
    """A server that accepts connections and never answers (an exit wait lasts its whole
    minute): the environment of a script pointed at it."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(100)
    try:
        yield script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}",
            AGENTOPS_SHUTDOWN_TIMEOUT="60",
        )
    finally:
        silent.close()


def wait_ready(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while True:
        line = proc.stdout.readline()
        assert line, "script ended before it was ready"
        if line.strip() == "ready":
            return lines
        lines.append(line.strip())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_fails_the_session_then_behaves_as_without_sdk(
    server: ServerProcess, tmp_path: Path, signum: signal.Signals
) -> None:
    env = script_env(server)
    codes = {}
    for with_sdk in (False, True):
        proc = start_waiting(tmp_path, env, with_sdk)
        lines = wait_ready(proc)
        proc.send_signal(signum)
        _, stderr = finished(proc, 30)
        codes[with_sdk] = proc.returncode
        if with_sdk:
            sid = lines[0]
            if signum == signal.SIGINT:
                assert "KeyboardInterrupt" in stderr
    assert codes[True] == codes[False]  # KeyboardInterrupt / killed by SIGTERM, as usual
    data = export(server, sid)
    assert data["session"]["end_state"] == "Fail"
    assert data["session"]["end_state_reason"] == f"Signal {signum.name} detected"
    assert [a["action_type"] for a in data["actions"]] == ["before-signal"]


def test_sigterm_behind_a_backlog_still_ends_the_session_as_fail(
    server: ServerProcess, tmp_path: Path
) -> None:
    """200,000 queued events can't be sent within the 2 s exit deadline: the session's end
    jumps the queue, so the server still learns it failed and why."""
    done = run_script(
        tmp_path,
        """
        import os, signal
        import agentops
        s = agentops.init(max_queue_size=1_000_000)
        print(s.session_id, flush=True)
        for _ in range(200_000):
            agentops.record(agentops.ActionEvent(action_type="busy"))
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        script_env(server, AGENTOPS_SHUTDOWN_TIMEOUT="2"),  # the default deadline
        timeout=120,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr  # dies of SIGTERM, as without SDK
    assert "not sent after waiting" in done.stderr  # the backlog left behind is reported
    session = server.stats(session_id_from(done.stdout)).json()
    assert session["end_state"] == "Fail"
    assert session["end_state_reason"] == "Signal SIGTERM detected"


def test_previous_signal_handler_is_chained(server: ServerProcess, tmp_path: Path) -> None:
    path = write_script(
        tmp_path,
        """
        import signal, sys, time
        def mine(signum, frame):
            print("MY HANDLER", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, mine)
        import agentops
        s = agentops.init()
        print(s.session_id, flush=True)
        print("ready", flush=True)
        time.sleep(60)
        """,
    )
    proc = launch(path, script_env(server))
    sid = wait_ready(proc)[0]
    proc.send_signal(signal.SIGTERM)
    stdout, _ = finished(proc, 30)
    assert proc.returncode == 3
    assert "MY HANDLER" in stdout
    assert export(server, sid)["session"]["end_state"] == "Fail"


def test_a_signal_the_main_thread_waits_for_is_not_taken_by_an_sdk_thread(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A program that blocks SIGTERM and waits for it with sigtimedwait() gets it, as it does
    without the SDK: the kernel hands a process's signal to any thread that does not block
    it, and the SDK's threads block the asynchronous ones. (One that took it would also hold
    back a program's handler while the main thread sleeps: Python runs handlers only there.)"""
    done = run_script(
        tmp_path,
        """
        import os, signal, time
        import agentops
        s = agentops.init()
        agentops.record(agentops.ActionEvent(action_type="before-waiting"))
        agentops.end_session("Success")
        import threading
        assert any(t.name.startswith("agentops-") for t in threading.enumerate())
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})
        for signum in (signal.SIGTERM, signal.SIGUSR1):
            os.kill(os.getpid(), signum)
            time.sleep(0.5)  # the other threads' turn to take it, if they may
            got = signal.sigtimedwait({signum}, 10)
            print(signal.Signals(signum).name, got.si_signo if got else None, flush=True)
        print(s.session_id)
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert lines[:2] == [f"SIGTERM {int(signal.SIGTERM)}", f"SIGUSR1 {int(signal.SIGUSR1)}"]
    assert export(server, lines[2])["session"]["end_state"] == "Success"


def test_default_and_ignored_dispositions_are_kept(server: ServerProcess, tmp_path: Path) -> None:
    """A program that ignores SIGTERM keeps ignoring it; one that reset SIGINT to the default
    action dies of it (no KeyboardInterrupt), as it would without the SDK."""
    done = run_script(
        tmp_path,
        """
        import os, signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        import agentops
        s = agentops.init()
        print(s.session_id, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        agentops.record(agentops.ActionEvent(action_type="after-ignored-sigterm"))
        os.kill(os.getpid(), signal.SIGINT)
        print("not reached", flush=True)
        """,
        script_env(server),
    )
    assert done.returncode == -signal.SIGINT, done.stderr
    assert "KeyboardInterrupt" not in done.stderr and "not reached" not in done.stdout
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state_reason"] == "Signal SIGINT detected"
    assert [a["action_type"] for a in data["actions"]] == ["after-ignored-sigterm"]


def test_a_previous_handler_that_returns_lets_the_program_go_on(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = run_script(
        tmp_path,
        """
        import os, signal
        signal.signal(signal.SIGTERM, lambda signum, frame: print("MY HANDLER", flush=True))
        import agentops
        s = agentops.init()
        print(s.session_id, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        print("still running", flush=True)
        """,
        script_env(server),
    )
    assert done.returncode == 0, done.stderr
    sid, mine, after = done.stdout.split("\n")[:3]
    assert (mine, after) == ("MY HANDLER", "still running")
    # the program went on and then left without end_session(): the signal did not end it
    session = export(server, sid)["session"]
    assert (session["end_state"], session["end_state_reason"]) == ("Indeterminate", REASON_NO_END)


def signal_until_it_ends(proc: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    """Send `signum` again every 3 s, as an impatient user presses Ctrl+C, until the process
    ends (at most 20 times); its output. One that arrives before the exit wait begins has
    nothing to cut short: the next one does (and the process is given the time to finish its
    exit before yet another one)."""
    for _ in range(20):
        try:
            return proc.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            proc.send_signal(signum)
    proc.kill()
    raise AssertionError(f"the process still ran after 20 times {signal.Signals(signum).name}")


def test_second_ctrl_c_never_hangs(tmp_path: Path) -> None:
    with silent_server() as env:  # the first Ctrl+C would wait a minute
        proc = start_waiting(tmp_path, env, with_sdk=True)
        wait_ready(proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = signal_until_it_ends(proc, signal.SIGINT)  # a later one skips the wait
    assert "KeyboardInterrupt" in stderr
    assert proc.returncode != 0


def test_exit_with_server_down_gives_up_after_the_deadline(tmp_path: Path) -> None:
    env = script_env(
        AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
        AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{free_port()}",
    )
    started = time.monotonic()
    done = run_script(
        tmp_path,
        """
        import agentops
        agentops.init()
        for i in range(5):
            agentops.record(agentops.ActionEvent(action_type="lost"))
        """,
        env=env,
    )
    assert time.monotonic() - started < 20  # the 2 s deadline, plus interpreter start
    assert done.returncode == 0
    assert "agentops: 5 event(s) not sent after waiting 2.0s" in done.stderr


def test_an_earlier_runs_spool_being_sent_does_not_stretch_the_exit_deadline(
    tmp_path: Path,
) -> None:
    """A server that takes connections and never answers: the first run leaves its events in
    the spool; the second one's spool sender hangs on them. Its exit still waits no longer
    than shutdown_timeout (it had waited 2 s more for that sender)."""
    script = """
        import atexit, sys, time
        atexit.register(lambda: print(f"exit took {time.monotonic() - ended:.2f}", flush=True))
        import agentops
        agentops.init()
        agentops.record(agentops.ActionEvent(action_type="kept"))
        ended = time.monotonic()
    """
    with silent_server() as env:
        env.update(AGENTOPS_SHUTDOWN_TIMEOUT="0.2", AGENTOPS_SPOOL_DIR=str(tmp_path / "spool"))
        first = run_script(tmp_path, script, env=env)
        assert "not sent after waiting 0.2s" in first.stderr, first.stderr
        second = run_script(tmp_path, script, env=env)
    assert second.returncode == 0, second.stderr
    took = float(second.stdout.split("exit took ")[1].split()[0])
    assert took < 1.5, second.stdout  # 0.2 s, with room for a loaded machine; it was 2.2 s


def test_fork_child_records_through_its_own_worker(server: ServerProcess, tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import os, sys
        import agentops
        s = agentops.init()
        agentops.record(agentops.ActionEvent(action_type="parent-before"))
        agentops.flush()
        pid = os.fork()
        if pid == 0:
            agentops.record(agentops.ActionEvent(action_type="child"))
            sys.exit(0)  # the child's exit flushes; it doesn't end the parent's session
        _, status = os.waitpid(pid, 0)
        agentops.record(agentops.ActionEvent(action_type="parent-after"))
        print(s.session_id, os.waitstatus_to_exitcode(status))
        agentops.end_session("Success")
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    sid, child_status = done.stdout.split()
    assert child_status == "0"
    data = export(server, sid)
    assert sorted(a["action_type"] for a in data["actions"]) == [
        "child",
        "parent-after",
        "parent-before",
    ]
    assert data["session"]["end_state"] == "Success"


def test_server_down_for_a_while_then_back(server: ServerProcess, tmp_path: Path) -> None:
    """Events recorded and a session ended while the server is down reach it once it is back.
    end_session() does not wait for a server known to be down (it returns None and says why);
    the exit hook delivers everything when the server answers again. Each step waits for the
    one before: no timing decides the outcome."""
    path = write_script(
        tmp_path,
        """
        import sys
        import agentops
        s = agentops.init()
        agentops.record(agentops.ActionEvent(action_type="before"))
        agentops.flush()
        print(s.session_id, flush=True)
        print("ready", flush=True)
        sys.stdin.readline()  # the server is down now
        for i in range(20):
            agentops.record(agentops.ActionEvent(action_type="during", params={"i": i}))
        print(agentops.flush(timeout=2), flush=True)  # the SDK now knows the server is down
        print(agentops.end_session("Success"), flush=True)
        sys.stdin.readline()  # the server is back
        """,
        "outage.py",
    )
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        preexec_fn=as_from_a_terminal,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=script_env(server, AGENTOPS_FLUSH_TIMEOUT="60"),
    )
    assert proc.stdin is not None and proc.stdout is not None
    sid = wait_ready(proc)[0]
    server.stop()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "False"  # flush(): not taken, the server is down
    assert proc.stdout.readline().strip() == "None"  # end_session(): no cost, and no waiting
    server.start()
    proc.stdin.write("back\n")
    proc.stdin.flush()
    stdout, stderr = finished(proc, 90)
    assert proc.returncode == 0, stderr
    assert "unreachable, so its end was not waited for" in stderr
    data = export(server, sid)
    assert len(data["actions"]) == 21
    assert data["session"]["end_state"] == "Success"


def test_signal_handlers_wait_for_the_main_thread_the_exit_hooks_do_not(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import signal, sys, threading
        import agentops
        t = threading.Thread(target=agentops.init, kwargs={"auto_start_session": False})
        t.start()
        t.join()
        print(sys.excepthook is sys.__excepthook__,
              signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        agentops.init(auto_start_session=False)
        print(sys.excepthook is sys.__excepthook__,
              signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
              signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        """,
        env=script_env(
            AGENTOPS_API_KEY="00000000-0000-4000-8000-000000000000",
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        ),
    )
    assert done.returncode == 0, done.stderr
    # Python's own SIGINT handler stays: asyncio.run() replaces only that one with its own
    assert done.stdout.split("\n")[:2] == ["False True", "False False True"]


def test_init_from_another_thread_still_delivers_at_exit(
    server: ServerProcess, tmp_path: Path
) -> None:
    """init() in a worker thread (a request handler, say) installed no exit hook at all:
    the session and its events were lost when the program ended without end_session()."""
    done = run_script(
        tmp_path,
        """
        import threading
        import agentops
        def work():
            s = agentops.init()
            for i in range(5):
                agentops.record(agentops.ActionEvent(action_type="in-thread", params={"i": i}))
            print(s.session_id)
        t = threading.Thread(target=work)
        t.start()
        t.join()
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state"] == "Indeterminate"
    assert data["session"]["end_state_reason"] == REASON_NO_END
    assert len(data["actions"]) == 5


def test_multiprocessing_fork_children_deliver_their_events(
    server: ServerProcess, tmp_path: Path
) -> None:
    """multiprocessing's fork children leave by os._exit(), which skips atexit: their events
    were lost. They are sent from multiprocessing's own exit function now."""
    done = run_script(
        tmp_path,
        """
        import multiprocessing, os
        import agentops

        def child(tag):
            s = agentops.start_session(tags=[tag])  # a session of the child's own
            for i in range(3):
                agentops.record(agentops.ActionEvent(action_type=f"{tag}-{i}"))
            return str(s.session_id)  # not ended: the child's exit ends it

        def inherited(n):  # events to the parent's session, from the child
            for i in range(n):
                agentops.record(agentops.ActionEvent(action_type=f"child-{os.getpid()}"))
            return n

        if __name__ == "__main__":
            s = agentops.init()
            agentops.record(agentops.ActionEvent(action_type="parent"))
            agentops.flush()  # (a fork right after init(): the test of a pool below)
            ctx = multiprocessing.get_context("fork")
            p = ctx.Process(target=inherited, args=(4,))
            p.start()
            p.join()
            with ctx.Pool(2) as pool:
                counts = pool.map(inherited, [3, 3])
                own = pool.map(child, ["pool-a", "pool-b"])
                pool.close()
                pool.join()  # the workers leave as they do at the end of a pool's work
            agentops.end_session("Success")
            print(s.session_id, p.exitcode, sum(counts), *own)
        """,
        env=script_env(server),
    )
    assert done.returncode == 0, done.stderr
    sid, exitcode, pooled, *own = done.stdout.split()
    assert (exitcode, pooled) == ("0", "6")
    data = export(server, sid)
    actions = [a["action_type"] for a in data["actions"]]
    assert len(actions) == 1 + 4 + 6, (actions, done.stderr)
    for session_id in own:
        child = export(server, session_id)
        assert child["session"]["end_state"] == "Indeterminate"
        assert child["session"]["end_state_reason"] == REASON_NO_END
        assert len(child["actions"]) == 3


CATCHING_AGENT = """
    import time
    import agentops
    s = agentops.init()
    agentops.record(agentops.ActionEvent(action_type="before"))
    print(s.session_id, flush=True)
    try:  # ready only once inside: a Ctrl+C right after "ready" is caught too
        print("ready", flush=True)
        time.sleep(30)
    except KeyboardInterrupt:
        pass
    for i in range(100):
        agentops.record(agentops.ActionEvent(action_type="after", params={"i": i}))
    cost = agentops.end_session("Success")
    print("cost", cost, s.end_state, flush=True)
"""


def test_a_caught_ctrl_c_changes_nothing(server: ServerProcess, tmp_path: Path) -> None:
    """The program catches the KeyboardInterrupt and goes on: its session goes on too."""
    path = write_script(tmp_path, CATCHING_AGENT, "catching.py")
    proc = launch(path, script_env(server))
    sid = wait_ready(proc)[0]
    proc.send_signal(signal.SIGINT)
    stdout, stderr = finished(proc, 60)
    assert proc.returncode == 0, stderr
    assert "cost 0" in stdout and "Success" in stdout, stdout + stderr  # a Decimal, not None
    data = export(server, sid)
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["end_state_reason"] is None
    # in the order recorded, also where events made in one microsecond tie on init_timestamp
    after = [a["params"]["i"] for a in data["actions"] if a["action_type"] == "after"]
    assert after == list(range(100))
    assert len(data["actions"]) == 101


def test_a_programs_own_sigint_handler_keeps_its_session_going(
    server: ServerProcess, tmp_path: Path
) -> None:
    done = run_script(
        tmp_path,
        """
        import os, signal
        seen = []
        signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
        import agentops
        s = agentops.init()
        print(s.session_id, flush=True)
        os.kill(os.getpid(), signal.SIGINT)
        agentops.record(agentops.ActionEvent(action_type="after"))
        print("handled", len(seen), agentops.end_session("Success") is None, flush=True)
        """,
        script_env(server),
    )
    assert done.returncode == 0, done.stderr
    assert "handled 1" in done.stdout
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state"] == "Success"
    assert [a["action_type"] for a in data["actions"]] == ["after"]


def test_ctrl_c_under_asyncio_run_cancels_the_main_task_as_without_the_sdk(
    server: ServerProcess, tmp_path: Path
) -> None:
    """asyncio.run() installs its Ctrl+C handler (cancel the main task, then raise
    KeyboardInterrupt) only over Python's own: the SDK leaves that one in place, so the
    program's cancellation cleanup runs and is recorded before its session ends."""
    path = write_script(
        tmp_path,
        """
        import asyncio, signal
        import agentops

        async def main():
            s = agentops.init()
            print(s.session_id, type(signal.getsignal(signal.SIGINT)).__name__, flush=True)
            print("ready", flush=True)
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)  # a cleanup that still awaits
                agentops.record(agentops.ActionEvent(action_type="cleanup"))
                raise

        asyncio.run(main())
        """,
    )
    proc = launch(path, script_env(server))
    sid, handler = wait_ready(proc)[0].split()
    assert handler == "partial"  # asyncio's Runner._on_sigint, not the SDK's
    proc.send_signal(signal.SIGINT)
    _, stderr = finished(proc, 30)
    assert proc.returncode == -signal.SIGINT, stderr
    assert "KeyboardInterrupt" in stderr
    data = export(server, sid)
    assert data["session"]["end_state"] == "Fail"
    assert data["session"]["end_state_reason"] == "Signal SIGINT detected"
    assert [a["action_type"] for a in data["actions"]] == ["cleanup"]


def test_a_programs_graceful_sigterm_handler_ends_its_session_itself(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The program's own SIGTERM handler runs first: what it records and how it ends its
    session are kept (the SDK does not end the session as Fail before it)."""
    done = run_script(
        tmp_path,
        """
        import os, signal, sys
        import agentops

        def graceful(signum, frame):
            agentops.record(agentops.ActionEvent(action_type="shutting-down"))
            agentops.end_session("Success", "graceful shutdown")
            sys.exit(0)

        signal.signal(signal.SIGTERM, graceful)
        s = agentops.init()
        print(s.session_id, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        script_env(server),
    )
    assert done.returncode == 0, done.stderr
    data = export(server, session_id_from(done.stdout))
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["end_state_reason"] == "graceful shutdown"
    assert [a["action_type"] for a in data["actions"]] == ["shutting-down"]


def test_a_second_ctrl_c_during_the_exit_wait_still_runs_the_programs_excepthook(
    tmp_path: Path,
) -> None:
    path = write_script(
        tmp_path,
        """
        import sys, time
        def mine(kind, value, tb):
            print("MY EXCEPTHOOK", kind.__name__, flush=True)
        sys.excepthook = mine
        import agentops
        agentops.init()
        print("ready", flush=True)
        time.sleep(60)
        """,
    )
    with silent_server() as env:
        proc = launch(path, env)
        wait_ready(proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = signal_until_it_ends(proc, signal.SIGINT)
    assert "MY EXCEPTHOOK KeyboardInterrupt" in stdout, stderr
    assert proc.returncode == -signal.SIGINT


def test_a_sigterm_handler_that_ends_the_process_at_once_loses_no_event(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A handler that dies of the signal's default action (or calls os._exit) runs no exit
    hook: what was queued is sent before it runs."""
    done = run_script(
        tmp_path,
        """
        import os, signal
        import agentops

        def die(signum, frame):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, die)
        s = agentops.init()
        print(s.session_id, flush=True)
        agentops.record(agentops.ActionEvent(action_type="work"))
        os.kill(os.getpid(), signal.SIGTERM)
        """,
        script_env(server),
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    data = export(server, session_id_from(done.stdout))
    assert [a["action_type"] for a in data["actions"]] == ["work"]


def test_threads_still_running_after_an_uncaught_exception_are_recorded(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Python waits for the program's other threads before it exits: what they record, and
    the session they end, are kept; the crash ends only what is still running then."""
    done = run_script(
        tmp_path,
        """
        import threading, time
        import agentops

        crashed = agentops.init()
        mine = agentops.start_session()
        print(crashed.session_id, mine.session_id, flush=True)
        started = threading.Event()

        def worker():
            started.set()
            for i in range(5):
                time.sleep(0.05)
                mine.record(agentops.ActionEvent(action_type=f"w{i}"))
            mine.end_session("Success")

        threading.Thread(target=worker).start()
        started.wait()
        raise ValueError("the main thread fails")
        """,
        script_env(server),
    )
    assert done.returncode == 1, done.stderr
    assert "ValueError: the main thread fails" in done.stderr
    crashed_id, mine_id = done.stdout.split()[:2]
    mine = export(server, mine_id)
    assert mine["session"]["end_state"] == "Success"
    assert [a["action_type"] for a in mine["actions"]] == [f"w{i}" for i in range(5)]
    crashed = export(server, crashed_id)["session"]
    assert crashed["end_state"] == "Fail"
    assert crashed["end_state_reason"].startswith("the main thread fails: Traceback")


def test_a_signal_that_ended_nothing_fails_only_the_sessions_running_then(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A SIGTERM handler raises, the program catches that and goes on with a new session:
    at exit the session running at the signal ends as Fail, the later one as Indeterminate."""
    done = run_script(
        tmp_path,
        """
        import os, signal
        import agentops

        def stop(signum, frame):
            raise RuntimeError("stop")

        signal.signal(signal.SIGTERM, stop)
        first = agentops.init()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except RuntimeError:
            pass
        second = agentops.start_session()
        second.record(agentops.ActionEvent(action_type="later"))
        print(first.session_id, second.session_id, flush=True)
        """,
        script_env(server),
    )
    assert done.returncode == 0, done.stderr
    first_id, second_id = done.stdout.split()[:2]
    first = export(server, first_id)["session"]
    assert (first["end_state"], first["end_state_reason"]) == ("Fail", "Signal SIGTERM detected")
    second = export(server, second_id)
    assert (second["session"]["end_state"], second["session"]["end_state_reason"]) == (
        "Indeterminate",
        REASON_NO_END,
    )
    assert [a["action_type"] for a in second["actions"]] == ["later"]


@pytest.mark.parametrize("handler", [False, True])
def test_sigterm_during_the_exit_wait_cuts_it(tmp_path: Path, handler: bool) -> None:
    """Without a handler of the program's, the process then dies of it; with one, that
    handler runs and the exit goes on, unhurried: what is unsent stays in the spool."""
    mine = 'signal.signal(signal.SIGTERM, lambda s, f: print("MY HANDLER", flush=True))'
    path = write_script(
        tmp_path,
        f"""
        import signal
        import agentops
        {mine if handler else ""}
        agentops.init()
        agentops.record(agentops.ActionEvent(action_type="unsent"))
        print("ready", flush=True)
        """,
    )
    with silent_server() as env:
        proc = launch(path, env)
        wait_ready(proc)
        stdout, stderr = signal_until_it_ends(proc, signal.SIGTERM)
    if not handler:
        assert proc.returncode == -signal.SIGTERM, stderr
        return
    assert proc.returncode == 0, stderr
    assert "MY HANDLER" in stdout
    assert "1 kept in the spool" in stderr


def spool_of_an_earlier_run(server: ServerProcess, tmp_path: Path) -> str:
    """A spool directory holding an earlier run's event (its server was down): the next
    init() with it starts a thread that sends it at once."""
    spool_dir = str(tmp_path / "spool")
    earlier = run_script(
        tmp_path,
        """
        import agentops
        agentops.init()
        agentops.record(agentops.ActionEvent(action_type="earlier"))
        """,
        env=script_env(
            AGENTOPS_API_KEY=server.api_key,
            AGENTOPS_API_ENDPOINT=f"http://127.0.0.1:{free_port()}",  # nobody there: spooled
            AGENTOPS_SPOOL_DIR=spool_dir,
        ),
    )
    assert "1 kept in the spool" in earlier.stderr, earlier.stderr
    return spool_dir


def test_a_pool_created_right_after_init_delivers_its_workers_events(
    server: ServerProcess, tmp_path: Path
) -> None:
    """init() starts threads that send at once (here: an earlier run's spooled events), and
    httpx imports modules on its first request: a fork in the middle of that (a pool created
    right after init()) left their import locks held in the children by a thread they do not
    have. The pool's workers could not send: their events waited for the exit deadline, then
    went to the spool."""
    spool_dir = spool_of_an_earlier_run(server, tmp_path)
    started = time.monotonic()
    done = run_script(
        tmp_path,
        """
        import multiprocessing
        import agentops

        def child(tag):
            s = agentops.start_session(tags=[tag])
            agentops.record(agentops.ActionEvent(action_type=tag))
            return str(s.session_id)

        if __name__ == "__main__":
            agentops.init()
            pool = multiprocessing.get_context("fork").Pool(2)
            print(*pool.map(child, ["a", "b"]))
            pool.close()
            pool.join()
        """,
        env=script_env(server, AGENTOPS_SPOOL_DIR=spool_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "not sent" not in done.stderr, done.stderr
    for session_id, tag in zip(done.stdout.split(), ["a", "b"], strict=True):
        assert [a["action_type"] for a in export(server, session_id)["actions"]] == [tag]
    assert time.monotonic() - started < 20  # not after the exit deadline (30 s)


def test_the_sdk_threads_take_no_lock_that_a_fork_would_leave_held(
    server: ServerProcess, tmp_path: Path
) -> None:
    """A fork copies the locks a thread holds, not the thread: an import in progress (its
    module lock) or OpenSSL loading certificates (Python's lock released, OpenSSL's held) on
    an SDK thread at that moment left them held forever in the child, whose own first request
    then waited for the exit deadline and spooled its events. Both were caught in the act:
    getaddrinfo() importing encodings.idna for the first connection (py-spy on a stalled pool
    worker), and httpx loading certifi's bundle (a thread loading certificates while another
    forks stalls about one child in 200). init() does both on its own thread: after it, no
    SDK thread imports a module or loads a certificate, in the parent (sending an earlier
    run's spool as init() returns) or in a forked child."""
    spool_dir = spool_of_an_earlier_run(server, tmp_path)
    done = run_script(
        tmp_path,
        """
        import multiprocessing, os, ssl, sys, threading

        initialized = False

        def on_import(event, args):
            thread = threading.current_thread().name
            if event == "import" and thread.startswith("agentops"):
                print("imported", args[0], "on", thread, flush=True)

        def watch_certificates(name):
            original = getattr(ssl.SSLContext, name)
            def loading(self, *args, **kwargs):
                thread = threading.current_thread().name
                if initialized or thread.startswith("agentops"):
                    print("loaded certificates on", os.getpid(), thread, flush=True)
                return original(self, *args, **kwargs)
            setattr(ssl.SSLContext, name, loading)

        sys.addaudithook(on_import)  # inherited by the forked child
        for name in ("load_verify_locations", "load_default_certs", "set_default_verify_paths"):
            watch_certificates(name)

        import agentops

        def child(tag):
            s = agentops.start_session(tags=[tag])
            agentops.record(agentops.ActionEvent(action_type=tag))
            s.end_session("Success")
            print("session", s.session_id, flush=True)

        if __name__ == "__main__":
            agentops.init(auto_start_session=False)
            initialized = True
            child("parent")
            p = multiprocessing.get_context("fork").Process(target=child, args=("child",))
            p.start()
            p.join()
        """,
        env=script_env(server, AGENTOPS_SPOOL_DIR=spool_dir),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if not line.startswith("session")] == []
    for line, tag in zip(lines, ["parent", "child"], strict=True):
        assert [a["action_type"] for a in export(server, line.split()[1])["actions"]] == [tag]


def test_a_multiprocessing_child_that_fails_ends_its_session_as_fail(
    server: ServerProcess, tmp_path: Path
) -> None:
    """multiprocessing never calls sys.excepthook in its children: their failure is read as
    its exit function runs, while the exception propagates."""
    done = run_script(
        tmp_path,
        """
        import multiprocessing
        import agentops

        def child(queue):
            s = agentops.start_session(tags=["child"])
            queue.put(str(s.session_id))
            agentops.record(agentops.ActionEvent(action_type="before-failing"))
            raise ValueError("the child fails")

        if __name__ == "__main__":
            agentops.init(auto_start_session=False)
            ctx = multiprocessing.get_context("fork")
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(queue,))
            p.start()
            p.join()
            print(queue.get(timeout=30), p.exitcode)
        """,
        # what the SDK did in the child, shown if its session is missing
        env=script_env(server, AGENTOPS_LOGGING_LEVEL="DEBUG"),
    )
    assert done.returncode == 0, done.stderr
    sid, exitcode = done.stdout.split()
    assert exitcode == "1"
    assert "ValueError: the child fails" in done.stderr  # multiprocessing's own report
    assert "not sent" not in done.stderr, done.stderr
    assert server.export(sid).status_code == 200, done.stderr
    data = export(server, sid)
    assert data["session"]["end_state"] == "Fail"
    assert data["session"]["end_state_reason"].startswith("the child fails: Traceback")
    assert [a["action_type"] for a in data["actions"]] == ["before-failing"]


@pytest.mark.parametrize(
    ("signum", "handler", "status"),
    [
        (signal.SIGTERM, "sys.exit(0)", 0),
        (signal.SIGTERM, "os._exit(3)", 3),
        (signal.SIGINT, None, 0),  # Python's own: KeyboardInterrupt
    ],
    ids=["sigterm-sys-exit", "sigterm-os-exit", "ctrl-c"],
)
def test_signals_while_the_exit_hook_waits_and_spools_lose_no_event(
    tmp_path: Path, signum: int, handler: str | None, status: int
) -> None:
    """Signalled again and again (a process manager, an impatient user) while the exit hook
    waits for a silent server and then writes 20,000 unsent events to the spool: the first
    signal cuts the wait, and the program's handler (even one that ends the process at once)
    runs only once they are kept; Python's Ctrl+C cuts the wait and nothing else."""
    name = signal.Signals(signum).name
    mine = (
        f"signal.signal(signal.{name}, "
        f'lambda signum, frame: (print("HANDLER", file=sys.stderr, flush=True), {handler}))'
        if handler
        else ""
    )
    path = write_script(
        tmp_path,
        f"""
        import atexit, os, signal, sys
        # before importing agentops, so it runs after the SDK's exit hook: a signal that comes
        # later is ignored, not the default action
        atexit.register(signal.signal, signal.{name}, signal.SIG_IGN)
        import agentops
        {mine}
        agentops.init()
        for i in range(20_000):
            agentops.record(agentops.ActionEvent(action_type="unsent"))
        atexit.register(print, "ready", flush=True)  # before the SDK's exit hook
        """,
    )
    with silent_server() as env:
        env["AGENTOPS_SPOOL_DIR"] = str(tmp_path / "spool")
        lines: list[str] = []
        with launch(path, env) as proc:  # (closes its pipes)
            wait_ready(proc)
            reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
            reader.start()
            time.sleep(0.5)  # the exit hook is waiting for the server
            # every 20 ms until the exit hook says what it kept (or the process ends: 30 s at most)
            for _ in range(1500):
                if proc.poll() is not None or any("kept in the spool" in line for line in lines):
                    break
                proc.send_signal(signum)
                time.sleep(0.02)
            proc.wait(timeout=60)
            reader.join(timeout=10)
    stderr = "".join(lines)
    assert "20000 event(s) not sent" in stderr and "20000 kept in the spool" in stderr, stderr
    assert proc.returncode == status, stderr
    if handler:  # it ran, after the spool was written
        kept = next(i for i, line in enumerate(lines) if "kept in the spool" in line)
        assert "HANDLER\n" in lines[kept:], stderr


def test_a_signal_handled_as_an_sdk_thread_starts_leaves_that_thread_recorded() -> None:
    """A signal that comes while the SDK starts a thread (its signals blocked for that moment)
    is handled right after; what its handler raises (a KeyboardInterrupt) reaches the caller
    with the thread running and recorded, so the SDK never starts a second one for the same
    queue."""
    recorded: list[threading.Thread] = []
    done = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def started(thread: threading.Thread) -> None:
        recorded.append(thread)
        signal.raise_signal(signal.SIGUSR1)  # comes while the signals are blocked

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            start_daemon_thread(done.wait, "agentops-test", started=started)
    finally:
        signal.signal(signal.SIGUSR1, previous)
        done.set()
    assert len(recorded) == 1 and recorded[0].ident is not None


def test_a_signal_at_any_point_of_starting_an_sdk_thread_leaves_the_signal_mask_as_it_was() -> None:
    """Python runs a signal's handler as a function is entered (among other points). A
    KeyboardInterrupt raised there while the SDK had the program's signals blocked to start a
    thread left them blocked in the program's main thread for good: a later Ctrl+C or SIGTERM
    went to another thread and no longer interrupted the main thread's blocking calls. Raised
    here at each function entry of starting a thread in turn (in the SDK's module and in
    signal.py, where the mask is read and set), as a handler would be run there."""
    as_it_was = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    watched = {_threads.__file__, signal.__file__}
    done = threading.Event()
    previous_tracer = sys.gettrace()
    interrupted_at: list[str] = []

    def interrupting_at(point: int) -> Callable[[FrameType, str, object], None]:
        entries = 0

        def tracer(frame: FrameType, event: str, arg: object) -> None:
            nonlocal entries
            if event == "call" and frame.f_code.co_filename in watched:
                entries += 1
                if entries == point:
                    sys.settrace(None)
                    interrupted_at.append(frame.f_code.co_qualname)
                    raise KeyboardInterrupt

        return tracer

    try:
        for point in itertools.count(1):
            sys.settrace(interrupting_at(point))
            try:
                start_daemon_thread(done.wait, "agentops-test")
            except KeyboardInterrupt:
                pass
            else:
                break  # no entry left to interrupt
            finally:
                sys.settrace(previous_tracer)
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
            assert mask == as_it_was, f"interrupted entering {interrupted_at[-1]}: {mask}"
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, as_it_was)  # for the tests after this one
        done.set()
    assert "pthread_sigmask" in interrupted_at and len(interrupted_at) >= 4
