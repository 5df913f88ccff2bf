"""CPU models as data: which names a QEMU release knows, and facts about them.

One file per CPU family under ``cpus/`` (read on first use), built from a
real QEMU's ``query-cpu-definitions`` and ``query-cpu-model-expansion``.
A release the file does not describe gives "unknown", never a guess.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from cmdxlate.errors import CmdxlateError


@cache
def table(family: str) -> dict[str, Any]:
    """The family's table: from a probed database (--machines) if it has one, else built in.

    A probed database without CPU models knows none for its release, so nothing is
    checked against the built-in lists of other releases.
    """
    from cmdxlate.catalog.machines import cpu_model_table, using_machine_file

    probed = cpu_model_table(family)
    if probed is not None:
        return probed
    text = (resources.files("cmdxlate.catalog") / "data" / "cpus" / f"{family}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    if using_machine_file():
        data = dict(data, models={})
    return data


def clear_caches() -> None:
    table.cache_clear()
    known_models.cache_clear()
    _folded.cache_clear()


def _models(family: str, target: tuple[int, int]) -> dict[str, Any] | None:
    entry: dict[str, Any] | None = table(family)["models"].get(f"{target[0]}.{target[1]}")
    return entry


@cache
def known_models(family: str, target: tuple[int, int]) -> frozenset[str] | None:
    entry = _models(family, target)
    if entry is None:
        return None
    if "names" in entry:
        return frozenset(entry["names"]) | frozenset(table(family).get("extra_names", ()))
    return frozenset(entry["with_x2apic"]) | frozenset(entry["without_x2apic"])


@cache
def _folded(family: str, target: tuple[int, int]) -> frozenset[str]:
    return frozenset(n.lower() for n in known_models(family, target) or ())


def check_model(family: str, model: str, target: tuple[int, int],
                accel: str | None = None) -> None:
    """parse_cpu_option: an unknown -cpu model stops QEMU before NUMA is read.

    Some models exist only under an accelerator (ppc64/s390x 'host' with KVM).
    """
    data = table(family)
    names = known_models(family, target)
    if names is None or model in names:
        return
    if data.get("case_insensitive") and model.lower() in _folded(family, target):
        return
    if (accel or "tcg") in data.get("accel_registered", {}).get(model, ()):
        return
    raise CmdxlateError(f"unable to find CPU model '{model}'", qemu=True)


def check_accel(family: str, model: str, accel: str | None) -> None:
    """Models only an accelerator can provide (x86 'host'), checked as CPUs are realized."""
    need = table(family).get("accel_only", {}).get(model)
    if need and (accel or "tcg") not in need:
        names = " or ".join(a.upper() for a in need)
        raise CmdxlateError(f"CPU model '{model}' requires {names}", qemu=True)


def has_x2apic(family: str, model: str, target: tuple[int, int]) -> bool | None:
    """x2apic of a model by default under TCG; None when the file can't tell."""
    entry = _models(family, target)
    if entry is None:
        return None
    if model in entry["with_x2apic"]:
        return True
    if model in entry["without_x2apic"]:
        return False
    return None


def check_runnable(family: str, cpu_value: str, accel: str | None,
                   target: tuple[int, int]) -> None:
    """TCG cannot give some models every feature (s390x): QEMU names the missing ones.

    Features switched off on -cpu leave the list; a line that switches any
    feature on is not judged (whether TCG has it is not in the data).
    """
    data = table(family)
    if (accel or "tcg") != "tcg":
        return
    missing_by_model = data.get("tcg_unavailable", {}).get(f"{target[0]}.{target[1]}")
    if not missing_by_model:
        return
    model, *items = cpu_value.split(",")
    missing = missing_by_model.get(model)
    if not missing:
        return
    if "type" in missing:
        raise CmdxlateError(data["too_new_message"], qemu=True, hint=data["too_new_hint"])
    off: set[str] = set()
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or value not in ("off", "false", "no"):
            return
        off.add(name)
    left = [f for f in missing if f not in off]
    if left:
        raise CmdxlateError(data["unavailable_message"] + "".join(f + " " for f in left) + " ",
                            qemu=True, hint=data["unavailable_hint"])
