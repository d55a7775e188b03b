"""bench/spy.py: py-spy's raw stacks summed into self and total shares of busy samples."""

from __future__ import annotations

from pathlib import Path

from bench.spy import Profile, frame_name

PROCESSES = (
    'process 10:"python serve";'
    'process 11:"python -c from multiprocessing.spawn import spawn_main; spawn_main(x=1)";'
)


def test_a_profile_sums_busy_samples_by_function(tmp_path: Path) -> None:
    raw = tmp_path / "posts.txt"
    raw.write_text(
        "\n".join(
            [
                PROCESSES + "run (asyncio/runners.py:118);handle (/w/src/callhistory/a.py:3) 6",
                PROCESSES + "run (asyncio/runners.py:118);handle (/w/src/callhistory/a.py:9);"
                "dumps (/v/site-packages/orjson/x.py:1) 2",
                PROCESSES + "run (asyncio/runners.py:118);select (selectors.py:468) 40",
                PROCESSES.rstrip(";") + " 5",  # no Python frame: not counted
            ]
        )
        + "\n"
    )
    profile = Profile.read(raw)
    assert profile.samples == 8  # the idle loop and the empty stack left out
    (first, second) = profile.by_self(2)
    assert (first.function, first.self_share, first.total_share) == (
        "handle (callhistory/a.py)",
        0.75,
        1.0,
    )
    assert (second.function, second.self_share) == ("dumps (orjson/x.py)", 0.25)
    assert [e.function for e in profile.by_total()] == ["handle (callhistory/a.py)"]


def test_frame_names_keep_the_package_path_without_the_line() -> None:
    assert frame_name("f (/usr/lib/python3.11/asyncio/events.py:80)") == "f (asyncio/events.py)"
    assert frame_name("<module> (<string>:1)") == "<module> (<string>)"
