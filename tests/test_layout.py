"""The layout of tui/: four packages whose imports flow one way, files that read in one sitting.

``core`` (no Textual, no litellm) <- ``live`` (the live check) <- ``cli`` and ``ui`` (Textual).
Read from the source with :mod:`ast`, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tui"
PACKAGES = ("core", "live", "cli", "ui")
MAX_LINES = 520
# The one import of the UI from outside it: the CLI opens the app (no subcommand, or `setup`),
# importing it inside that function so that every other command starts without Textual.
UI_OPENERS = {("tui.cli.main", "_open_app")}


@dataclass(frozen=True)
class Import:
    module: str  # the module that imports
    name: str  # what it imports, absolute (tui.core.fields, textual.app, litellm)
    function: str | None  # the enclosing function; None at module level (class bodies too)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path = ROOT) -> list[Import]:
    """Every import statement of every module under ``root``, with what it names."""
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]

        def visit(node: ast.AST, function: str | None, module: str = module,
                  package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    visit(child, function or child.name)
                    continue
                if isinstance(child, ast.Import):
                    found.extend(Import(module, a.name, function) for a in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:  # relative: from the package, one level up per extra dot
                        up = package.split(".")[:len(package.split(".")) - child.level + 1]
                        base = ".".join([*up, base] if base else up)
                    found.extend(Import(module, f"{base}.{a.name}", function)
                                 for a in child.names)
                visit(child, function)

        visit(ast.parse(path.read_text(), str(path)), None)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def package_of(name: str) -> str | None:
    """``core`` for tui.core.fields (or tui.core itself); None outside the four packages."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tui" and parts[1] in PACKAGES else None


def test_every_module_lives_in_one_of_the_four_packages() -> None:
    loose = [str(p.relative_to(ROOT)) for p in ROOT.glob("*.py") if p.name != "__init__.py"]
    assert loose == [], "modules belong in tui/core, tui/live, tui/cli or tui/ui"
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), f"tui/{package} is not a package"


def test_core_imports_nothing_from_live_cli_or_ui() -> None:
    wrong = [i for i in imports() if package_of(i.module) == "core"
             and package_of(i.name) in ("live", "cli", "ui")]
    assert wrong == []


def test_live_imports_only_core_and_itself() -> None:
    wrong = [i for i in imports() if package_of(i.module) == "live"
             and top(i.name) == "tui" and package_of(i.name) not in ("core", "live")]
    assert wrong == []


def test_only_ui_imports_textual() -> None:
    wrong = [i for i in imports() if package_of(i.module) != "ui"
             and (top(i.name) == "textual"
                  or (package_of(i.name) == "ui" and (i.module, i.function) not in UI_OPENERS))]
    assert wrong == []
    opened = {(i.module, i.function) for i in imports() if package_of(i.name) == "ui"
              and package_of(i.module) != "ui"}
    assert opened == UI_OPENERS, "the CLI opens the app inside the function that runs it"


def test_no_module_imports_litellm_at_import_time() -> None:
    """litellm takes seconds to import: only the live check loads it, and only when it runs."""
    at_import = [i for i in imports() if top(i.name) == "litellm" and i.function is None]
    assert at_import == []
    lazily = {i.module for i in imports() if top(i.name) == "litellm"}
    assert lazily and all(package_of(m) == "live" for m in lazily)


def test_every_file_reads_in_one_sitting() -> None:
    long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*") if p.is_file()
            and p.suffix in (".py", ".tcss")
            and (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_product_file_is_named_like_a_test() -> None:
    named = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
             if p.name.startswith("test_") or p.stem.endswith("_test")]
    assert named == []
