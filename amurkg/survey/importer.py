"""``amurkg import``: check a package completely, then add it to a store in one step.

The rows are checked and mapped in one pass into an N-Triples file next to the store; only when no problem
was found is that file bulk-loaded, into a fresh graph that the registry then names (see
``amurkg.store``). A package with problems changes nothing; one imported again replaces its earlier copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amurkg.errors import AmurkgError
from amurkg.store import MARKER, ImportRecord, Store, now
from amurkg.survey.camtrapdp import PackageError, open_package
from amurkg.survey.rdf import ImportStats, Mapper, TaxonIndex, taxon_ids
from amurkg.survey.tables import Problems

_TAXON_NAMES = """
SELECT ?taxon ?name ?sci WHERE {
  ?taxon dwc:scientificName ?sci .
  { ?taxon dwc:scientificName ?name } UNION { ?taxon skos:altLabel ?name FILTER(LANG(?name) = "") }
}"""


def taxon_index(ox_store: Any, **dataset: Any) -> TaxonIndex:
    """Scientific names and synonyms (language-less ``skos:altLabel``) of the curated taxa."""
    from amurkg.namespaces import PREFIXES

    index = TaxonIndex()
    for solution in ox_store.query(_TAXON_NAMES, prefixes=PREFIXES, **dataset):
        index.names.setdefault(TaxonIndex.normal(solution["name"].value), solution["taxon"].value)
        index.accepted.setdefault(solution["taxon"].value, solution["sci"].value)
    return index


@dataclass
class ImportReport:
    """What an import did."""

    package: str
    identifier: str
    source: str
    replaced: bool
    stats: ImportStats = field(default_factory=ImportStats)

    def summary(self) -> list[str]:
        rows = ", ".join(f"{n:,} {table}" for table, n in self.stats.rows.items())
        lines = [
            f"{'re-imported' if self.replaced else 'imported'} {self.identifier} from {self.source}: {rows}; "
            f"{self.stats.triples:,} triples"
        ]
        if self.stats.matched:
            lines.append(
                "names matched to curated taxa: "
                + ", ".join(f"{name} ({n:,})" for name, n in sorted(self.stats.matched.items()))
            )
        if self.stats.unknown:
            lines.append(
                f"{len(self.stats.unknown)} name{'s' if len(self.stats.unknown) != 1 else ''} not in the curated "
                "graph, kept as taxa of their own: "
                + ", ".join(f"{name} ({n:,})" for name, n in sorted(self.stats.unknown.items()))
            )
        return lines + [f"warning: {w}" for w in self.stats.warnings]


def _package_lines(path: Path, taxa: TaxonIndex, limit: int, report: Callable[[Mapper, Any], None]) -> Iterator[str]:
    """The N-Triples of a Camtrap DP package; raises ``PackageError`` (after reading it all) on problems."""
    with open_package(path) as package:
        files = {name: Path(package.display[name]).name for name in package.tables}
        mapper = Mapper(package.identifier, files, taxa, taxon_ids(package.descriptor.get("taxonomic")))
        problems = Problems(limit)
        for table, number, row in package.rows(problems):
            if not problems:
                yield from mapper.row(table, number, row)
        if problems:
            raise PackageError(problems.lines())
        mapper.stats.warnings.extend(package.warnings)
        yield from mapper.package_lines(package.descriptor)
        report(mapper, package)


def import_package(
    store_path: Path | str, path: Path | str, *, limit: int = 50, create: bool = True, kind: str | None = None
) -> ImportReport:
    """Check the package at ``path`` (a Camtrap DP folder or zip, or a Darwin Core Archive) and add it to the
    store at ``store_path`` (created when missing), replacing an earlier import of the same package.

    Raises ``PackageError`` listing up to ``limit`` problems (each ``file:row:column``); then nothing changed.
    """
    from amurkg.survey.dwca import is_archive

    path = Path(path)
    archive = is_archive(path) if kind is None else kind == "dwca"
    store_path = Path(store_path)
    existed = store_path.exists()
    was_empty = existed and store_path.is_dir() and not any(store_path.iterdir())
    fresh = not (store_path / MARKER).is_file()
    try:
        return _import(store_path, path, archive, limit, create)
    except BaseException:
        if fresh and not existed:  # this import made the store: leave no trace of it
            shutil.rmtree(store_path, ignore_errors=True)
        elif fresh and was_empty:
            for child in store_path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def _import(store_path: Path, path: Path, archive: bool, limit: int, create: bool) -> ImportReport:
    import pyoxigraph as ox

    with Store.open(store_path, write=True, create=create) as store:
        taxa = taxon_index(store.ox, default_graph=[ox.NamedNode(_curated())])
        found: dict[str, Any] = {}

        def keep(mapper: Mapper, package: Any) -> None:
            found["mapper"], found["package"] = mapper, package

        if archive:
            from amurkg.survey.dwca import archive_lines

            lines = archive_lines(path, taxa, limit, keep)
        else:
            lines = _package_lines(path, taxa, limit, keep)
        graph = store.new_graph()
        try:
            written = _stream_into(store, graph, lines, path)
            from amurkg.survey.sensitive import protect

            protect(store, graph)  # exact locations of threatened taxa into a graph queries do not see
            mapper: Mapper = found["mapper"]
            mapper.stats.triples = written
            record = ImportRecord(
                package=mapper.package,
                identifier=found["package"].identifier,
                graph=graph,
                source=str(path.resolve()),
                kind="dwca" if archive else "camtrap-dp",
                imported=now(),
                triples=mapper.stats.triples,
                observations=mapper.stats.rows.get("observations", 0) + mapper.stats.rows.get("occurrences", 0),
            )
            replaced = store.register(record)
            if replaced:
                store.drop(replaced)
            store.ox.flush()
        except BaseException:
            store.drop(graph)  # nothing names it yet: queries never saw it
            raise
        return ImportReport(mapper.package, record.identifier, str(path), replaced is not None, mapper.stats)


def _stream_into(store: Store, graph: str, lines: Iterator[str], path: Path) -> int:
    """Bulk-load ``lines`` into ``graph`` while they are produced: a thread checks and maps the rows into a
    pipe that pyoxigraph's loader (which releases the GIL) reads, so the two cores work at once and nothing
    is staged on disk. A problem found half way stops the producer; the caller then drops the graph, which no
    query could see. Returns the number of triples written."""
    import pyoxigraph as ox

    read_fd, write_fd = os.pipe()
    outcome: dict[str, Any] = {"written": 0}

    def produce() -> None:
        try:
            with os.fdopen(write_fd, "w", encoding="utf-8", buffering=1 << 20) as out:
                written = 0
                for line in lines:
                    out.write(line)
                    out.write("\n")
                    written += 1
                outcome["written"] = written
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc

    producer = threading.Thread(target=produce, name="amurkg-import", daemon=True)
    producer.start()
    refused: str | None = None
    try:
        store.ox.bulk_load(path=f"/dev/fd/{read_fd}", format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
    except (OSError, SyntaxError, ValueError) as exc:  # the disk is full, or the store cannot be written
        # the message only: the exception's traceback could keep the database open after the lock is released
        refused = str(exc)
    finally:
        with contextlib.suppress(OSError):
            os.close(read_fd)  # a producer still writing gets a broken pipe and stops
        producer.join()
    error = outcome.get("error")
    if error is not None and not isinstance(error, BrokenPipeError):
        raise error  # a problem of the package (PackageError) or of reading it, found while loading
    if refused is not None or error is not None:
        raise AmurkgError(f"{path}: the store refused the import ({refused or 'it stopped reading'}); nothing changed")
    return int(outcome["written"])


def _curated() -> str:
    from amurkg.store import CURATED_GRAPH

    return CURATED_GRAPH


def remove_package(store_path: Path | str, identifier: str) -> str:
    """Remove an imported package (by its identifier or IRI) from a store; the IRI it had."""
    from amurkg.errors import did_you_mean

    with Store.open(store_path, write=True) as store:
        records = store.imports()
        for record in records:
            if identifier in (record.identifier, record.package):
                store.unregister(record.package)
                return record.package
        hint = did_you_mean(identifier, [r.identifier for r in records])
        raise AmurkgError(f"{store_path}: holds no package {identifier!r}: {hint}see `amurkg import --list`")


def list_imports(store_path: Path | str) -> list[ImportRecord]:
    with Store.open(store_path) as store:
        return store.imports()


__all__ = ["ImportReport", "PackageError", "import_package", "list_imports", "remove_package"]
