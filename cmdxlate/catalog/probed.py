"""A catalog from a database ``cmdxlate probe`` wrote: one binary's machine types and CPU models.

The database knows which machine types and CPU models the binary has; the
rules around them (how -smp is filled, which messages QEMU prints) come from
the modelled release it names, or, for a release cmdxlate does not model,
from the nearest modelled one, which the release records as ``borrowed_from``.
"""

from __future__ import annotations

from cmdxlate.catalog.boards import load_family
from cmdxlate.catalog.cpus import load_cpu_table
from cmdxlate.catalog.releases import Release, ReleaseTable
from cmdxlate.catalog.version import Version

TYPE_CHECKING = False  # typing costs start-up time; mypy reads the block below
if TYPE_CHECKING:
    from typing import Any

def probed_catalog(data: dict[str, Any], builtin: Any, path: str) -> Any:
    from cmdxlate.catalog import Catalog

    version = Version.parse(str(data["qemu_version"]))
    modelled = builtin.releases.get(version.release)
    if modelled is not None:
        release = Release(modelled.version, str(version), "probed",
                          (f"probed:{version} ({path})",), modelled.behaviours, modelled.facts)
    else:
        near = builtin.releases.nearest(version)
        release = Release(version.release, str(version), "probed",
                          (f"probed:{version} ({path})",), near.behaviours, near.facts,
                          borrowed_from=near.version)
    families = tuple(load_family(f, f"{path}: family {i}")
                     for i, f in enumerate(data["families"]))
    tables = {name: load_cpu_table(t, f"{path}: cpu table {name}")
              for name, t in data.get("cpu_tables", {}).items()}
    return Catalog(ReleaseTable((release,), builtin.releases.behaviours), families, tables,
                   origin=path)
