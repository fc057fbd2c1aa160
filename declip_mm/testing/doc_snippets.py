"""Find, classify and check the code blocks of README.md and docs/*.md.

The convention (the documents need no annotations):

* ```` ```python ```` blocks are Python. A block that only assigns values built from literals
  and ``dict`` / ``list`` / ... calls (plus imports) is a **config snippet**:
    - with ``_base_`` it is written to a file and loaded with ``Config.fromfile`` on top of the
      stock config it names; its ``model`` is then built through the registry of the config's
      scope, on CPU, without weights, every named DeCLIP tower cut to 2 blocks;
    - without ``_base_`` it is a fragment (it may not set ``model``: a model snippet is
      pasted onto a config and must name it): every ``dict(type=...)`` in it must name a registered
      type whose constructor takes the given keys, and its ``DeCLIPViT`` / text encoders are
      built (2 blocks, no weights).
  Any other Python block is **code** and is executed (in a temporary folder); names it uses
  without defining them come from the document's context (``CONTEXTS`` in
  tests/docs/test_snippets.py).
* ```` ```bash ```` blocks, and unlabelled blocks whose lines start with a command, are
  **shell**: each command's script or module must exist, every ``--flag`` must be one the script
  declares (an option string in it or in the tools/ modules it imports; else its ``--help``
  is run), the repository paths it names (``configs/``, ``tools/``,
  ``declip_mm/``, ``tests/``) must exist, named configs must load, and ``.sh`` scripts must pass
  ``bash -n``. Placeholders (``CONFIG``, ``[--work-dir DIR]``) and paths under ``data/``,
  ``work_dirs/``, ``checkpoints/``, ``outputs/`` (the user's or written by earlier commands)
  are not checked.
* Other blocks (trees, formulas, mermaid) are text.
"""
import ast
import builtins
import glob
import inspect
import os
import re
import shlex
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The source checkout (the documents are read from it, not from an installed copy)."""
DOCS = ['README.md'] + sorted(os.path.relpath(p, ROOT)
                              for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))

CONFIG_CALLS = {'dict', 'list', 'tuple', 'set', 'range', 'zip', 'len', 'int', 'float', 'str',
                'bool', 'sum', 'min', 'max', 'sorted', 'abs', 'round'}
"""Calls a config snippet may make (mmengine's python configs)."""
COMMANDS = {'python', 'python3', 'bash', 'sh', 'torchrun', 'srun', 'mim', 'pip'}
USER_PATHS = ('data/', 'work_dirs/', 'checkpoints/', 'outputs/')
REPO_PATHS = ('configs/', 'tools/', 'declip_mm/', 'tests/')
PYTHON_LANGS = {'python', 'py'}
SHELL_LANGS = {'bash', 'sh', 'shell', 'console'}


@dataclass
class Snippet:
    """One fenced block: ``doc`` (path relative to the repository), the line of its opening
    fence, the fence's language tag and the text between the fences."""
    doc: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f'{self.doc}:{self.line}'


def extract(doc: str) -> List[Snippet]:
    """Every fenced block of ``doc`` (relative to the repository root)."""
    out, open_at, lang, body = [], None, '', []
    with open(os.path.join(ROOT, doc), encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            fence = re.match(r'^\s*```\s*([\w+-]*)\s*$', line)
            if fence and open_at is None:
                open_at, lang, body = number, fence.group(1).lower(), []
            elif fence and not fence.group(1):
                out.append(Snippet(doc, open_at, lang, ''.join(body)))
                open_at = None
            elif open_at is not None:
                body.append(line)
    return out


def all_snippets() -> List[Snippet]:
    return [s for doc in DOCS for s in extract(doc)]


# --------------------------------------------------------------------------- classification
def kind(snippet: Snippet) -> Optional[str]:
    """``'config'``, ``'code'``, ``'shell'`` or ``None`` (text)."""
    if snippet.lang in PYTHON_LANGS:
        return 'config' if is_config(ast.parse(snippet.text)) else 'code'
    if snippet.lang in SHELL_LANGS or (not snippet.lang and commands(snippet.text)):
        return 'shell'
    return None


def is_config(tree: ast.Module) -> bool:
    """Only assignments / imports / bare ``dict(...)`` values, calling only ``CONFIG_CALLS``."""
    for stmt in tree.body:
        if not isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.Expr)):
            return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name)
                                               and node.func.id in CONFIG_CALLS):
            return False
    return True


def free_names(tree: ast.Module) -> List[str]:
    """Names a code snippet reads without assigning or importing them (nor builtins)."""
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else used).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split('.')[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(used - bound - set(dir(builtins)))


# --------------------------------------------------------------------------- shell
def commands(text: str) -> List[List[str]]:
    """The commands of a shell block as token lists (continuations joined, comments dropped,
    leading ``VAR=value`` assignments removed); empty when a line is not a command."""
    out = []
    for line in text.replace('\\\n', ' ').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            return []
        while tokens and re.match(r'^[A-Z_][A-Z0-9_]*=', tokens[0]):
            tokens = tokens[1:]
        if not tokens or tokens[0] not in COMMANDS:
            return []
        out.append(tokens)
    return out


@dataclass
class Invocation:
    """What a command runs: a python ``script`` or ``module`` or a shell ``script``, its
    arguments, and the command it came from."""
    runner: str  # 'python-script' | 'python-module' | 'shell-script' | 'other'
    target: str
    args: List[str]
    command: str


def invocation(tokens: List[str]) -> Invocation:
    """Find the script a command runs (through ``torchrun`` / ``srun`` wrappers)."""
    text = ' '.join(tokens)
    for i, tok in enumerate(tokens):
        if tok in ('python', 'python3'):
            rest = [t for t in tokens[i + 1:]]
            while rest and rest[0] in ('-u', '-B', '-O'):
                rest = rest[1:]
            if rest and rest[0] == '-m':
                return Invocation('python-module', rest[1], rest[2:], text)
            return Invocation('python-script', rest[0], rest[1:], text)
        if tok in ('bash', 'sh'):
            return Invocation('shell-script', tokens[i + 1], tokens[i + 2:], text)
        if tok.endswith('.py') and tokens[0] == 'torchrun':
            return Invocation('python-script', tok, tokens[i + 1:], text)
    return Invocation('other', tokens[0], tokens[1:], text)


def flags(args: List[str]) -> List[str]:
    """``--flag`` names in ``args``, including those inside ``[--opt VALUE]`` placeholders."""
    return sorted({m.group(1) for a in args for m in re.finditer(r'(--[A-Za-z][\w-]*)', a)})


def declared_options(path: str) -> set:
    """Option strings (``'--x'``) written in ``path`` and in the modules of its folder (or of
    tools/) that it imports: where argparse parsers are declared."""
    texts = [open(path, encoding='utf-8').read()]
    imported = re.findall(r'^\s*(?:from|import)\s+([A-Za-z_]\w*)', texts[0], flags=re.M)
    for name in imported:
        for folder in (os.path.dirname(path), os.path.join(ROOT, 'tools')):
            module = os.path.join(folder, f'{name}.py')
            if os.path.isfile(module) and module != path:
                texts.append(open(module, encoding='utf-8').read())
    return {m for text in texts for m in re.findall(r'[\'"](--[A-Za-z][\w-]*)[\'"]', text)}


def repo_paths(args: List[str]) -> List[str]:
    """Arguments that name files of the repository (configs/, tools/, declip_mm/, tests/)."""
    return [a for a in args if a.startswith(REPO_PATHS) and not re.search(r'[\[\]{}*]', a)]


# --------------------------------------------------------------------------- configs
def typed_dicts(value: Any, inside: bool = False) -> Iterator[Tuple[dict, bool]]:
    """``(dict, nested)`` for every dict with a ``type`` key inside ``value``, outermost first;
    ``nested``: it lies inside another typed dict (whose class may resolve it by other means
    than a registry, e.g. ``roi_layer=dict(type='RoIAlign')`` or ``nms=dict(type='nms')``)."""
    if isinstance(value, dict):
        if 'type' in value:
            yield value, inside
        for v in value.values():
            yield from typed_dicts(v, inside or 'type' in value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from typed_dicts(v, inside)


def fragment_values(text: str) -> Dict[str, Any]:
    """A config fragment without ``_base_``: its assigned names and bare ``dict(...)`` values
    (keyed ``'<expr N>'``), evaluated like mmengine evaluates a config."""
    tree = ast.parse(text)
    namespace: Dict[str, Any] = {}
    values: Dict[str, Any] = {}
    for number, stmt in enumerate(tree.body):
        module = ast.Module(body=[stmt], type_ignores=[])
        if isinstance(stmt, ast.Expr):
            values[f'<expr {number}>'] = eval(compile(ast.Expression(stmt.value), '<snippet>',
                                                      'eval'), namespace)
        else:
            exec(compile(module, '<snippet>', 'exec'), namespace)
    values.update({k: v for k, v in namespace.items() if not k.startswith('__')})
    return values


def find_type(name: str) -> List[Tuple[str, str, type]]:
    """``[(scope, registry name, class)]`` for every scope whose registries know ``name``."""
    import declip_mm  # noqa: F401  (registers)
    import mmdet.registry as det
    import mmseg.registry as seg
    from mmengine import registry as root
    found = []
    for scope, module in (('mmdet', det), ('mmseg', seg), ('mmengine', root)):
        for reg_name in ('MODELS', 'TRANSFORMS', 'DATASETS', 'HOOKS', 'METRICS', 'VISUALIZERS',
                         'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'LOOPS',
                         'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'PARAM_SCHEDULERS', 'OPTIMIZERS'):
            registry = getattr(module, reg_name, None)
            if registry is None:
                continue
            try:
                cls = registry.get(name)
            except (KeyError, RuntimeError):
                cls = None
            if cls is not None:
                found.append((scope, reg_name, cls))
    return found


def signature_problem(cls: type, cfg: dict) -> Optional[str]:
    """Why ``cls(**cfg without type)`` would be refused for its argument names, or None."""
    kwargs = {k: v for k, v in cfg.items() if k != 'type' and not k.startswith('_')}
    try:
        inspect.signature(cls).bind_partial(**kwargs)
    except TypeError as err:
        return f'{cfg["type"]}: {err}'
    except ValueError:  # no signature (builtins): nothing to check
        return None
    return None


TOWER_TYPES = ('DeCLIPViT', 'DeCLIPTextEncoder')


def shallow_arch(arch: Any) -> Any:
    """A named architecture cut to 2 image blocks and a 1-block, 64-wide text tower; widths,
    patch size and embedding size stay, so the rest of the config still fits. Dicts (already
    custom, e.g. the tiny OV-Shapes CLIP) are kept."""
    from declip_mm.models.backbones.archs import resolve_arch
    if not isinstance(arch, str):
        return arch
    cfg = resolve_arch(arch)
    cfg['vision_cfg'] = dict(cfg['vision_cfg'], layers=2)
    cfg['text_cfg'] = dict(cfg.get('text_cfg', {}), width=64, heads=2, layers=1)
    return cfg


def tiny_towers(cfg: Any) -> int:
    """Replace, in place, the named ``arch`` of every DeCLIP tower by :func:`shallow_arch`;
    return how many towers were seen."""
    count = 0
    for node, _ in typed_dicts(cfg):
        name = str(node['type']).split('.')[-1]
        if name in TOWER_TYPES and 'arch' in node:
            node['arch'] = shallow_arch(node['arch'])
            if isinstance(node['arch'], dict) and \
                    isinstance(node.get('out_indices'), (list, tuple)):  # DeCLIPViT refuses
                depth = node['arch']['vision_cfg']['layers']  # indices beyond its depth
                node['out_indices'] = [i % depth for i in node['out_indices']]
            count += 1
    return count
