"""Pull the exercise functions, and only what they need, out of a notebook.

The grader never runs a student's notebook top to bottom (that would train
models and take minutes). It reads the code cells, finds each exercise's
``def`` by name — the last definition wins, as when the notebook is run; the
nbgrader ``grade_id`` only names the cell a syntax error sits in — and keeps the imports,
helper functions, classes and literal constants those functions use,
transitively. Everything else (training, plotting, self-check calls) is dropped.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from autograder import pyparse

MAGIC = re.compile(r"^\s*[%!?]")
BANNED_MODULES = ("autograder",)
MAX_NOTEBOOK_BYTES = 64 * 1024 ** 2  # larger files are refused unread (outputs of big plots rarely exceed a few MB)  # a submission may not import the grader or its test models


# An exercise is a function or a class (the class's methods are the student's part; checks reach
# them through ``autograder.checks.THEN``).
EXERCISE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookUnreadable(Exception):
    """The file is not a notebook we can read (not JSON, no cells, empty...)."""


@dataclasses.dataclass
class Cell:
    index: int
    grade_id: str
    source: str


@dataclasses.dataclass
class Extraction:
    source: str                       # Python code defining the exercise functions
    found: Dict[str, str]             # exercise -> where it was found, e.g. "cell 7 (grade_id standardize)"
    problems: Dict[str, str]          # exercise -> why it cannot be graded
    tampering: List[str] = dataclasses.field(default_factory=list)  # see autograder.tamper (reported, not run)


def read_cells(path: Path) -> List[Cell]:
    try:
        if Path(path).stat().st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookUnreadable(f"{Path(path).name} is larger than {MAX_NOTEBOOK_BYTES // 1024 ** 2} MB: clear "
                                     f"the outputs (Edit > Clear Outputs of All Cells), save and submit again")
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise NotebookUnreadable(f"cannot read {Path(path).name}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise NotebookUnreadable(f"{Path(path).name} is empty")
    try:
        nb = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise NotebookUnreadable(f"{Path(path).name} is not a valid notebook (JSON error at line {exc.lineno}: "
                                 f"{exc.msg}); re-download your notebook from Jupyter and submit it again") from None
    except (RecursionError, ValueError):
        raise NotebookUnreadable(f"{Path(path).name} is not a valid notebook (its JSON is nested too deeply or "
                                 f"holds invalid numbers)") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookUnreadable(f"{Path(path).name} has no list of cells: it is not a Jupyter notebook")
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if not isinstance(src, str):
            continue
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        grade_id = nbg.get("grade_id") if isinstance(nbg.get("grade_id"), str) else ""
        cells.append(Cell(i, grade_id, src))
    return cells


def non_code_definitions(path: Path, exercises: List[str]) -> Dict[str, str]:
    """Exercises whose ``def`` sits in a markdown or raw cell (a retyped cell): name -> where."""
    try:
        nb = json.loads(Path(path).read_bytes().decode("utf-8", errors="replace"))
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
    except (OSError, ValueError, RecursionError):
        return {}
    out: Dict[str, str] = {}
    for i, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict) or cell.get("cell_type") == "code":
            continue
        src = cell.get("source", "")
        src = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else src
        if not isinstance(src, str):
            continue
        for ex in exercises:
            if ex not in out and re.search(rf"^\s*(def|class)\s+{re.escape(ex)}\b", src, re.M):
                out[ex] = f"a {cell.get('cell_type', 'non-code')} cell (cell {i + 1})"
    return out


def strip_magics(source: str) -> str:
    """Blank out IPython magics and shell escapes (keeping line numbers); drop cell magics entirely."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if MAGIC.match(line) else line for line in source.splitlines())


def _defined_names(node: ast.stmt) -> List[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _is_literal_assignment(node: ast.stmt) -> bool:
    value = getattr(node, "value", None)
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or value is None:
        return False
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _used_names(node: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _import_aliases(node: ast.stmt) -> List[Tuple[str, ast.alias]]:
    """(bound name, alias) pairs of an import statement."""
    out = []
    for alias in node.names:
        if alias.name == "*":
            continue
        bound = alias.asname or alias.name.split(".")[0]
        out.append((bound, alias))
    return out


def _imports_banned(node: ast.AST) -> Optional[str]:
    for n in ast.walk(node):
        mods = []
        if isinstance(n, ast.Import):
            mods = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module:
            mods = [n.module]
        elif isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute)):
            name = n.func.id if isinstance(n.func, ast.Name) else n.func.attr
            if name in ("__import__", "import_module") and n.args and isinstance(n.args[0], ast.Constant):
                mods = [str(n.args[0].value)]
        for m in mods:
            if m.split(".")[0] in BANNED_MODULES:
                return m
    return None


def extract(path: Path, exercises: List[str]) -> Extraction:
    """Build the code that defines ``exercises`` as found in the notebook at ``path``.

    Raises :class:`NotebookUnreadable` when the file is not a usable notebook.
    """
    cells = read_cells(path)
    definitions: Dict[str, Tuple[int, ast.stmt, Cell]] = {}   # name -> (order, node, cell); last wins
    imports: List[Tuple[int, ast.stmt]] = []
    syntax_errors: Dict[str, str] = {}                          # grade_id -> message
    broken_sources: List[Tuple[str, str]] = []                  # (cell source, message) of cells that do not parse
    order = 0
    for cell in cells:
        try:
            tree = pyparse.parse(strip_magics(cell.source))
        except (SyntaxError, ValueError) as exc:
            where = f"line {getattr(exc, 'lineno', '?')}"
            message = f"{exc.__class__.__name__} in cell {cell.index + 1}, {where}: {getattr(exc, 'msg', exc)}"
            syntax_errors[cell.grade_id or f"#{cell.index}"] = message
            broken_sources.append((cell.source, message))
            continue
        except RecursionError:
            syntax_errors[cell.grade_id or f"#{cell.index}"] = f"cell {cell.index + 1} is nested too deeply to read"
            continue
        for node in tree.body:
            order += 1
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append((order, node))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or _is_literal_assignment(node):
                for name in _defined_names(node):
                    definitions[name] = (order, node, cell)

    found: Dict[str, str] = {}
    problems: Dict[str, str] = {}
    chosen: Dict[str, Tuple[int, ast.stmt]] = {}
    missing = [ex for ex in exercises if not (ex in definitions and isinstance(definitions[ex][1], EXERCISE_NODES))]
    misplaced = non_code_definitions(path, missing) if missing else {}
    for ex in exercises:
        if ex in definitions and isinstance(definitions[ex][1], EXERCISE_NODES):
            o, node, cell = definitions[ex]
            chosen[ex] = (o, node)
            found[ex] = f"cell {cell.index + 1}"
        elif ex in syntax_errors:
            problems[ex] = f"your exercise cell has a syntax error: {syntax_errors[ex]}"
        elif any(re.search(rf"(def|class)\s+{re.escape(ex)}\b", src) for src, _ in broken_sources):
            message = next(m for src, m in broken_sources if re.search(rf"(def|class)\s+{re.escape(ex)}\b", src))
            problems[ex] = f"the cell that defines `{ex}` has a syntax error: {message}"
        elif ex in misplaced:
            problems[ex] = (f"`{ex}` is defined in {misplaced[ex]}, not in a code cell: change that cell's type "
                            f"back to Code, run it, and submit again")
        else:
            extra = ""
            if syntax_errors:
                extra = " (a cell with a syntax error may hide it: " + "; ".join(list(syntax_errors.values())[:2]) + ")"
            problems[ex] = f"no function called `{ex}` was found in the notebook{extra}"

    # Transitive closure over helper functions, classes and constants.
    needed: Dict[str, Tuple[int, ast.stmt]] = {}
    stack = list(chosen.items())
    while stack:
        name, (o, node) = stack.pop()
        if name in needed:
            continue
        needed[name] = (o, node)
        for used in _used_names(node):
            if used in definitions and used not in needed and used not in chosen:
                stack.append((used, definitions[used][:2]))
    used_anywhere: Set[str] = set()
    for _, node in needed.values():
        used_anywhere |= _used_names(node)

    for ex, (_, node) in chosen.items():
        banned = _imports_banned(node)
        if banned:
            problems[ex] = f"`{ex}` imports `{banned}`: submissions may not use the grader's own modules"
    lines: List[str] = []
    kept_imports = []
    for o, node in imports:
        if _imports_banned(node):
            continue
        aliases = [a for bound, a in _import_aliases(node) if bound in used_anywhere]
        if aliases:
            new = ast.Import(names=aliases) if isinstance(node, ast.Import) else \
                ast.ImportFrom(module=node.module, names=aliases, level=node.level)
            kept_imports.append(ast.unparse(new))
    lines.extend(dict.fromkeys(kept_imports))  # de-duplicated, first-seen order
    seen_nodes = set()
    for o, node in sorted(needed.values(), key=lambda t: t[0]):
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        lines.append(ast.unparse(node))
    from autograder.tamper import scan
    tampering = scan([(f"cell {c.index + 1}", strip_magics(c.source)) for c in cells])
    return Extraction("\n\n".join(lines) + "\n", found, {k: v for k, v in problems.items()}, tampering)
