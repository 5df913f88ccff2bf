"""tests/data/ says what its originals in ../shared/qemu-tests say (skips without ../shared).

The core tests read tests/data/ only, so a fresh clone tests itself; this file keeps the
transcription honest.  Regenerate with scripts/transcribe-test-data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def test_every_data_file_names_its_source() -> None:
    readme = (DATA / "README.md").read_text()
    for name in ("smp-cases.json", "optstring-cases.json"):
        assert "source" in json.loads((DATA / name).read_text()), name
        assert f"`{name}`" in readme
    assert "`live-10.0.2/*.json`" in readme and "`live-10.0.2/*.cfg`" in readme
    for path in (DATA / "live-10.0.2").glob("*.json"):
        assert json.loads(path.read_text())["qemu"].startswith("QEMU emulator version 10.0.2")


@pytest.mark.shared
def test_smp_cases_are_the_shared_table(shared: Path) -> None:
    original = json.loads((shared / "qemu-tests" / "smp-cases.json").read_text())
    meta = json.loads((shared / "qemu-tests" / "smp-cases.meta.json").read_text())
    ours = json.loads((DATA / "smp-cases.json").read_text())
    assert ours["source"] == meta["source"]
    assert ours["record_count"] == meta["record_count"] == len(original) == len(ours["cases"])
    for want, got in zip(original, ours["cases"], strict=True):
        assert got["id"] == want["id"]
        machine_type, _, prefer = got["machine"].partition("/")
        assert machine_type == want["machine_type"]
        assert prefer == ("prefer_sockets" if want["machine_support"]["prefer_sockets"]
                          else "prefer_cores")
        assert ours["machines"][got["machine"]] == want["machine_support"], want["id"]
        assert (got["smp"], got["config"]) == (want["smp"], want["config"]), want["id"]
        if "expect" in want:
            assert dict(zip(ours["expect_fields"], got["expect"], strict=True)) == want["expect"]
        else:
            assert got["error"] == want["error"]
            assert "expect" not in got


@pytest.mark.shared
def test_optstring_cases_are_the_shared_ones(shared: Path) -> None:
    original = json.loads((shared / "qemu-tests" / "optstring-cases.json").read_text())
    assert json.loads((DATA / "optstring-cases.json").read_text()) == original


@pytest.mark.shared
def test_live_fixtures_are_the_shared_ones(shared: Path) -> None:
    for path in sorted((DATA / "live-10.0.2").iterdir()):
        assert path.read_bytes() == (shared / "qemu-tests" / "live-10.0.2" / path.name
                                     ).read_bytes(), path.name
