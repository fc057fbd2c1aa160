"""Every code block of README.md and docs/*.md runs (or is checked) as written.

The convention is in ``declip_mm.testing.doc_snippets``: config snippets are loaded on top of
the stock config they name and their model is built (towers cut to 2 blocks, no weights); other
Python blocks are executed; shell commands must name existing scripts, flags the scripts accept,
existing repository paths and loadable configs. A new block in any document is picked up on its own.
"""
import ast
import copy
import importlib.util
import os
import subprocess
import sys
from functools import lru_cache

import pytest
import torch

from declip_mm.testing.doc_snippets import (ROOT, Snippet, all_snippets, commands,
                                            declared_options, extract, find_type, flags,
                                            fragment_values, free_names, invocation, kind,
                                            repo_paths, signature_problem, tiny_towers,
                                            typed_dicts)

SNIPPETS = [s for s in all_snippets() if kind(s) is not None]


# --------------------------------------------------------------------------- contexts
def fvit_context() -> dict:
    """docs/detection.md: ``model`` (the tiny DeCLIP F-ViT of the detector tests, with a text
    encoder, random weights), ``inputs`` / ``data_samples`` (one preprocessed 64 x 64 image)."""
    from declip_mm.testing.fvit import tiny_fvit_cfg

    import declip_mm  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(tiny_fvit_cfg()).eval()
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 64, 64)], num_items=[1])
    data = model.data_preprocessor(packed, False)

    def check(ns):  # the predictions are named with the swapped-in words
        names = set(ns['results'][0].pred_instances.label_names)
        assert names and names <= {'zebra', 'red kite', 'toaster'}, names

    return dict(model=model, inputs=data['inputs'], data_samples=data['data_samples'],
                __check__=check)


CONTEXTS = {'docs/detection.md': fvit_context}
"""Per document: the names its code blocks use without defining them."""


# --------------------------------------------------------------------------- checks
def build_config_snippet(snippet: Snippet, tmp_path):
    """Load a ``_base_`` config snippet on top of its base and build its model (tiny)."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    path = tmp_path / 'snippet_config.py'
    path.write_text(snippet.text)
    cfg = Config.fromfile(str(path))
    own = fragment_keys(snippet.text)
    check_types({k: cfg[k] for k in own if k in cfg and k != 'model'})
    if 'model' not in cfg:
        return cfg, None
    model_cfg = copy.deepcopy(cfg.model)
    tiny_towers(model_cfg)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmengine')):
        return cfg, MODELS.build(model_cfg)


def fragment_keys(text: str) -> set:
    return {t.id for stmt in ast.parse(text).body if isinstance(stmt, ast.Assign)
            for t in stmt.targets if isinstance(t, ast.Name)}


def check_types(values) -> None:
    """Every outermost ``dict(type=...)`` names a registered type that accepts its keys (nested
    ones too when a registry knows them); DeCLIP towers are built (tiny, no weights)."""
    from mmengine.registry import MODELS, DefaultScope
    for node, nested in typed_dicts(values):
        found = find_type(node['type'])
        assert found or nested, f'type {node["type"]!r} is not registered in mmdet, mmseg or ' \
                                'mmengine'
        problems = [signature_problem(cls, node) for _, _, cls in found]
        assert not found or any(p is None for p in problems), problems[0]
        if str(node['type']).split('.')[-1] in ('DeCLIPViT', 'DeCLIPTextEncoder'):
            tower = dict(node)
            assert tiny_towers(tower) == 1
            with DefaultScope.overwrite_default_scope(found[0][0]):
                MODELS.build(tower)


@lru_cache(maxsize=None)
def help_text(runner: str, target: str) -> str:
    """``--help`` of a script (``python tools/x.py``) or module (``python -m m``)."""
    cmd = [sys.executable] + (['-m', target] if runner == 'python-module' else [target])
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1')
    out = subprocess.run(cmd + ['--help'], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, f'{" ".join(cmd)} --help failed:\n{out.stderr[-2000:]}'
    return out.stdout


@lru_cache(maxsize=None)
def load_repo_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(os.path.join(ROOT, path))


def check_command(tokens) -> None:
    run = invocation(tokens)
    if run.runner == 'python-script':
        assert os.path.isfile(os.path.join(ROOT, run.target)), f'{run.target} does not exist'
    elif run.runner == 'python-module' and run.target != 'pytest':
        assert importlib.util.find_spec(run.target), f'no module {run.target}'
    elif run.runner == 'shell-script':
        script = os.path.join(ROOT, run.target)
        assert os.path.isfile(script), f'{run.target} does not exist'
        assert subprocess.run(['bash', '-n', script]).returncode == 0, f'{run.target}: syntax'
    for path in repo_paths(run.args):
        assert os.path.exists(os.path.join(ROOT, path)), f'{run.command}: {path} does not exist'
        if path.startswith('configs/') and path.endswith('.py'):
            load_repo_config(path)
    wanted = flags(run.args)
    if wanted and run.runner in ('python-script', 'python-module') and run.target != 'pytest':
        path = os.path.join(ROOT, run.target) if run.runner == 'python-script' else \
            importlib.util.find_spec(run.target).origin
        unknown = [f for f in wanted if f not in declared_options(path)]
        if unknown:  # a parser declared elsewhere: ask the script itself
            text = help_text(run.runner, run.target)
            unknown = [f for f in unknown if f not in text]
        assert not unknown, f'{run.command}: {run.target} does not accept {unknown}'


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize('snippet', SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet(snippet: Snippet, tmp_path, monkeypatch):
    what = kind(snippet)
    if what == 'config':
        if '_base_' in fragment_keys(snippet.text):
            build_config_snippet(snippet, tmp_path)
        else:  # a model needs the config it goes into
            assert 'model' not in fragment_keys(snippet.text), \
                f'{snippet.id}: a config snippet that sets model must name its _base_'
            check_types(fragment_values(snippet.text))
    elif what == 'code':
        tree = ast.parse(snippet.text)
        namespace = {}
        missing = free_names(tree)
        if missing:
            context = CONTEXTS.get(snippet.doc)
            assert context, f'{snippet.id} uses {missing}; give {snippet.doc} a context'
            namespace = context()
            assert not set(missing) - set(namespace), f'context lacks {missing}'
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv('PIP_NO_INDEX', '1')  # no package downloads from a test
        monkeypatch.setenv('DECLIP_MM_HOME', str(tmp_path / 'home'))
        exec(compile(snippet.text, snippet.id, 'exec'), namespace)
        if '__check__' in namespace:
            namespace['__check__'](namespace)
    else:
        for tokens in commands(snippet.text) or []:
            check_command(tokens)


def test_readme_config_snippet_builds_on_stock_faster_rcnn(tmp_path):
    """README "Using declip_mm in a config": pasted onto the stock Faster R-CNN it names, the
    model builds with a DeCLIP backbone, the pyramid adapter and an FPN over its 4 maps."""
    from declip_mm.models.backbones.declip_vit import DeCLIPViT
    section = open(os.path.join(ROOT, 'README.md')).read().split('## Using declip_mm in a config')
    assert len(section) == 2, 'README lost its "Using declip_mm in a config" section'
    start = section[0].count('\n') + 1
    ours = [s for s in extract('README.md') if s.line > start and kind(s) == 'config']
    assert ours, 'no config snippet in the section'
    cfg, model = build_config_snippet(ours[0], tmp_path)
    assert cfg.default_scope == 'mmdet' and cfg.model.type == 'FasterRCNN'
    assert isinstance(model.backbone, DeCLIPViT)
    assert [type(m).__name__ for m in model.neck] == ['DeCLIPPyramidAdapter', 'FPN']
    assert len(model.neck[1].lateral_convs) == len(cfg.model.backbone.out_indices) == 4


def test_every_document_is_scanned_and_classified():
    """The runner sees the blocks it should: README's config and shell blocks, docs' Python."""
    kinds = {(s.doc, kind(s)) for s in SNIPPETS}
    assert ('README.md', 'config') in kinds and ('README.md', 'shell') in kinds
    assert sum(1 for s in SNIPPETS if kind(s) == 'code') >= 1
    assert not [s.id for s in all_snippets() if s.lang in ('python', 'py')
                and kind(s) is None]


def test_runner_catches_the_old_readme_snippet(tmp_path):
    """The pre-fix README block (no ``_delete_``, no neck change) fails when pasted on the stock
    config: the runner reports it instead of passing it."""
    old = ("_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n"
           "custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)\n"
           "model = dict(backbone=dict(type='DeCLIPViT', arch='EVA02-CLIP-B-16', mode='csa',\n"
           "                           out_indices=(3, 5, 7, 11), frozen=True))\n")
    with pytest.raises(TypeError, match="unexpected keyword argument 'depth'"):
        build_config_snippet(Snippet('old', 1, 'python', old), tmp_path)


def test_runner_catches_unknown_flags_and_paths():
    with pytest.raises(AssertionError, match='does not accept'):
        check_command(['python', 'tools/test.py', 'CONFIG', 'CKPT', '--no-such-flag'])
    with pytest.raises(AssertionError, match='does not exist'):
        check_command(['python', 'tools/train.py', 'configs/no_such_config.py'])
