"""The package's shape: no import cycles between its modules, one error hierarchy.

The import graph is grimp's (the library import-linter checks its contracts with); it
counts every import that runs, also those inside functions, but not those made only for
the type checker (under `if TYPE_CHECKING:`), as setup.cfg's contracts do.
"""

from __future__ import annotations

import inspect

import grimp
import pytest

import keras_lstm_opt as klo
from keras_lstm_opt import errors

PACKAGE = "keras_lstm_opt"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        PACKAGE, include_external_packages=False, exclude_type_checking_imports=True
    )


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Groups of modules that import each other (Tarjan's algorithm, iterative)."""
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(succ[node]):
                work.append((node, i + 1))
                nxt = succ[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # back in the caller: pass the low link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each module that is on a cycle, as a chain of names
    (first == last); modules already shown on an earlier chain get none of their own."""
    chains: list[tuple[str, ...]] = []
    for group in _strongly_connected(graph):
        self_loop = [m for m in group if m in graph.find_modules_directly_imported_by(m)]
        if len(group) == 1 and not self_loop:
            continue
        shown: set[str] = set()
        for module in sorted(group):
            if module in shown:
                continue
            best: tuple[str, ...] | None = None
            for nxt in sorted(graph.find_modules_directly_imported_by(module) & group):
                back = (nxt,) if nxt == module else graph.find_shortest_chain(nxt, module)
                if back and (best is None or len(back) + 1 < len(best)):
                    best = (module, *back)
            assert best is not None
            chains.append(best)
            shown.update(best)
    return chains


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    g = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        g.add_module(name)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.c")
    g.add_import(importer="p.c", imported="p.a")
    g.add_import(importer="p.c", imported="p.d")
    assert _cycles(g) == [("p.a", "p.b", "p.c", "p.a")]


def test_no_import_cycles_between_modules(graph: grimp.ImportGraph) -> None:
    """Imports at the top and inside functions count alike."""
    chains = _cycles(graph)
    assert not chains, "import cycles (each module imports the next):\n" + "\n".join(
        " -> ".join(chain) for chain in chains
    )


def test_the_config_package_imports_one_way(graph: grimp.ImportGraph) -> None:
    """schema <- parse, checks <- space <- config/__init__ (never back up)."""
    below = {
        "schema": set(),
        "parse": set(),
        "checks": {"schema"},
        "space": {"schema", "parse", "checks"},
    }
    for module, allowed in below.items():
        imported = {
            m.rsplit(".", 1)[1]
            for m in graph.find_modules_directly_imported_by(f"{PACKAGE}.config.{module}")
            if m.startswith(f"{PACKAGE}.config")
        }
        assert imported <= allowed, (module, imported)


def test_models_never_import_data(graph: grimp.ImportGraph) -> None:
    chains = graph.find_shortest_chains(f"{PACKAGE}.models", f"{PACKAGE}.data", as_packages=True)
    assert not chains, sorted(chains)


def _error_classes() -> dict[str, type[BaseException]]:
    return {
        name: obj
        for name, obj in vars(errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
    }


def test_every_error_derives_from_klo_error_and_lives_in_klo_errors() -> None:
    classes = _error_classes()
    assert {"KloError", "ConfigError", "UsageError", "DataError"} <= set(classes)
    for name, cls in classes.items():
        assert issubclass(cls, errors.KloError), name
        assert klo.errors.__dict__[name] is cls and name in errors.__all__, name
        assert name not in klo.__all__, f"klo.{name}: the top level exports the API only"
        with pytest.warns(DeprecationWarning, match=f"keras_lstm_opt.errors.{name}"):
            assert getattr(klo, name) is cls  # the old name, for one release
    assert klo.errors.Problem is errors.Problem


def test_the_top_level_is_the_api_and_its_names_resolve() -> None:
    for name in klo.__all__:
        assert getattr(klo, name) is not None, name
    assert {"Trainer", "fit", "LoopOptions", "RunArtifacts", "FitResult", "errors"} <= set(
        klo.__all__
    )
