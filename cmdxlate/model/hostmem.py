"""A memory backend's NUMA binding, ``host-nodes`` and ``policy``: what each release
refuses, and when (backends/hostmem.c).

Measured on QEMU 5.2.0, 7.2.22, 10.0.2 and 11.1.3 (``tests/data/memory-measured.json``):

* The members are read with the rest of the object. An option string goes through
  QemuOpts' opts visitor: ``host-nodes`` is a number or a range ``N-M`` (strtoull,
  base 0; fewer than 65,536 values), repeatable, each value a uint16. JSON goes through
  the QAPI input visitor: an array of integers. From 6.0 (``object-cli-visitor``) this
  happens while argv is read, at the option, host-nodes before policy; 5.2 reads them
  when it creates the object.
* Creating the object sets each property in QEMU's QDict order (a node of 128 or more:
  ``Invalid host-nodes value``), then completes it: its memory first (size, mem-path),
  then the two members against each other (``host-nodes must be set for policy bind``).
  5.2 says where; from 6.0 creation errors carry no location.
* Whether the host has those nodes is the host's (QEMU's mbind fails otherwise):
  cmdxlate takes it that it has.
"""

from __future__ import annotations

from cmdxlate.error import QemuRefusal
from cmdxlate.records import dataclass
from cmdxlate.syntax.numbers import json_uint64

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below

if TYPE_CHECKING:
    from cmdxlate.catalog.releases import Release

POLICIES = ("default", "preferred", "bind", "interleave")  # QAPI HostMemPolicy
MAX_NODES = 128  # include/system/numa.h: host-nodes are bits of a MAX_NODES bitmap
_RANGE_MAX = 65536  # OPTS_VISITOR_RANGE_MAX
_UINT64 = 1 << 64


@dataclass(frozen=True, slots=True)
class Binding:
    """The host nodes (in order, as given) and the policy ("default" when none given)."""

    nodes: tuple[int, ...] = ()
    policy: str = "default"


def _strtoull(text: str) -> tuple[int, str] | None:
    """strtoull(text, &end, 0) as parse_uint takes it: (value, rest), or None when no
    number starts the text, it is negative or it overflows."""
    s = text.lstrip(" \t\n\v\f\r")
    sign = s[:1] in "+-" and s[:1] or ""
    body = s[len(sign):]
    if body[:2].lower() == "0x" and body[2:3].lower() in "0123456789abcdef" and body[2:3]:
        base, digits, i = 16, "0123456789abcdef", 2
    elif body[:1] == "0":
        base, digits, i = 8, "01234567", 0
    else:
        base, digits, i = 10, "0123456789", 0
    j = i
    while j < len(body) and body[j].lower() in digits:
        j += 1
    if j == i or sign == "-":
        return None
    value = int(body[i:j], base)
    return (value, body[j:]) if value < _UINT64 else None


def _text_values(text: str) -> list[int]:
    """One option-string value of host-nodes: the numbers it stands for."""
    first = _strtoull(text)
    if first is not None and first[1] == "":
        return [first[0]]
    if first is not None and first[1][:1] == "-":
        last = _strtoull(first[1][1:])
        if last is not None and last[1] == "" and first[0] <= last[0] < first[0] + _RANGE_MAX:
            return list(range(first[0], last[0] + 1))
    raise QemuRefusal("Parameter 'host-nodes' expects a uint64 value or range")


def _uint16(value: int) -> int:
    if value >= 1 << 16:
        raise QemuRefusal("Parameter 'null' expects uint16_t")  # list elements have no name
    return value


def _policy(text: str, release: Release) -> str:
    if text not in POLICIES:
        if release.has("qapi-enum-error-names-parameter"):
            raise QemuRefusal(f"Parameter 'policy' does not accept value '{text}'")
        raise QemuRefusal(f"Invalid parameter '{text}'")
    return text


def read_text_member(key: str, values: list[str], release: Release) -> Binding:
    """host-nodes (every value given, in order) or policy (the last) of an option string;
    QemuRefusal without a location when the opts visitor refuses it."""
    if key == "policy":
        return Binding(policy=_policy(values[-1], release))
    return Binding(nodes=tuple(_uint16(v) for text in values for v in _text_values(text)))


def read_json_members(j: dict[str, object], release: Release) -> Binding:
    """host-nodes, then policy, of a JSON object, as the QAPI input visitor reads them."""
    nodes: list[int] = []
    if "host-nodes" in j:
        given = j["host-nodes"]
        if not isinstance(given, list):
            raise QemuRefusal("Invalid parameter type for 'host-nodes', expected: array")
        for i, v in enumerate(given):
            node = json_uint64(v)
            if node is None:
                raise QemuRefusal(f"Parameter 'host-nodes[{i}]' expects uint64")
            nodes.append(_uint16(node))
    policy = j.get("policy", "default")
    if "policy" in j and not isinstance(policy, str):
        raise QemuRefusal("Invalid parameter type for 'policy', expected: string")
    assert isinstance(policy, str)
    return Binding(tuple(nodes), _policy(policy, release) if "policy" in j else "default")


def set_error(nodes: tuple[int, ...]) -> QemuRefusal | None:
    """host_memory_backend_set_host_nodes: the first node past MAX_NODES."""
    bad = next((n for n in nodes if n >= MAX_NODES), None)
    return None if bad is None else QemuRefusal(f"Invalid host-nodes value: {bad}")


def complete_error(binding: Binding) -> QemuRefusal | None:
    """host_memory_backend_memory_complete, after the memory: the members together."""
    if binding.nodes and binding.policy == "default":
        return QemuRefusal("host-nodes must be empty for policy default, or you should "
                           "explicitly specify a policy other than default")
    if not binding.nodes and binding.policy != "default":
        return QemuRefusal(f"host-nodes must be set for policy {binding.policy}")
    return None


def first_in_qdict_order(errors: dict[str, QemuRefusal | None], keys: list[str]
                         ) -> QemuRefusal | None:
    """The error of the property QEMU sets first: object_set_properties_from_qdict walks
    the properties (``keys``, in insertion order) in QDict order."""
    from cmdxlate.resolver.qdict_order import qdict_iteration_order  # resolver imports model

    for key in qdict_iteration_order(keys):
        if errors.get(key) is not None:
            return errors[key]
    return None


__all__ = ["POLICIES", "Binding", "complete_error", "first_in_qdict_order",
           "read_json_members", "read_text_member", "set_error"]
