"""Container log files (sandbox.logs): one CRI-format file per container start, as the kubelet keeps."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from sandbox import logs
from sandbox.objects import PodState
from sandbox.wire import ApiError

CRI_RECORD = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([PF]) (.*)$")


def a_pod(restarts: int = 0, running: bool = True) -> PodState:
    template = {"metadata": {}, "spec": {"containers": [{"name": "app"}]}}
    pod = PodState("web-1", "web", "h", template, "uid", "127.0.1.2", 8081, "node", "2026-01-01T00:00:00Z")
    pod.restarts, pod.running = restarts, running
    return pod


def record(output: logs.ContainerOutput, out: bytes, err: bytes = b"") -> list[bytes]:
    with output:
        os.write(output.stdout, out)
        if err:
            os.write(output.stderr, err)
    logs.wait_recorded(output.raw_log, 5)
    return output.path.read_bytes().splitlines()


def test_each_line_becomes_a_timestamped_record_naming_its_stream(tmp_path):
    output = logs.ContainerOutput(a_pod(), tmp_path / "web-1.log")
    records = record(output, b"one\ntwo\n", b"oops\n")
    assert output.path == tmp_path / "web-1" / "app" / "0.log"
    parsed = [CRI_RECORD.match(r).groups() for r in records]
    assert sorted(parsed) == [
        (b"stderr", b"F", b"oops"),
        (b"stdout", b"F", b"one"),
        (b"stdout", b"F", b"two"),
    ]
    assert (tmp_path / "web-1.log").read_bytes().count(b"\n") == 3  # the raw log, as before


def test_a_last_line_without_newline_is_kept_and_a_long_line_is_cut_into_pieces(tmp_path):
    output = logs.ContainerOutput(a_pod(), tmp_path / "web-1.log")
    long_line = b"x" * (logs.PIECE_BYTES * 2 + 10)
    records = record(output, long_line + b"\nno newline")
    tags = [CRI_RECORD.match(r).group(2) for r in records]
    assert tags == [b"P", b"P", b"F", b"F"]
    assert b"".join(CRI_RECORD.match(r).group(3) for r in records[:3]) == long_line
    assert CRI_RECORD.match(records[3]).group(3) == b"no newline"


def test_a_restart_writes_a_new_file_named_for_its_restart_count(tmp_path):
    first = logs.ContainerOutput(a_pod(0), tmp_path / "web-1.log")
    record(first, b"before the crash\n")
    second = logs.ContainerOutput(a_pod(1), tmp_path / "web-1.log")
    record(second, b"after\n")
    assert [p.name for p in sorted(first.path.parent.iterdir())] == ["0.log", "1.log"]


def test_render_prints_the_line_with_or_without_its_time():
    when, line = logs.render(b"2026-01-02T03:04:05.123456789Z stdout F hello", timestamps=False)
    assert line == b"hello\n"
    assert abs(when - (logs.parse_time("2026-01-02T03:04:05Z") + 0.123456)) < 1e-6
    assert logs.render(b"2026-01-02T03:04:05.123456789Z stdout P part", timestamps=True)[1] == (
        b"2026-01-02T03:04:05.123456789Z part"
    )
    assert logs.render(b"garbage", timestamps=False) is None


def test_the_time_format_is_rfc3339_with_nine_digits_in_utc():
    assert logs.rfc3339_nano(1_700_000_000_000_000_001) == b"2023-11-14T22:13:20.000000001Z"
    now = time.time_ns()
    assert abs(logs.parse_time(logs.rfc3339_nano(now).decode()) - now / 1e9) < 1e-5


def instances(tmp_path: Path, *numbers: int) -> Path:
    directory = tmp_path / "web-1" / "app"
    directory.mkdir(parents=True)
    for number in numbers:
        (directory / f"{number}.log").write_bytes(b"")
    return directory


def test_logs_read_the_running_container_and_previous_the_one_before(tmp_path):
    directory = instances(tmp_path, 0, 1, 2)
    running = a_pod(2, running=True)
    assert logs.choose_instance(directory, running, "app", previous=False).name == "2.log"
    assert logs.choose_instance(directory, running, "app", previous=True).name == "1.log"


def test_in_a_crash_loop_both_read_the_container_that_last_exited(tmp_path):
    # The kubelet: a waiting container's current log is its lastState.terminated, as is -p's.
    directory = instances(tmp_path, 0, 1)
    waiting = a_pod(2, running=False)
    assert logs.choose_instance(directory, waiting, "app", previous=False).name == "1.log"
    assert logs.choose_instance(directory, waiting, "app", previous=True).name == "1.log"


def test_previous_without_a_terminated_container_is_the_kubelets_400(tmp_path):
    directory = instances(tmp_path, 0)
    with pytest.raises(ApiError) as raised:
        logs.choose_instance(directory, a_pod(0), "app", previous=True)
    assert raised.value.code == 400
    assert raised.value.body["message"] == 'previous terminated container "app" in pod "web-1" not found'
